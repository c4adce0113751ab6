/**
 * BTF writer: a raw BTF blob (header, type section, string section) built type by type. Kinds: INT, PTR, ARRAY,
 * STRUCT, UNION, ENUM, FWD, TYPEDEF, FUNC_PROTO, FUNC and FLOAT — what a program load needs to describe its
 * subprograms in func_info (the verifier refuses callbacks such as bpf_for_each_map_elem's without it), and what a
 * script's own C types need. Split BTF (ids and strings continuing a base blob's, as kernel modules have over
 * vmlinux) is written when a base is given. Layout: Documentation/bpf/btf.rst.
 */
import { KscopeError } from '../sys/errors.js';

const MAGIC = 0xeb9f;
const HDR_LEN = 24;
const enum Kind { INT = 1, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, FUNC = 12, FUNC_PROTO, FLOAT = 16 }
const LINKAGE = { static: 0, global: 1 } as const;
/** BTF_INT_* encoding bits. */
const INT_SIGNED = 1, INT_CHAR = 2, INT_BOOL = 4;

/** A struct/union member: offsets in bits from the start of the type; bitSize 0 unless a bitfield. */
export interface BtfMemberSpec {
  name: string;
  type: number;
  bitOffset: number;
  bitSize: number;
}

/** Where a split blob continues its base: the base's next type id and the length of its string section. */
export interface BtfBase {
  nextId: number;
  stringsLength: number;
}

/** Builds a BTF blob type by type; every method returns the new type's id (0 is void). */
export class BtfWriter {
  /** Each type's words, by id - firstId; null for a reserved id not defined yet. */
  private readonly types: (number[] | null)[] = [];
  private readonly strs: Buffer[];
  private readonly strOffs = new Map<string, number>([['', 0]]);
  private strLen: number;
  /** The id of the first type written (1, or the base's next id for split BTF). */
  readonly firstId: number;

  /** With `base`, writes split BTF over it: ids and string offsets continue the base's (whose '' is offset 0). */
  constructor(base?: BtfBase) {
    this.firstId = base?.nextId ?? 1;
    this.strs = base ? [] : [Buffer.alloc(1)];
    this.strLen = base ? base.stringsLength : 1;
  }

  /** The id the next type will get. */
  get nextId(): number {
    return this.firstId + this.types.length;
  }

  /** Offset of `s` in the string section (each distinct string stored once). INT names may hold spaces (`unsigned int`). */
  private str(s: string, spaces = false): number {
    let off = this.strOffs.get(s);
    if (off === undefined) {
      if (!(spaces ? /^[A-Za-z_][A-Za-z0-9_ ]*$/ : /^[A-Za-z_][A-Za-z0-9_]*$/).test(s)) throw new KscopeError(`invalid BTF name '${s}'`);
      off = this.strLen;
      this.strOffs.set(s, off);
      this.strs.push(Buffer.from(s + '\0', 'latin1'));
      this.strLen += s.length + 1;
    }
    return off;
  }

  /** Stores a type at `at` (an id from reserve()) or at the next id. */
  private add(at: number | undefined, nameOff: number, kind: Kind, vlen: number, sizeOrType: number, extra: number[], kflag = false): number {
    const words = [nameOff, (kflag ? 0x80000000 : 0) | ((kind & 0x1f) << 24) | (vlen & 0xffff), sizeOrType, ...extra];
    if (at === undefined) {
      this.types.push(words);
      return this.nextId - 1;
    }
    if (this.types[at - this.firstId] !== null) throw new KscopeError(`BTF type id ${at} was not reserved or is already defined`);
    this.types[at - this.firstId] = words;
    return at;
  }

  /** An id for a type defined later (with that method's `at`), so types can refer to each other in cycles. */
  reserve(): number {
    this.types.push(null);
    return this.nextId - 1;
  }

  /** An integer of `size` bytes; `char` and `bool` set BTF's CHAR/BOOL encoding. */
  int(name: string, size: 1 | 2 | 4 | 8, signed: boolean, flags: { char?: boolean; bool?: boolean } = {}, at?: number): number {
    const enc = (signed ? INT_SIGNED : 0) | (flags.char ? INT_CHAR : 0) | (flags.bool ? INT_BOOL : 0);
    return this.add(at, this.str(name, true), Kind.INT, 0, size, [(enc << 24) | (size * 8)]);
  }

  /** A floating-point type of `size` bytes. */
  float(name: string, size: 4 | 8 | 16, at?: number): number {
    return this.add(at, this.str(name, true), Kind.FLOAT, 0, size, []);
  }

  /** A pointer to type `to` (0: void *). */
  ptr(to: number, at?: number): number {
    return this.add(at, 0, Kind.PTR, 0, to, []);
  }

  /** An array of `nelems` elements of type `elem`, indexed by `index` (an integer type id). */
  array(elem: number, index: number, nelems: number, at?: number): number {
    return this.add(at, 0, Kind.ARRAY, 0, 0, [elem, index, nelems]);
  }

  /** A struct or union of `size` bytes ('' for an anonymous one); bitfields use the kind_flag member encoding. */
  composite(kind: 'struct' | 'union', name: string, size: number, members: BtfMemberSpec[], at?: number): number {
    const kflag = members.some((m) => m.bitSize > 0);
    const words = members.flatMap((m) => {
      if (m.bitSize > 255 || m.bitOffset >= 1 << 24) throw new KscopeError(`BTF member '${m.name}' is too large to encode`);
      return [this.str(m.name), m.type, kflag ? (m.bitSize << 24) | m.bitOffset : m.bitOffset];
    });
    return this.add(at, this.str(name), kind === 'struct' ? Kind.STRUCT : Kind.UNION, members.length, size, words, kflag);
  }

  /** An enum of `size` bytes with 32-bit values. */
  enum(name: string, size: 1 | 2 | 4, signed: boolean, values: { name: string; value: number }[], at?: number): number {
    return this.add(at, this.str(name), Kind.ENUM, values.length, size, values.flatMap((v) => [this.str(v.name), v.value >>> 0]), signed);
  }

  /** A forward declaration of `struct name` or `union name`. */
  fwd(name: string, union: boolean, at?: number): number {
    return this.add(at, this.str(name), Kind.FWD, 0, 0, [], union);
  }

  /** `typedef <type> name`. */
  typedef(name: string, type: number, at?: number): number {
    return this.add(at, this.str(name), Kind.TYPEDEF, 0, type, []);
  }

  /** A function prototype (anonymous). */
  funcProto(ret: number, params: { name: string; type: number }[], at?: number): number {
    return this.add(at, 0, Kind.FUNC_PROTO, params.length, ret, params.flatMap((p) => [this.str(p.name), p.type]));
  }

  /** A named function of prototype `proto`. */
  func(name: string, proto: number, linkage: keyof typeof LINKAGE): number {
    return this.add(undefined, this.str(name), Kind.FUNC, LINKAGE[linkage], proto, []);
  }

  /** The raw blob (little-endian). */
  build(): Buffer {
    const missing = this.types.findIndex((t) => t === null);
    if (missing >= 0) throw new KscopeError(`BTF type id ${this.firstId + missing} was reserved but never defined`);
    const all = (this.types as number[][]).flat();
    const types = Buffer.alloc(all.length * 4);
    all.forEach((w, i) => types.writeUInt32LE(w >>> 0, i * 4));
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
