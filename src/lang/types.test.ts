import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitKey, storageSize, type Ty } from './types.js';

const str = (size: number): Ty => ({ k: 'str', size });
const u64: Ty = { k: 'int', size: 8, signed: false };

test('fitKey leaves keys within the limit alone', () => {
  const t: Ty = { k: 'tuple', elems: [str(16), u64] };
  assert.deepEqual(fitKey(t, 512), t);
});

test('fitKey shrinks the longest strings until the key fits 512 bytes', () => {
  assert.deepEqual(fitKey(str(1024), 512), str(512));
  const k = fitKey({ k: 'tuple', elems: [str(1024), u64, str(1024), str(16)] }, 512)!;
  assert.equal(storageSize(k), 512);
  const [a, n, b, c] = (k as { elems: Ty[] }).elems as [{ size: number }, Ty, { size: number }, { size: number }];
  // the two long strings share what is left after the integer and the short string, evenly to 8 bytes
  assert.deepEqual(n, u64);
  assert.equal(c.size, 16);
  assert.equal(a.size + b.size, 512 - 8 - 16);
  assert.ok(Math.abs(a.size - b.size) <= 8);
});

test('fitKey gives up when integers alone overflow', () => {
  assert.equal(fitKey({ k: 'tuple', elems: Array.from({ length: 70 }, () => u64) }, 512), undefined);
});
