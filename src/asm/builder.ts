/**
 * Asm: an instruction builder with labels. Every method emits one instruction and returns `this`, so programs read
 * top to bottom; jumps, BPF-to-BPF calls and subprogram references name labels that may be defined before or after
 * use, and map references are resolved to fds only at assemble() time.
 *
 * Operands: registers are the Reg objects R0..R10 (from opcodes.ts); a plain number is an immediate.
 */
import * as op from './opcodes.js';
import { type Reg, type Size, sizeCode } from './opcodes.js';
import { encode, type Insn, insnSlots } from './insn.js';
import { helperId } from './helpers.js';
import { KscopeError } from '../sys/errors.js';

/** A jump target created by Asm.newLabel(): unique by identity, `name` is for messages. */
export class LabelRef {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

export type Label = string | LabelRef;
/** A map by fd, or an object whose fd is read when the program is assembled. */
export type MapRef = number | { readonly fd: number; readonly name?: string };
export type Operand = Reg | number;

export type AluOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'xor' | 'lsh' | 'rsh' | 'arsh' | 'mov';
export type JmpCond =
  | 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle' | 'jset';
export type AtomicOp =
  | 'add' | 'and' | 'or' | 'xor' | 'fetch_add' | 'fetch_and' | 'fetch_or' | 'fetch_xor' | 'xchg' | 'cmpxchg';

/** [operation code, off] per ALU operation: the signed forms are DIV/MOD with off = 1. */
const ALU_OPS: Record<AluOp, readonly [number, number]> = {
  add: [op.BPF_ADD, 0], sub: [op.BPF_SUB, 0], mul: [op.BPF_MUL, 0], div: [op.BPF_DIV, 0], sdiv: [op.BPF_DIV, 1],
  mod: [op.BPF_MOD, 0], smod: [op.BPF_MOD, 1], or: [op.BPF_OR, 0], and: [op.BPF_AND, 0], xor: [op.BPF_XOR, 0],
  lsh: [op.BPF_LSH, 0], rsh: [op.BPF_RSH, 0], arsh: [op.BPF_ARSH, 0], mov: [op.BPF_MOV, 0],
};

const JMP_OPS: Record<JmpCond, number> = {
  jeq: op.BPF_JEQ, jne: op.BPF_JNE, jgt: op.BPF_JGT, jge: op.BPF_JGE, jlt: op.BPF_JLT, jle: op.BPF_JLE,
  jsgt: op.BPF_JSGT, jsge: op.BPF_JSGE, jslt: op.BPF_JSLT, jsle: op.BPF_JSLE, jset: op.BPF_JSET,
};

const ATOMIC_OPS: Record<AtomicOp, number> = {
  add: op.BPF_ADD, and: op.BPF_AND, or: op.BPF_OR, xor: op.BPF_XOR,
  fetch_add: op.BPF_ADD | op.BPF_FETCH, fetch_and: op.BPF_AND | op.BPF_FETCH,
  fetch_or: op.BPF_OR | op.BPF_FETCH, fetch_xor: op.BPF_XOR | op.BPF_FETCH,
  xchg: op.BPF_XCHG, cmpxchg: op.BPF_CMPXCHG,
};

/** What assemble() must fill in: a label-relative field, or a map fd. */
type Fixup =
  | { kind: 'off' | 'imm'; label: Label }
  | { kind: 'map'; map: MapRef };

interface Entry {
  insn: Insn;
  slot: number;
  fix?: Fixup;
}

export interface Assembled {
  insns: Insn[];
  bytes: Buffer;
  /** The mark() tag in force for each slot (both slots of an ld_imm64 carry its tag). */
  tags: unknown[];
}

function regNo(r: Reg): number {
  if (!r || !Number.isInteger(r.reg) || r.reg < 0 || r.reg > 10) throw new KscopeError(`not a BPF register: ${JSON.stringify(r)}`);
  return r.reg;
}

/**
 * Checks an immediate. `wide` = the CPU sign-extends it to 64 bits, so only int32 keeps its value; otherwise
 * (32-bit operations, narrow stores) any 32-bit pattern is accepted, given signed or unsigned.
 */
function imm32(v: number, wide: boolean): number {
  const ok = Number.isInteger(v) && v >= -0x80000000 && v <= (wide ? 0x7fffffff : 0xffffffff);
  if (!ok)
    throw new KscopeError(
      `immediate ${v} does not fit a ${wide ? 'sign-extended 32-bit' : '32-bit'} field`,
      wide ? 'use ldImm64 into a register, or the 32-bit form of the instruction' : undefined,
    );
  return v | 0;
}

function off16(v: number): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new KscopeError(`offset ${v} does not fit 16 bits`);
  return v;
}

