/**
 * Test fixture: one builder call per instruction variant, with its opcode byte (from the opcode table of
 * Documentation/bpf/standardization/instruction-set.rst) and its `bpftool prog dump xlated` text. The harness
 * appends two `exit`s and then defines label 'L', so a jump at slot 0 has offset +2 (+3 after an ld_imm64).
 */
import { Asm, type AluOp, type AtomicOp, type JmpCond } from './builder.js';
import { R0, R1, R2, R3, R10, type Size } from './opcodes.js';

export interface Variant {
  name: string;
  build(a: Asm): void;
  code: number;
  text: string;
}

const v: Variant[] = [];
const add = (name: string, code: number, text: string, build: (a: Asm) => void): void => {
  v.push({ name, build, code, text });
};

// [op, opcode of the 64-bit register form, operator text]; imm form = code - 0x08, 32-bit class = code - 3.
const alu: [AluOp, number, string][] = [
  ['add', 0x0f, '+='], ['sub', 0x1f, '-='], ['mul', 0x2f, '*='], ['div', 0x3f, '/='], ['sdiv', 0x3f, 's/='],
  ['or', 0x4f, '|='], ['and', 0x5f, '&='], ['lsh', 0x6f, '<<='], ['rsh', 0x7f, '>>='], ['mod', 0x9f, '%='],
  ['smod', 0x9f, 's%='], ['xor', 0xaf, '^='], ['mov', 0xbf, '='], ['arsh', 0xcf, 's>>='],
];
for (const [o, code, s] of alu) {
  add(`${o} reg`, code, `r1 ${s} r2`, (a) => a[o](R1, R2));
  add(`${o} imm`, code - 8, `r1 ${s} -7`, (a) => a[o](R1, -7));
  add(`${o}32 reg`, code - 3, `w1 ${s} w2`, (a) => a[`${o}32` as const](R1, R2));
  add(`${o}32 imm`, code - 11, `w3 ${s} 9`, (a) => a[`${o}32` as const](R3, 9));
}
add('neg', 0x87, 'r1 = -r1', (a) => a.neg(R1));
add('neg32', 0x84, 'w1 = -w1', (a) => a.neg32(R1));
for (const bits of [8, 16, 32] as const) add(`movsx ${bits}`, 0xbf, `r1 = (s${bits})r2`, (a) => a.movsx(R1, R2, bits));
for (const bits of [8, 16] as const) add(`movsx32 ${bits}`, 0xbc, `w1 = (s${bits})w2`, (a) => a.movsx32(R1, R2, bits));
for (const bits of [16, 32, 64] as const) {
  add(`be${bits}`, 0xdc, `r1 = be${bits} r1`, (a) => a.be(R1, bits));
  add(`le${bits}`, 0xd4, `r1 = le${bits} r1`, (a) => a.le(R1, bits));
  add(`bswap${bits}`, 0xd7, `r1 = bswap${bits} r1`, (a) => a.bswap(R1, bits));
}

// [cond, opcode of the 64-bit register form, operator text]; imm form = code - 0x08, JMP32 class = code + 1.
const jmp: [JmpCond, number, string][] = [
  ['jeq', 0x1d, '=='], ['jgt', 0x2d, '>'], ['jge', 0x3d, '>='], ['jset', 0x4d, '&'], ['jne', 0x5d, '!='],
  ['jsgt', 0x6d, 's>'], ['jsge', 0x7d, 's>='], ['jlt', 0xad, '<'], ['jle', 0xbd, '<='], ['jslt', 0xcd, 's<'],
  ['jsle', 0xdd, 's<='],
];
for (const [c, code, s] of jmp) {
  add(`${c} reg`, code, `if r1 ${s} r2 goto pc+2`, (a) => a[c](R1, R2, 'L'));
  add(`${c} imm`, code - 8, `if r1 ${s} 0xffffffff goto pc+2`, (a) => a[c](R1, -1, 'L'));
  add(`${c}32 reg`, code + 1, `if w1 ${s} w2 goto pc+2`, (a) => a[`${c}32` as const](R1, R2, 'L'));
  add(`${c}32 imm`, code - 7, `if w1 ${s} 0x10 goto pc+2`, (a) => a[`${c}32` as const](R1, 16, 'L'));
}
add('ja', 0x05, 'goto pc+2', (a) => a.ja('L'));
add('gotol', 0x06, 'gotol pc+2', (a) => a.gotol('L'));
add('may_goto', 0xe5, 'may_goto pc+2', (a) => a.mayGoto('L'));

