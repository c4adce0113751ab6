/**
 * struct bpf_insn and its wire format: 8 bytes per slot, little-endian — u8 code, u8 dst:4 | src:4 << 4, s16 off,
 * s32 imm. ld_imm64 is one Insn that occupies two slots; the second slot carries only the upper 32 bits in imm.
 */
import { LD_IMM64 } from './opcodes.js';
import { KscopeError } from '../sys/errors.js';

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** ld_imm64 only: imm of the second slot (upper 32 bits). */
  imm64hi?: number;
  /** Caller data attached by Asm.mark() (e.g. a source location); not encoded. */
  tag?: unknown;
}

/** Slots (8-byte units) one instruction occupies: 2 for ld_imm64, 1 otherwise. */
export function insnSlots(insn: Insn): number {
  return insn.code === LD_IMM64 ? 2 : 1;
}

/** Total slots of a program; jump offsets and the kernel's insn_cnt count slots. */
export function slotCount(insns: readonly Insn[]): number {
  let n = 0;
  for (const i of insns) n += insnSlots(i);
  return n;
}

function writeSlot(buf: Buffer, at: number, code: number, dst: number, src: number, off: number, imm: number): void {
  buf[at] = code;
  buf[at + 1] = (dst & 0xf) | ((src & 0xf) << 4);
  buf.writeInt16LE(off, at + 2);
  buf.writeInt32LE(imm | 0, at + 4);
}

/** Encodes instructions into the byte form BPF_PROG_LOAD takes. */
export function encode(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(slotCount(insns) * 8);
  let at = 0;
  for (const i of insns) {
    writeSlot(buf, at, i.code, i.dst, i.src, i.off, i.imm);
    at += 8;
    if (i.code === LD_IMM64) {
      writeSlot(buf, at, 0, 0, 0, 0, i.imm64hi ?? 0);
      at += 8;
    }
  }
  return buf;
}

/** Decodes BPF bytecode; ld_imm64 pairs become one Insn with imm64hi. */
export function decode(buf: Buffer): Insn[] {
  if (buf.length % 8) throw new KscopeError(`BPF bytecode length ${buf.length} is not a multiple of 8`);
  const out: Insn[] = [];
  for (let at = 0; at < buf.length; at += 8) {
    const insn: Insn = {
      code: buf[at]!,
      dst: buf[at + 1]! & 0xf,
      src: buf[at + 1]! >> 4,
      off: buf.readInt16LE(at + 2),
      imm: buf.readInt32LE(at + 4),
    };
    if (insn.code === LD_IMM64) {
      at += 8;
      if (at >= buf.length) throw new KscopeError(`BPF bytecode ends inside the ld_imm64 at slot ${at / 8 - 1}`);
      insn.imm64hi = buf.readInt32LE(at + 4);
    }
    out.push(insn);
  }
  return out;
}