function labelName(l: Label): string {
  return typeof l === 'string' ? l : l.name;
}

export class Asm {
  private readonly entries: Entry[] = [];
  private readonly labels = new Map<Label, number>();
  private slots = 0;
  private tag: unknown = undefined;
  private labelSeq = 0;

  /** Slots emitted so far: the slot index the next instruction gets. */
  get pc(): number {
    return this.slots;
  }

  /** Emits any instruction as is (escape hatch; prefer the named methods). */
  raw(insn: Insn): this {
    return this.emit({ ...insn });
  }

  private emit(insn: Insn, fix?: Fixup): this {
    if (this.tag !== undefined) insn.tag = this.tag;
    this.entries.push({ insn, slot: this.slots, fix });
    this.slots += insnSlots(insn);
    return this;
  }

  private ins(code: number, dst: number, src: number, off: number, imm: number, fix?: Fixup): this {
    return this.emit({ code, dst, src, off, imm }, fix);
  }

  // ---- labels and tags -------------------------------------------------------------------------------------------

  /** A fresh label that cannot clash with any other; `hint` shows in messages. */
  newLabel(hint = 'L'): LabelRef {
    return new LabelRef(`${hint}#${++this.labelSeq}`);
  }

  /** Defines `l` at the current position. */
  label(l: Label): this {
    if (this.labels.has(l)) throw new KscopeError(`BPF label '${labelName(l)}' is defined twice`);
    this.labels.set(l, this.slots);
    return this;
  }

  /** Attaches `tag` to every following instruction (until the next mark); undefined stops tagging. */
  mark(tag: unknown): this {
    this.tag = tag;
    return this;
  }

  /** The tag of each slot emitted so far. */
  tags(): unknown[] {
    const out: unknown[] = [];
    for (const { insn } of this.entries) for (let k = insnSlots(insn); k > 0; k--) out.push(insn.tag);
    return out;
  }

  // ---- ALU -------------------------------------------------------------------------------------------------------

  /** 64-bit `dst op= src`; an immediate src must be an int32 (it is sign-extended). */
  alu64(o: AluOp, dst: Reg, src: Operand): this {
    return this.alu(op.BPF_ALU64, o, dst, src);
  }

  /** 32-bit `wdst op= wsrc` (the result is zero-extended into the 64-bit register). */
  alu32(o: AluOp, dst: Reg, src: Operand): this {
    return this.alu(op.BPF_ALU, o, dst, src);
  }

  private alu(cls: number, o: AluOp, dst: Reg, src: Operand): this {
    const [code, off] = ALU_OPS[o];
    if (typeof src === 'number') return this.ins(cls | code | op.BPF_K, regNo(dst), 0, off, imm32(src, cls === op.BPF_ALU64));
    return this.ins(cls | code | op.BPF_X, regNo(dst), regNo(src), off, 0);
  }

