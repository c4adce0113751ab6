/**
 * eBPF opcode fields and pseudo source values, as in include/uapi/linux/bpf.h, bpf_common.h and
 * Documentation/bpf/standardization/instruction-set.rst.
 *
 * Opcode byte: class in bits 0-2; for ALU/JMP classes the source bit 3 and the operation in bits 4-7; for load and
 * store classes the size in bits 3-4 and the mode in bits 5-7.
 */

// Instruction classes (code & 0x07).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

// Sizes (code & 0x18).
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

// Modes (code & 0xe0).
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

// Source (code & 0x08).
export const BPF_K = 0x00;
export const BPF_X = 0x08;

// ALU operations (code & 0xf0). BPF_SDIV/BPF_SMOD are BPF_DIV/BPF_MOD with off = 1; BPF_MOVSX is BPF_MOV with
// off = 8/16/32.
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

// Byte-swap direction for BPF_END (in the source bit). In BPF_ALU64 class BPF_TO_LE means "unconditional bswap".
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

// Jump operations (code & 0xf0).
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
/** Conditional pseudo jump; src = BPF_MAY_GOTO. */
export const BPF_JCOND = 0xe0;
export const BPF_MAY_GOTO = 0;

// Atomic operations (imm of a BPF_STX | BPF_ATOMIC instruction).
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

// ld_imm64 (BPF_LD | BPF_IMM | BPF_DW) src values.
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;

// BPF_CALL src values (0 = helper by id).
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

/** The ld_imm64 opcode (0x18): the one instruction that occupies two 8-byte slots. */
export const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW;

/** A register operand. Registers are objects so a builder call can tell `r2` from the immediate `2`. */
export interface Reg {
  readonly reg: number;
}

export const R0: Reg = Object.freeze({ reg: 0 });
export const R1: Reg = Object.freeze({ reg: 1 });
export const R2: Reg = Object.freeze({ reg: 2 });
export const R3: Reg = Object.freeze({ reg: 3 });
export const R4: Reg = Object.freeze({ reg: 4 });
export const R5: Reg = Object.freeze({ reg: 5 });
export const R6: Reg = Object.freeze({ reg: 6 });
export const R7: Reg = Object.freeze({ reg: 7 });
export const R8: Reg = Object.freeze({ reg: 8 });
export const R9: Reg = Object.freeze({ reg: 9 });
/** The read-only frame pointer. */
export const R10: Reg = Object.freeze({ reg: 10 });
export const FP = R10;
/** R0..R10 indexed by number, for code that allocates registers. */
export const REGS: readonly Reg[] = Object.freeze([R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10]);

/** Memory access width in bytes. */
export type Size = 1 | 2 | 4 | 8;

const sizeCodes: Record<Size, number> = { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW };

/** The size field for an access of `bytes`. */
export function sizeCode(bytes: Size): number {
  const c = sizeCodes[bytes];
  if (c === undefined) throw new RangeError(`memory access size must be 1, 2, 4 or 8 bytes, not ${bytes}`);
  return c;
}

/** Bytes accessed for a size field (code & 0x18). */
export function sizeBytes(code: number): Size {
  switch (code & 0x18) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}
