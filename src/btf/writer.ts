/**
 * BTF writer: a minimal raw BTF blob (header, type section, string section) with the INT, PTR, FUNC_PROTO and FUNC
 * kinds — what a program load needs to describe its subprograms in func_info (the verifier refuses callbacks such
 * as bpf_for_each_map_elem's without it). Layout: Documentation/bpf/btf.rst.
 */
import { KscopeError } from '../sys/errors.js';

const MAGIC = 0xeb9f;
const HDR_LEN = 24;
const KIND_INT = 1, KIND_PTR = 2, KIND_FUNC = 12, KIND_FUNC_PROTO = 13;
const LINKAGE = { static: 0, global: 1 } as const;

/** Builds a BTF blob type by type; every method returns the new type's id (ids start at 1, 0 is void). */
export class BtfWriter {
  private readonly words: number[] = [];
  private readonly strs: Buffer[] = [Buffer.alloc(1)];
  private readonly strOffs = new Map<string, number>([['', 0]]);
  private strLen = 1;
  private nextId = 1;

  /** Offset of `s` in the string section (each distinct string stored once). */
  private str(s: string): number {
    let off = this.strOffs.get(s);
    if (off === undefined) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new KscopeError(`invalid BTF name '${s}'`);
      off = this.strLen;
      this.strOffs.set(s, off);
      this.strs.push(Buffer.from(s + '\0', 'latin1'));
      this.strLen += s.length + 1;
    }
    return off;
  }

  private add(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[]): number {
    this.words.push(this.str(name), ((kind & 0x1f) << 24) | (vlen & 0xffff), sizeOrType, ...extra);
    return this.nextId++;
  }

  /** An integer of `size` bytes. */
  int(name: string, size: 1 | 2 | 4 | 8, signed: boolean): number {
    return this.add(name, KIND_INT, 0, size, [(signed ? 1 << 24 : 0) | (size * 8)]);
  }

  /** A pointer to type `to` (0: void *). */
  ptr(to: number): number {
    return this.add('', KIND_PTR, 0, to, []);
  }

  /** A function prototype (anonymous). */
  funcProto(ret: number, params: { name: string; type: number }[]): number {
    return this.add('', KIND_FUNC_PROTO, params.length, ret, params.flatMap((p) => [this.str(p.name), p.type]));
  }

  /** A named function of prototype `proto`. */
  func(name: string, proto: number, linkage: keyof typeof LINKAGE): number {
    return this.add(name, KIND_FUNC, LINKAGE[linkage], proto, []);
  }

  /** The raw blob (little-endian). */
  build(): Buffer {
    const types = Buffer.alloc(this.words.length * 4);
    this.words.forEach((w, i) => types.writeUInt32LE(w >>> 0, i * 4));
    const strings = Buffer.concat(this.strs);
    const hdr = Buffer.alloc(HDR_LEN);
    hdr.writeUInt16LE(MAGIC, 0);
    hdr.writeUInt8(1, 2); // version
    hdr.writeUInt32LE(HDR_LEN, 4);
    hdr.writeUInt32LE(0, 8); // type_off
    hdr.writeUInt32LE(types.length, 12);
    hdr.writeUInt32LE(types.length, 16); // str_off
    hdr.writeUInt32LE(strings.length, 20);
    return Buffer.concat([hdr, types, strings]);
  }
}

/** BTF for a program's functions plus its func_info records (struct bpf_func_info { u32 insn_off; u32 type_id }). */
export interface FuncInfoBtf {
  btf: Buffer;
  funcInfo: Buffer;
  count: number;
}

/** Size of one bpf_func_info record. */
export const FUNC_INFO_REC_SIZE = 8;

/**
 * BTF and func_info for a program whose subprograms are callbacks of bpf_for_each_map_elem: the main program
 * `int main(void *ctx)` at instruction 0 (global), and at each of `callbacks` (instruction index, ascending)
 * `long name(void *map, void *key, void *value, void *ctx)` — static, as the verifier requires of callbacks.
 */
export function forEachCallbackBtf(main: string, callbacks: { name: string; insn: number }[]): FuncInfoBtf {
  const w = new BtfWriter();
  const int = w.int('int', 4, true);
  const long = w.int('long', 8, true);
  const voidPtr = w.ptr(0);
  const mainFunc = w.func(ident(main), w.funcProto(int, [{ name: 'ctx', type: voidPtr }]), 'global');
  const cbProto = w.funcProto(long, ['map', 'key', 'value', 'ctx'].map((name) => ({ name, type: voidPtr })));
  const recs: [number, number][] = [[0, mainFunc]];
  for (const cb of callbacks) {
    if (cb.insn <= recs[recs.length - 1]![0]) throw new KscopeError(`subprogram ${cb.name} at instruction ${cb.insn} is not after the previous one`);
    recs.push([cb.insn, w.func(ident(cb.name), cbProto, 'static')]);
  }
  const funcInfo = Buffer.alloc(recs.length * FUNC_INFO_REC_SIZE);
  recs.forEach(([insn, type], i) => {
    funcInfo.writeUInt32LE(insn, i * FUNC_INFO_REC_SIZE);
    funcInfo.writeUInt32LE(type, i * FUNC_INFO_REC_SIZE + 4);
  });
  return { btf: w.build(), funcInfo, count: recs.length };
}

/** `name` made a C identifier (probe names hold ':', '*', '/'...). */
function ident(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}