  add(dst: Reg, src: Operand): this { return this.alu64('add', dst, src); }
  sub(dst: Reg, src: Operand): this { return this.alu64('sub', dst, src); }
  mul(dst: Reg, src: Operand): this { return this.alu64('mul', dst, src); }
  div(dst: Reg, src: Operand): this { return this.alu64('div', dst, src); }
  sdiv(dst: Reg, src: Operand): this { return this.alu64('sdiv', dst, src); }
  mod(dst: Reg, src: Operand): this { return this.alu64('mod', dst, src); }
  smod(dst: Reg, src: Operand): this { return this.alu64('smod', dst, src); }
  or(dst: Reg, src: Operand): this { return this.alu64('or', dst, src); }
  and(dst: Reg, src: Operand): this { return this.alu64('and', dst, src); }
  xor(dst: Reg, src: Operand): this { return this.alu64('xor', dst, src); }
  lsh(dst: Reg, src: Operand): this { return this.alu64('lsh', dst, src); }
  rsh(dst: Reg, src: Operand): this { return this.alu64('rsh', dst, src); }
  arsh(dst: Reg, src: Operand): this { return this.alu64('arsh', dst, src); }
  mov(dst: Reg, src: Operand): this { return this.alu64('mov', dst, src); }
  add32(dst: Reg, src: Operand): this { return this.alu32('add', dst, src); }
  sub32(dst: Reg, src: Operand): this { return this.alu32('sub', dst, src); }
  mul32(dst: Reg, src: Operand): this { return this.alu32('mul', dst, src); }
  div32(dst: Reg, src: Operand): this { return this.alu32('div', dst, src); }
  sdiv32(dst: Reg, src: Operand): this { return this.alu32('sdiv', dst, src); }
  mod32(dst: Reg, src: Operand): this { return this.alu32('mod', dst, src); }
  smod32(dst: Reg, src: Operand): this { return this.alu32('smod', dst, src); }
  or32(dst: Reg, src: Operand): this { return this.alu32('or', dst, src); }
  and32(dst: Reg, src: Operand): this { return this.alu32('and', dst, src); }
  xor32(dst: Reg, src: Operand): this { return this.alu32('xor', dst, src); }
  lsh32(dst: Reg, src: Operand): this { return this.alu32('lsh', dst, src); }
  rsh32(dst: Reg, src: Operand): this { return this.alu32('rsh', dst, src); }
  arsh32(dst: Reg, src: Operand): this { return this.alu32('arsh', dst, src); }
  /** `wdst = imm` zero-extends: the way to load 0xffffffff (e.g. BPF_F_CURRENT_CPU) into a register. */
  mov32(dst: Reg, src: Operand): this { return this.alu32('mov', dst, src); }

  /** `dst = -dst` (64-bit). */
  neg(dst: Reg): this {
    return this.ins(op.BPF_ALU64 | op.BPF_NEG | op.BPF_K, regNo(dst), 0, 0, 0);
  }

  /** `wdst = -wdst`. */
  neg32(dst: Reg): this {
    return this.ins(op.BPF_ALU | op.BPF_NEG | op.BPF_K, regNo(dst), 0, 0, 0);
  }

  /** `dst = (s8|s16|s32) src`: sign-extends the low `bits` of src to 64 bits. */
  movsx(dst: Reg, src: Reg, bits: 8 | 16 | 32): this {
    if (bits !== 8 && bits !== 16 && bits !== 32) throw new KscopeError(`movsx takes 8, 16 or 32 bits, not ${bits}`);
    return this.ins(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, regNo(dst), regNo(src), bits, 0);
  }

  /** `wdst = (s8|s16) wsrc`: sign-extends to 32 bits, then zero-extends. */
  movsx32(dst: Reg, src: Reg, bits: 8 | 16): this {
    if (bits !== 8 && bits !== 16) throw new KscopeError(`movsx32 takes 8 or 16 bits, not ${bits}`);
    return this.ins(op.BPF_ALU | op.BPF_MOV | op.BPF_X, regNo(dst), regNo(src), bits, 0);
  }

  private end(cls: number, dir: number, dst: Reg, bits: 16 | 32 | 64): this {
    if (bits !== 16 && bits !== 32 && bits !== 64) throw new KscopeError(`byte swap width must be 16, 32 or 64, not ${bits}`);
    return this.ins(cls | op.BPF_END | dir, regNo(dst), 0, 0, bits);
  }

  /** dst = host-to-big-endian of its low `bits` (upper bits cleared). */
  be(dst: Reg, bits: 16 | 32 | 64): this {
    return this.end(op.BPF_ALU, op.BPF_TO_BE, dst, bits);
  }

