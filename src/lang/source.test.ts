import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Source } from './source.js';

test('position maps offsets to 1-based line and column', () => {
  const s = new Source('f.bt', 'ab\ncd\n\nx');
  assert.deepEqual(s.lineStarts, [0, 3, 6, 7]);
  assert.deepEqual(s.position(0), { line: 1, column: 1 });
  assert.deepEqual(s.position(2), { line: 1, column: 3 }); // the newline itself
  assert.deepEqual(s.position(3), { line: 2, column: 1 });
  assert.deepEqual(s.position(6), { line: 3, column: 1 });
  assert.deepEqual(s.position(8), { line: 4, column: 2 }); // end of text
  assert.deepEqual(s.position(99), { line: 4, column: 2 });
});

test('lineText returns a line without its break', () => {
  const s = new Source('f.bt', 'one\r\ntwo\nthree');
  assert.equal(s.lineText(1), 'one');
  assert.equal(s.lineText(2), 'two');
  assert.equal(s.lineText(3), 'three');
  assert.equal(s.lineText(4), '');
});
