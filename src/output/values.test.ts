import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buffer, enumValue, hexFormatBuffer, numericValue, pointer, renderParts, renderValue, stack, tuple } from './values.js';

test('scalars render as bpftrace prints them', () => {
  assert.equal(renderValue(-5n), '-5');
  assert.equal(renderValue(18446744073709551615n), '18446744073709551615');
  assert.equal(renderValue(true), 'true');
  assert.equal(renderValue(false), 'false');
  assert.equal(renderValue(null), 'null');
  assert.equal(renderValue('bpftrace'), 'bpftrace');
  assert.equal(renderValue(pointer(0x1f00n)), '0x1f00');
  assert.equal(renderValue(enumValue('TCP_ESTABLISHED', 1n)), 'TCP_ESTABLISHED');
});

test('tuples get ", " and unquoted strings, arrays no spaces, records dotted fields', () => {
  assert.equal(renderValue(tuple(1n, 'two', tuple(2n, 'three'))), '(1, two, (2, three))');
  assert.equal(renderValue(tuple(-100n, 100n, 'abcdef', 3n)), '(-100, 100, abcdef, 3)');
  assert.equal(renderValue({ kind: 'array', items: [1n, 2n, 3n, 4n] }), '[1,2,3,4]');
  assert.equal(renderValue({ kind: 'record', fields: [['a', 1n], ['b', 'hello']] }), '{ .a = 1, .b = hello }');
  assert.equal(renderValue({ kind: 'record', fields: [] }), '{}');
});

test('buffers: %r, %rx and %rh forms of "ab\\x01c"', () => {
  const b = buffer([0x61, 0x62, 0x01, 0x63]);
  assert.equal(renderValue(b), 'ab\\x01c');
  assert.equal(hexFormatBuffer(b.bytes, false, true), '\\x61\\x62\\x01\\x63');
  assert.equal(hexFormatBuffer(b.bytes, false, false), '61 62 01 63');
});

test('stacks: leading newline, 8-space frames; perf and raw modes', () => {
  assert.equal(renderValue(stack(['do_nanosleep+5', 'hrtimer_nanosleep+112'])), '\n        do_nanosleep+5\n        hrtimer_nanosleep+112\n');
  assert.equal(renderValue(stack([])), '\n');
  const perf = { kind: 'stack' as const, frames: ['do_nanosleep+5'], addrs: [0xffffffff81a2b3c5n], mode: 'perf' as const };
  assert.equal(renderValue(perf), '\n\tffffffff81a2b3c5 do_nanosleep+5\n');
  assert.equal(renderValue({ ...perf, mode: 'raw' }), '\nffffffff81a2b3c5\n');
});

test('renderParts splits off the first streamed token of composite values', () => {
  assert.deepEqual(renderParts(tuple(1n, 2n)), ['(', '1, 2)']);
  assert.deepEqual(renderParts({ kind: 'record', fields: [['a', 1n]] }), ['{ ', '.a = 1 }']);
  assert.deepEqual(renderParts('abc'), ['abc', '']);
});

test('numericValue of integers, bools and symbolic values', () => {
  assert.equal(numericValue(7n), 7n);
  assert.equal(numericValue(true), 1n);
  assert.equal(numericValue(pointer(0x1000n)), 0x1000n);
  assert.equal(numericValue('7'), undefined);
});