  /** dst = host-to-little-endian of its low `bits` (upper bits cleared). */
  le(dst: Reg, bits: 16 | 32 | 64): this {
    return this.end(op.BPF_ALU, op.BPF_TO_LE, dst, bits);
  }

  /** Unconditional byte swap of the low `bits` of dst (BPF_ALU64 | BPF_END). */
  bswap(dst: Reg, bits: 16 | 32 | 64): this {
    return this.end(op.BPF_ALU64, op.BPF_TO_LE, dst, bits);
  }

  // ---- jumps -----------------------------------------------------------------------------------------------------

  /** `if dst <cond> src goto target`, comparing 64 bits (an immediate is sign-extended). */
  jmp(cond: JmpCond, dst: Reg, src: Operand, target: Label): this {
    return this.cjmp(op.BPF_JMP, cond, dst, src, target);
  }

  /** `if wdst <cond> wsrc goto target`, comparing the low 32 bits. */
  jmp32(cond: JmpCond, dst: Reg, src: Operand, target: Label): this {
    return this.cjmp(op.BPF_JMP32, cond, dst, src, target);
  }

  private cjmp(cls: number, cond: JmpCond, dst: Reg, src: Operand, target: Label): this {
    const code = cls | JMP_OPS[cond];
    const fix: Fixup = { kind: 'off', label: target };
    if (typeof src === 'number') return this.ins(code | op.BPF_K, regNo(dst), 0, 0, imm32(src, cls === op.BPF_JMP), fix);
    return this.ins(code | op.BPF_X, regNo(dst), regNo(src), 0, 0, fix);
  }

  jeq(dst: Reg, src: Operand, target: Label): this { return this.jmp('jeq', dst, src, target); }
  jne(dst: Reg, src: Operand, target: Label): this { return this.jmp('jne', dst, src, target); }
  jgt(dst: Reg, src: Operand, target: Label): this { return this.jmp('jgt', dst, src, target); }
  jge(dst: Reg, src: Operand, target: Label): this { return this.jmp('jge', dst, src, target); }
  jlt(dst: Reg, src: Operand, target: Label): this { return this.jmp('jlt', dst, src, target); }
  jle(dst: Reg, src: Operand, target: Label): this { return this.jmp('jle', dst, src, target); }
  jsgt(dst: Reg, src: Operand, target: Label): this { return this.jmp('jsgt', dst, src, target); }
  jsge(dst: Reg, src: Operand, target: Label): this { return this.jmp('jsge', dst, src, target); }
  jslt(dst: Reg, src: Operand, target: Label): this { return this.jmp('jslt', dst, src, target); }
  jsle(dst: Reg, src: Operand, target: Label): this { return this.jmp('jsle', dst, src, target); }
  jset(dst: Reg, src: Operand, target: Label): this { return this.jmp('jset', dst, src, target); }
  jeq32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jeq', dst, src, target); }
  jne32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jne', dst, src, target); }
  jgt32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jgt', dst, src, target); }
  jge32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jge', dst, src, target); }
  jlt32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jlt', dst, src, target); }
  jle32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jle', dst, src, target); }
  jsgt32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jsgt', dst, src, target); }
  jsge32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jsge', dst, src, target); }
  jslt32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jslt', dst, src, target); }
  jsle32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jsle', dst, src, target); }
  jset32(dst: Reg, src: Operand, target: Label): this { return this.jmp32('jset', dst, src, target); }

  /** `goto target` with a 16-bit offset. */
  ja(target: Label): this {
    return this.ins(op.BPF_JMP | op.BPF_JA, 0, 0, 0, 0, { kind: 'off', label: target });
  }

  /** `gotol target`: JMP32 | JA with the offset in the 32-bit imm (kernel >= 6.6). */
  gotol(target: Label): this {
    return this.ins(op.BPF_JMP32 | op.BPF_JA, 0, 0, 0, 0, { kind: 'imm', label: target });
  }

