import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm } from './builder.js';
import { decode, encode, type Insn } from './insn.js';
import { R0, R1, R2, R3, R6, R7, R10 } from './opcodes.js';
import { buildVariant, VARIANTS } from './variants.fixture.js';
import { progLoad } from '../sys/bpf.js';
import { sysClose } from '../sys/libc.js';

const strip = (insns: Insn[]): Insn[] => insns.map(({ tag: _t, ...rest }) => rest);

test('every instruction variant has its opcode and survives encode → decode → encode', () => {
  assert.ok(VARIANTS.length > 150);
  for (const x of VARIANTS) {
    const { insns, bytes } = buildVariant(x).assemble();
    assert.equal(insns.length, 3, x.name);
    assert.equal(insns[0]!.code, x.code, `${x.name}: opcode 0x${insns[0]!.code.toString(16)}`);
    assert.equal(bytes[0], x.code, x.name);
    const back = decode(bytes);
    assert.deepEqual(back, strip(insns), x.name);
    assert.deepEqual(encode(back), bytes, x.name);
  }
});

test('operand fields follow the instruction-set spec', () => {
  const one = (f: (a: Asm) => void): Insn => {
    const a = new Asm();
    f(a);
    return a.assemble().insns[0]!;
  };
  assert.deepEqual(one((a) => a.sdiv(R1, R2)), { code: 0x3f, dst: 1, src: 2, off: 1, imm: 0 });
  assert.deepEqual(one((a) => a.smod32(R1, 3)), { code: 0x94, dst: 1, src: 0, off: 1, imm: 3 });
  assert.deepEqual(one((a) => a.movsx(R3, R2, 16)), { code: 0xbf, dst: 3, src: 2, off: 16, imm: 0 });
  assert.deepEqual(one((a) => a.bswap(R1, 32)), { code: 0xd7, dst: 1, src: 0, off: 0, imm: 32 });
  assert.deepEqual(one((a) => a.atomic(8, 'cmpxchg', R10, -8, R2)), { code: 0xdb, dst: 10, src: 2, off: -8, imm: 0xf1 });
  assert.deepEqual(one((a) => a.atomic(4, 'fetch_or', R1, 4, R2)), { code: 0xc3, dst: 1, src: 2, off: 4, imm: 0x41 });
  assert.deepEqual(one((a) => a.atomic(8, 'xchg', R1, 0, R2)).imm, 0xe1);
  assert.deepEqual(one((a) => a.loadAcquire(4, R0, R1, 0)), { code: 0xc3, dst: 0, src: 1, off: 0, imm: 0x100 });
  assert.deepEqual(one((a) => a.ldMapValue(R1, 7, 24)), { code: 0x18, dst: 1, src: 2, off: 0, imm: 7, imm64hi: 24 });
  assert.deepEqual(one((a) => a.callKfunc(55, 2)), { code: 0x85, dst: 0, src: 2, off: 2, imm: 55 });
  assert.deepEqual(one((a) => a.ldImm64(R1, 0xfedcba9876543210n)), {
    code: 0x18, dst: 1, src: 0, off: 0, imm: 0x76543210, imm64hi: 0xfedcba98 | 0,
  });
  assert.deepEqual(one((a) => a.ldImm64(R1, -2)), { code: 0x18, dst: 1, src: 0, off: 0, imm: -2, imm64hi: -1 });
});

test('immediates that would change meaning when sign-extended are refused', () => {
  const a = new Asm();
  assert.throws(() => a.mov(R3, 0xffffffff), /sign-extended 32-bit/);
  assert.throws(() => a.jeq(R3, 0x80000000, 'x'), /sign-extended/);
  assert.throws(() => a.st(8, R10, -8, 0xffffffff), /sign-extended/);
  assert.throws(() => a.add(R1, 1.5), /does not fit/);
  assert.throws(() => a.ldx(8, R1, R2, 40000), /16 bits/);
  assert.throws(() => a.ldImm64(R1, 1n << 64n), /64 bits/);
  assert.throws(() => a.mov(R1, { reg: 11 }), /not a BPF register/);
  // the 32-bit forms take any 32-bit pattern: this is how BPF_F_CURRENT_CPU must be loaded
  a.mov32(R3, 0xffffffff).st(4, R10, -4, 0xffffffff).jeq32(R1, 0xffffffff, 'x').label('x');
  assert.deepEqual(a.assemble().insns.map((i) => i.imm), [-1, -1, -1]);
});

test('labels resolve forward and backward, counting ld_imm64 as two slots', () => {
  const a = new Asm();
  a.label('top') // slot 0
    .ldImm64(R1, 1n << 40n) // slots 0-1
    .jeq(R1, 0, 'end') // slot 2 → 4
    .ja('top') // slot 3 → 0
    .label('end')
    .exit(); // slot 4
  const { insns, bytes } = a.assemble();
  assert.equal(bytes.length, 5 * 8);
  assert.equal(insns[1]!.off, 1);
  assert.equal(insns[2]!.off, -4);
  // the offset is relative to the next slot: a jump to the very next instruction has offset 0
  const b = new Asm().jne(R1, R2, 'next').label('next').exit().assemble();
  assert.equal(b.insns[0]!.off, 0);
});

