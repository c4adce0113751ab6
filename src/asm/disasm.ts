/**
 * Disassembler producing the text of `bpftool prog dump xlated`: one line per instruction, prefixed with its slot
 * number (ld_imm64 advances it by 2).
 */
import * as op from './opcodes.js';
import { sizeBytes } from './opcodes.js';
import { type Insn, insnSlots } from './insn.js';
import { helperName } from './helpers.js';

export interface DisasmOptions {
  /** Names the map behind an fd; without it maps print as `map[fd:N]`. */
  mapName?(fd: number): string | undefined;
}

const ALU_STR: Record<number, string> = {
  [op.BPF_ADD]: '+=', [op.BPF_SUB]: '-=', [op.BPF_MUL]: '*=', [op.BPF_DIV]: '/=', [op.BPF_OR]: '|=',
  [op.BPF_AND]: '&=', [op.BPF_LSH]: '<<=', [op.BPF_RSH]: '>>=', [op.BPF_MOD]: '%=', [op.BPF_XOR]: '^=',
  [op.BPF_MOV]: '=', [op.BPF_ARSH]: 's>>=',
};

const JMP_STR: Record<number, string> = {
  [op.BPF_JEQ]: '==', [op.BPF_JGT]: '>', [op.BPF_JGE]: '>=', [op.BPF_JSET]: '&', [op.BPF_JNE]: '!=',
  [op.BPF_JSGT]: 's>', [op.BPF_JSGE]: 's>=', [op.BPF_JLT]: '<', [op.BPF_JLE]: '<=', [op.BPF_JSLT]: 's<',
  [op.BPF_JSLE]: 's<=',
};

const ATOMIC_ALU: Record<number, [string, string]> = {
  [op.BPF_ADD]: ['+=', 'add'], [op.BPF_AND]: ['&=', 'and'], [op.BPF_OR]: ['|=', 'or'], [op.BPF_XOR]: ['^=', 'xor'],
};

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
const signed = (v: number): string => (v < 0 ? `${v}` : `+${v}`);

/** Disassembles a program; each line is `<slot>: (<opcode>) <text>`. */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string[] {
  const out: string[] = [];
  let slot = 0;
  for (const insn of insns) {
    out.push(`${String(slot).padStart(4)}: (${insn.code.toString(16).padStart(2, '0')}) ${insnText(insn, opts)}`);
    slot += insnSlots(insn);
  }
  return out;
}

/** The text of one instruction, without slot and opcode. */
export function insnText(i: Insn, opts: DisasmOptions = {}): string {
  const cls = i.code & 0x07;
  const mode = i.code & 0xe0;
  const mem = (base: number, sx = false): string => `*(${sx ? 's' : 'u'}${sizeBytes(i.code) * 8} *)(r${base} ${signed(i.off)})`;
  switch (cls) {
    case op.BPF_ALU:
    case op.BPF_ALU64:
      return aluText(i, cls === op.BPF_ALU64);
    case op.BPF_JMP:
    case op.BPF_JMP32:
      return jmpText(i, cls === op.BPF_JMP32);
    case op.BPF_LDX:
      if (mode === op.BPF_MEM || mode === op.BPF_MEMSX) return `r${i.dst} = ${mem(i.src, mode === op.BPF_MEMSX)}`;
      break;
    case op.BPF_ST:
      if (mode === op.BPF_MEM) return `${mem(i.dst)} = ${i.imm}`;
      break;
    case op.BPF_STX:
      if (mode === op.BPF_MEM) return `${mem(i.dst)} = r${i.src}`;
      if (mode === op.BPF_ATOMIC) return atomicText(i);
      break;
    case op.BPF_LD:
      if (i.code === op.LD_IMM64) return `r${i.dst} = ${ldImmText(i, opts)}`;
      break;
  }
  return 'unknown';
}