  /** `may_goto target`: falls through until the kernel's loop budget runs out, then jumps (kernel >= 6.9). */
  mayGoto(target: Label): this {
    return this.ins(op.BPF_JMP | op.BPF_JCOND, 0, op.BPF_MAY_GOTO, 0, 0, { kind: 'off', label: target });
  }

  // ---- memory ----------------------------------------------------------------------------------------------------

  /** `dst = *(u<size*8> *)(base + off)`, zero-extended. */
  ldx(size: Size, dst: Reg, base: Reg, off: number): this {
    return this.ins(op.BPF_LDX | op.BPF_MEM | sizeCode(size), regNo(dst), regNo(base), off16(off), 0);
  }

  /** `dst = *(s<size*8> *)(base + off)`, sign-extended (BPF_MEMSX). */
  ldxs(size: 1 | 2 | 4, dst: Reg, base: Reg, off: number): this {
    if (size !== 1 && size !== 2 && size !== 4) throw new KscopeError('sign-extending loads are 1, 2 or 4 bytes wide');
    return this.ins(op.BPF_LDX | op.BPF_MEMSX | sizeCode(size), regNo(dst), regNo(base), off16(off), 0);
  }

  /** `*(u<size*8> *)(base + off) = imm` (sign-extended for 8-byte stores). */
  st(size: Size, base: Reg, off: number, imm: number): this {
    return this.ins(op.BPF_ST | op.BPF_MEM | sizeCode(size), regNo(base), 0, off16(off), imm32(imm, size === 8));
  }

  /** `*(u<size*8> *)(base + off) = src`. */
  stx(size: Size, base: Reg, off: number, src: Reg): this {
    return this.ins(op.BPF_STX | op.BPF_MEM | sizeCode(size), regNo(base), regNo(src), off16(off), 0);
  }

  /**
   * Atomic read-modify-write of `*(base + off)` with src: `add`/`and`/`or`/`xor` store only; the `fetch_` forms and
   * `xchg` also return the old value in src; `cmpxchg` compares with R0, stores src if equal, old value into R0.
   */
  atomic(size: 4 | 8, o: AtomicOp, base: Reg, off: number, src: Reg): this {
    if (size !== 4 && size !== 8) throw new KscopeError(`atomic operations are 4 or 8 bytes wide, not ${size}`);
    return this.ins(op.BPF_STX | op.BPF_ATOMIC | sizeCode(size), regNo(base), regNo(src), off16(off), ATOMIC_OPS[o]);
  }

  /** `dst = load_acquire(*(base + off))` (kernel >= 6.15). */
  loadAcquire(size: Size, dst: Reg, base: Reg, off: number): this {
    return this.ins(op.BPF_STX | op.BPF_ATOMIC | sizeCode(size), regNo(dst), regNo(base), off16(off), op.BPF_LOAD_ACQ);
  }

  /** `store_release(*(base + off), src)` (kernel >= 6.15). */
  storeRelease(size: Size, base: Reg, off: number, src: Reg): this {
    return this.ins(op.BPF_STX | op.BPF_ATOMIC | sizeCode(size), regNo(base), regNo(src), off16(off), op.BPF_STORE_REL);
  }

  // ---- 64-bit immediates -----------------------------------------------------------------------------------------

  private ld64(dst: Reg, src: number, lo: number, hi: number, fix?: Fixup): this {
    return this.emit({ code: op.LD_IMM64, dst: regNo(dst), src, off: 0, imm: lo, imm64hi: hi }, fix);
  }

  /** `dst = v` for any 64-bit value (signed or unsigned). */
  ldImm64(dst: Reg, v: bigint | number): this {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new KscopeError(`ldImm64 needs an integer, got ${v}`);
    const b = BigInt(v);
    if (b < -(1n << 63n) || b >= 1n << 64n) throw new KscopeError(`ldImm64 value ${b} does not fit 64 bits`);
    const u = BigInt.asUintN(64, b);
    return this.ld64(dst, 0, Number(BigInt.asIntN(32, u)), Number(BigInt.asIntN(32, u >> 32n)));
  }