const sizes: [Size, number, number, number, number, number][] = [
  // size, ldx, ldxs, st, stx, atomic
  [1, 0x71, 0x91, 0x72, 0x73, 0xd3],
  [2, 0x69, 0x89, 0x6a, 0x6b, 0xcb],
  [4, 0x61, 0x81, 0x62, 0x63, 0xc3],
  [8, 0x79, 0, 0x7a, 0x7b, 0xdb],
];
for (const [size, ldx, ldxs, st, stx, atomic] of sizes) {
  const b = size * 8;
  add(`ldx ${size}`, ldx, `r1 = *(u${b} *)(r2 +4)`, (a) => a.ldx(size, R1, R2, 4));
  if (size !== 8) add(`ldxs ${size}`, ldxs, `r1 = *(s${b} *)(r2 -4)`, (a) => a.ldxs(size, R1, R2, -4));
  add(`st ${size}`, st, `*(u${b} *)(r10 -8) = 42`, (a) => a.st(size, R10, -8, 42));
  add(`stx ${size}`, stx, `*(u${b} *)(r10 -8) = r1`, (a) => a.stx(size, R10, -8, R1));
  add(`load_acquire ${size}`, atomic, `r0 = load_acquire((u${b} *)(r1 +8))`, (a) => a.loadAcquire(size, R0, R1, 8));
  add(`store_release ${size}`, atomic, `store_release((u${b} *)(r1 +8), r2)`, (a) => a.storeRelease(size, R1, 8, R2));
}
for (const [size, code] of [[4, 0xc3], [8, 0xdb]] as const) {
  const fn = size === 8 ? 'atomic64' : 'atomic';
  const p = `(u${size * 8} *)(r1 +0)`;
  const ops: [AtomicOp, string][] = [
    ['add', `lock *${p} += r2`], ['and', `lock *${p} &= r2`], ['or', `lock *${p} |= r2`], ['xor', `lock *${p} ^= r2`],
    ['fetch_add', `r2 = ${fn}_fetch_add(${p}, r2)`], ['fetch_and', `r2 = ${fn}_fetch_and(${p}, r2)`],
    ['fetch_or', `r2 = ${fn}_fetch_or(${p}, r2)`], ['fetch_xor', `r2 = ${fn}_fetch_xor(${p}, r2)`],
    ['xchg', `r2 = ${fn}_xchg(${p}, r2)`], ['cmpxchg', `r0 = ${fn}_cmpxchg(${p}, r0, r2)`],
  ];
  for (const [o, text] of ops) add(`atomic ${o} ${size}`, code, text, (a) => a.atomic(size, o, R1, 0, R2));
}

add('ld_imm64', 0x18, 'r1 = 0x123456789abcdef0', (a) => a.ldImm64(R1, 0x123456789abcdef0n));
add('ld_imm64 -1', 0x18, 'r2 = 0xffffffffffffffff', (a) => a.ldImm64(R2, -1));
add('ld map fd', 0x18, 'r1 = map[fd:5]', (a) => a.ldMapFd(R1, 5));
add('ld map value', 0x18, 'r1 = map[fd:6][0]+16', (a) => a.ldMapValue(R1, { fd: 6 }, 16));
add('ld func', 0x18, 'r2 = subprog[+3]', (a) => a.ldFunc(R2, 'L'));
add('ld btf id', 0x18, 'r3 = btf_id[1234]', (a) => a.ldBtfId(R3, 1234));
add('call by name', 0x85, 'call bpf_ktime_get_ns#5', (a) => a.call('ktime_get_ns'));
add('call by id', 0x85, 'call bpf_get_current_pid_tgid#14', (a) => a.call(14));
add('call local', 0x85, 'call pc+2', (a) => a.callLocal('L'));
add('call kfunc', 0x85, 'call kfunc#999', (a) => a.callKfunc(999));
add('exit', 0x95, 'exit', (a) => a.exit());

export const VARIANTS: readonly Variant[] = v;

/** Builds one variant the way the fixture's texts assume. */
export function buildVariant(x: Variant): Asm {
  const a = new Asm();
  x.build(a);
  return a.exit().exit().label('L');
}