function aluText(i: Insn, wide: boolean): string {
  const r = wide ? 'r' : 'w';
  const o = i.code & 0xf0;
  if (o === op.BPF_END) {
    const kind = wide ? 'bswap' : (i.code & op.BPF_TO_BE) ? 'be' : 'le';
    return `r${i.dst} = ${kind}${i.imm} r${i.dst}`;
  }
  if (o === op.BPF_NEG) return `${r}${i.dst} = -${r}${i.dst}`;
  const signedOp = i.off === 1 && (o === op.BPF_DIV || o === op.BPF_MOD);
  const str = ALU_STR[o];
  if (str === undefined) return 'unknown';
  const opText = signedOp ? `s${str}` : str;
  if ((i.code & op.BPF_X) === 0) return `${r}${i.dst} ${opText} ${i.imm}`;
  const sx = o === op.BPF_MOV && [8, 16, 32].includes(i.off) ? `(s${i.off})` : '';
  return `${r}${i.dst} ${opText} ${sx}${r}${i.src}`;
}

function jmpText(i: Insn, w32: boolean): string {
  const o = i.code & 0xf0;
  switch (o) {
    case op.BPF_JA:
      return w32 ? `gotol pc${signed(i.imm)}` : `goto pc${signed(i.off)}`;
    case op.BPF_EXIT:
      return 'exit';
    case op.BPF_JCOND:
      return `may_goto pc${signed(i.off)}`;
    case op.BPF_CALL:
      if (i.src === op.BPF_PSEUDO_CALL) return `call pc${signed(i.imm)}`;
      if (i.src === op.BPF_PSEUDO_KFUNC_CALL) return `call kfunc#${i.imm}`;
      return `call bpf_${helperName(i.imm) ?? 'unknown'}#${i.imm}`;
  }
  const cmp = JMP_STR[o];
  if (cmp === undefined) return 'unknown';
  const r = w32 ? 'w' : 'r';
  const rhs = i.code & op.BPF_X ? `${r}${i.src}` : hex(i.imm >>> 0);
  return `if ${r}${i.dst} ${cmp} ${rhs} goto pc${signed(i.off)}`;
}

function atomicText(i: Insn): string {
  const width = sizeBytes(i.code) * 8;
  const ptr = `(u${width} *)(r${i.dst} ${signed(i.off)})`;
  const fn = `atomic${width === 64 ? '64' : ''}`;
  if (i.imm === op.BPF_CMPXCHG) return `r0 = ${fn}_cmpxchg(${ptr}, r0, r${i.src})`;
  if (i.imm === op.BPF_XCHG) return `r${i.src} = ${fn}_xchg(${ptr}, r${i.src})`;
  if (i.imm === op.BPF_LOAD_ACQ) return `r${i.dst} = load_acquire((u${width} *)(r${i.src} ${signed(i.off)}))`;
  if (i.imm === op.BPF_STORE_REL) return `store_release(${ptr}, r${i.src})`;
  const alu = ATOMIC_ALU[i.imm & ~op.BPF_FETCH];
  if (!alu) return 'unknown';
  if (i.imm & op.BPF_FETCH) return `r${i.src} = ${fn}_fetch_${alu[1]}(${ptr}, r${i.src})`;
  return `lock *${ptr} ${alu[0]} r${i.src}`;
}

function ldImmText(i: Insn, opts: DisasmOptions): string {
  const hi = i.imm64hi ?? 0;
  const map = (): string => {
    const name = opts.mapName?.(i.imm);
    return name === undefined ? `map[fd:${i.imm}]` : `map[${name}]`;
  };
  switch (i.src) {
    case op.BPF_PSEUDO_MAP_FD:
      return map();
    case op.BPF_PSEUDO_MAP_VALUE:
      return `${map()}[0]+${hi >>> 0}`;
    case op.BPF_PSEUDO_MAP_IDX:
      return `map[idx:${i.imm}]`;
    case op.BPF_PSEUDO_MAP_IDX_VALUE:
      return `map[idx:${i.imm}]+${hi >>> 0}`;
    case op.BPF_PSEUDO_BTF_ID:
      return `btf_id[${i.imm}]`;
    case op.BPF_PSEUDO_FUNC:
      return `subprog[${signed(i.imm)}]`;
  }
  return hex((BigInt(hi >>> 0) << 32n) | BigInt(i.imm >>> 0));
}