  /** `dst = map` (BPF_PSEUDO_MAP_FD); the fd is read at assemble() time. */
  ldMapFd(dst: Reg, map: MapRef): this {
    return this.ld64(dst, op.BPF_PSEUDO_MAP_FD, 0, 0, { kind: 'map', map });
  }

  /** `dst = &map value + offset` (BPF_PSEUDO_MAP_VALUE, arrays with one key); the fd is read at assemble() time. */
  ldMapValue(dst: Reg, map: MapRef, offset: number): this {
    return this.ld64(dst, op.BPF_PSEUDO_MAP_VALUE, 0, imm32(offset, false), { kind: 'map', map });
  }

  /** `dst = address of the subprogram at label` (BPF_PSEUDO_FUNC), for callbacks such as bpf_loop. */
  ldFunc(dst: Reg, target: Label): this {
    return this.ld64(dst, op.BPF_PSEUDO_FUNC, 0, 0, { kind: 'imm', label: target });
  }

  /** `dst = address of the kernel variable with this BTF id` (BPF_PSEUDO_BTF_ID; btfObjFd 0 = vmlinux). */
  ldBtfId(dst: Reg, btfId: number, btfObjFd = 0): this {
    return this.ld64(dst, op.BPF_PSEUDO_BTF_ID, imm32(btfId, false), imm32(btfObjFd, false));
  }

  // ---- calls -----------------------------------------------------------------------------------------------------

  /** Calls a helper by name (`map_lookup_elem`, `bpf_map_lookup_elem`) or id. Arguments in R1-R5, result in R0. */
  call(helper: string | number): this {
    const id = typeof helper === 'number' ? imm32(helper, true) : helperId(helper);
    return this.ins(op.BPF_JMP | op.BPF_CALL, 0, 0, 0, id);
  }

  /** BPF-to-BPF call of the subprogram starting at label. */
  callLocal(target: Label): this {
    return this.ins(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_CALL, 0, 0, { kind: 'imm', label: target });
  }

  /** Calls a kernel function by BTF id; fdIndex selects a module BTF in fd_array (0 = vmlinux). */
  callKfunc(btfId: number, fdIndex = 0): this {
    return this.ins(op.BPF_JMP | op.BPF_CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, off16(fdIndex), imm32(btfId, false));
  }

  /** Returns R0. */
  exit(): this {
    return this.ins(op.BPF_JMP | op.BPF_EXIT, 0, 0, 0, 0);
  }

  // ---- output ----------------------------------------------------------------------------------------------------

  /** Resolves labels and map fds and encodes the program. The builder stays usable (assemble again after more code). */
  assemble(): Assembled {
    const insns = this.entries.map(({ insn, slot, fix }) => {
      const out = { ...insn };
      if (fix?.kind === 'map') out.imm = mapFd(fix.map);
      else if (fix) {
        const at = this.labels.get(fix.label);
        if (at === undefined) throw new KscopeError(`BPF label '${labelName(fix.label)}' is used but never defined`);
        const rel = at - slot - 1;
        if (fix.kind === 'imm') out.imm = rel;
        else out.off = jumpOff(rel, slot, fix.label);
      }
      return out;
    });
    return { insns, bytes: encode(insns), tags: this.tags() };
  }
}

function jumpOff(rel: number, slot: number, l: Label): number {
  if (rel >= -0x8000 && rel <= 0x7fff) return rel;
  throw new KscopeError(
    `jump at slot ${slot} to label '${labelName(l)}' spans ${rel} slots, beyond a 16-bit offset`,
    'split the program, or use gotol for unconditional jumps',
  );
}

function mapFd(m: MapRef): number {
  const fd = typeof m === 'number' ? m : m.fd;
  if (!Number.isInteger(fd) || fd < 0) {
    const what = typeof m === 'number' ? String(m) : `'${m.name ?? '(unnamed)'}'`;
    throw new KscopeError(`map ${what} has no file descriptor (fd ${fd}) when the program is assembled`, 'create maps before assemble()');
  }
  return fd;
}