test('32-bit relative labels: gotol, callLocal and ldFunc put the slot delta in imm', () => {
  const a = new Asm();
  a.callLocal('sub') // 0 → 5
    .ldFunc(R2, 'sub') // 1-2 → 5
    .gotol('out') // 3 → 4
    .label('out')
    .exit() // 4
    .label('sub')
    .mov(R0, 0) // 5
    .exit();
  const { insns } = a.assemble();
  assert.deepEqual(insns.slice(0, 3).map((i) => [i.imm, i.off]), [[4, 0], [3, 0], [0, 0]]);
});

test('label errors name the label', () => {
  assert.throws(() => new Asm().ja('nowhere').assemble(), /'nowhere' is used but never defined/);
  const a = new Asm();
  const l = a.newLabel('retry');
  assert.throws(() => a.ja(l).assemble(), /'retry#1' is used but never defined/);
  assert.throws(() => new Asm().label('x').label('x'), /defined twice/);
});

test('newLabel objects never clash, even with equal hints or string labels', () => {
  const a = new Asm();
  const l1 = a.newLabel('skip');
  const l2 = a.newLabel('skip');
  assert.notEqual(l1, l2);
  a.ja(l2).ja(l1).label(l1).label('skip#2').exit().label(l2).exit();
  const { insns } = a.assemble();
  assert.deepEqual(insns.map((i) => i.off), [2, 0, 0, 0]);
});

test('16-bit jump overflow is an error; gotol reaches further', () => {
  const far = (jump: (a: Asm) => void): Asm => {
    const a = new Asm();
    jump(a);
    for (let i = 0; i < 40000; i++) a.mov(R0, 0);
    return a.label('far').exit();
  };
  assert.throws(() => far((a) => a.ja('far')).assemble(), /label 'far' spans 40000 slots, beyond a 16-bit offset/);
  assert.equal(far((a) => a.gotol('far')).assemble().insns[0]!.imm, 40000);
});

test('maps are resolved when the program is assembled, not when it is written', () => {
  const map: { fd: number; name: string } = { fd: -1, name: 'counts' };
  const a = new Asm().ldMapFd(R1, map).exit();
  assert.throws(() => a.assemble(), /map 'counts' has no file descriptor/);
  map.fd = 9;
  assert.equal(a.assemble().insns[0]!.imm, 9);
  map.fd = 11;
  assert.equal(a.assemble().bytes.readInt32LE(4), 11);
});

test('mark() tags every following instruction, per slot', () => {
  const a = new Asm().mov(R0, 0).mark('line 3').ldImm64(R1, 5).mov(R2, 1).mark({ line: 4 }).exit();
  const { tags, insns } = a.assemble();
  assert.deepEqual(tags, [undefined, 'line 3', 'line 3', 'line 3', { line: 4 }]);
  assert.deepEqual(a.tags(), tags);
  assert.equal(insns[1]!.tag, 'line 3');
  assert.equal(a.pc, 5);
});

const TRACEPOINT = 5;

function load(a: Asm): { fd: number; log: string } {
  const logBuf = Buffer.alloc(64 * 1024);
  const { fd } = progLoad({ progType: TRACEPOINT, insns: a.assemble().bytes, license: 'GPL', logLevel: 1, logBuf, name: 'asm_test' });
  if (fd >= 0) sysClose(fd);
  return { fd, log: logBuf.toString('latin1').replace(/\0.*$/s, '') };
}

test('the kernel verifier accepts a program using loops, stack, helpers, atomics and v4 instructions', () => {
  const a = new Asm();
  const loop = a.newLabel('loop');
  const out = a.newLabel('out');
  a.mov(R6, R1)
    .call('ktime_get_ns')
    .stx(8, R10, -8, R0) // now
    .st(8, R10, -16, 0) // counter
    .st(4, R10, -20, 7)
    .st(4, R10, -24, 0)
    .mov(R7, 0)
    .label(loop) // bounded loop: 10 iterations, backward jump
    .mov(R1, 1)
    .atomic(8, 'add', R10, -16, R1)
    .add(R7, 1)
    .jlt(R7, 10, loop)
    .mov(R2, 5)
    .atomic(8, 'fetch_add', R10, -16, R2)
    .mov32(R3, 3)
    .atomic(4, 'xchg', R10, -20, R3)
    .mov(R0, 7)
    .mov32(R1, 9)
    .atomic(4, 'cmpxchg', R10, -20, R1)
    .ldxs(2, R1, R10, -20)
    .movsx(R2, R1, 8)
    .bswap(R2, 16)
    .sdiv(R2, 3)
    .ldImm64(R3, 0x1122334455667788n)
    .and(R2, R3)
    .ldx(8, R0, R10, -8)
    .jeq(R0, 0, out) // forward jump
    .callLocal('sub')
    .gotol(out)
    .label(out)
    .mov(R0, 0)
    .exit()
    .label('sub')
    .mov(R0, 1)
    .exit();
  const { fd, log } = load(a);
  assert.ok(fd >= 0, `verifier rejected the program (errno ${-fd}):\n${log}`);
});

test('the kernel verifier rejects a read of an uninitialised register', () => {
  const { fd, log } = load(new Asm().mov(R0, R2).exit());
  assert.ok(fd < 0);
  assert.match(log, /R2 !read_ok/);
});
