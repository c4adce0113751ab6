import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, type Insn, slotCount } from './insn.js';

const hex = (b: Buffer): string => b.toString('hex').replace(/(..)(?!$)/g, '$1 ');

test('r0 = 0; exit encodes to the documented bytes', () => {
  const prog: Insn[] = [
    { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  assert.equal(hex(encode(prog)), 'b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00');
});

test('ld_imm64 of map fd 5 into r1 is two slots with src=1 in the high nibble', () => {
  const b = encode([{ code: 0x18, dst: 1, src: 1, off: 0, imm: 5, imm64hi: 0 }]);
  assert.equal(hex(b), '18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00');
});

test('fields are little-endian and signed; dst is the low nibble', () => {
  // *(u64 *)(r10 -8) = r1
  const b = encode([{ code: 0x7b, dst: 10, src: 1, off: -8, imm: 0 }]);
  assert.equal(hex(b), '7b 1a f8 ff 00 00 00 00');
  // r2 = 0x1122334455667788 — low half in slot 0, high half in slot 1
  const w = encode([{ code: 0x18, dst: 2, src: 0, off: 0, imm: 0x55667788, imm64hi: 0x11223344 }]);
  assert.equal(hex(w), '18 02 00 00 88 77 66 55 00 00 00 00 44 33 22 11');
  // unsigned immediates are accepted and written as their 32-bit pattern
  assert.equal(hex(encode([{ code: 0xb4, dst: 3, src: 0, off: 0, imm: 0xffffffff }])), 'b4 03 00 00 ff ff ff ff');
});

test('decode inverts encode, pairing ld_imm64 slots', () => {
  const prog: Insn[] = [
    { code: 0x18, dst: 1, src: 2, off: 0, imm: 7, imm64hi: -3 },
    { code: 0x15, dst: 0, src: 0, off: -2, imm: -1 },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const bytes = encode(prog);
  assert.equal(bytes.length, 32);
  assert.equal(slotCount(prog), 4);
  assert.deepEqual(decode(bytes), prog);
  assert.deepEqual(encode(decode(bytes)), bytes);
});

test('decode rejects truncated input', () => {
  assert.throws(() => decode(Buffer.alloc(12)), /multiple of 8/);
  assert.throws(() => decode(Buffer.from([0x18, 0x01, 0, 0, 0, 0, 0, 0])), /inside the ld_imm64/);
});
