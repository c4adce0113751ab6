/**
 * BTF reader: kernel type information from /sys/kernel/btf (vmlinux and split module BTF).
 *
 * Parsing is lazy: one pass records each type's position and kind and builds a name hash over the raw string bytes
 * (no JS strings are created); a type is decoded into an object only when asked for, then memoised.
 */
import { readFileSync } from 'node:fs';
import { KscopeError } from '../sys/errors.js';

/** BTF kind numbers (index = kind number in the `info` word). */
export const KIND_NAMES = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const', 'restrict',
  'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
] as const;
export type BtfKind = (typeof KIND_NAMES)[number];

/** Kind numbers; a const enum so hot loops see literals. */
const enum K {
  INT = 1, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT,
  FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64,
}

const MAGIC = 0xeb9f;
const POINTER_SIZE = 8;
const LINKAGE = ['static', 'global', 'extern'] as const;
export type BtfLinkage = (typeof LINKAGE)[number];

interface TypeBase { id: number; name: string }
export interface BtfVoid extends TypeBase { kind: 'void' }
export interface BtfInt extends TypeBase {
  kind: 'int'; size: number; bits: number; bitOffset: number; signed: boolean; char: boolean; bool: boolean;
}
/** PTR, TYPEDEF and the qualifiers: a reference to another type. */
export interface BtfRef extends TypeBase { kind: 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict'; type: number }
export interface BtfTypeTag extends TypeBase { kind: 'type_tag'; type: number; attribute: boolean }
export interface BtfArray extends TypeBase { kind: 'array'; type: number; indexType: number; nelems: number }
/** A struct/union member; bitOffset is from the start of the enclosing type, bitSize is 0 unless a bitfield. */
export interface BtfMember { name: string; type: number; bitOffset: number; bitSize: number }
export interface BtfComposite extends TypeBase { kind: 'struct' | 'union'; size: number; members: BtfMember[] }
export interface BtfEnum extends TypeBase { kind: 'enum'; size: number; signed: boolean; values: { name: string; value: number }[] }
export interface BtfEnum64 extends TypeBase { kind: 'enum64'; size: number; signed: boolean; values: { name: string; value: bigint }[] }
export interface BtfFwd extends TypeBase { kind: 'fwd'; union: boolean }
export interface BtfFunc extends TypeBase { kind: 'func'; type: number; linkage: BtfLinkage }
export interface BtfParam { name: string; type: number }
export interface BtfFuncProto extends TypeBase { kind: 'func_proto'; returnType: number; params: BtfParam[]; variadic: boolean }
export interface BtfVar extends TypeBase { kind: 'var'; type: number; linkage: BtfLinkage }
export interface BtfDatasec extends TypeBase { kind: 'datasec'; size: number; vars: { type: number; offset: number; size: number }[] }
export interface BtfFloat extends TypeBase { kind: 'float'; size: number }
/** componentIdx is -1 for the type itself, else the member / parameter index. */
export interface BtfDeclTag extends TypeBase { kind: 'decl_tag'; type: number; componentIdx: number; attribute: boolean }

export type BtfType =
  | BtfVoid | BtfInt | BtfRef | BtfTypeTag | BtfArray | BtfComposite | BtfEnum | BtfEnum64 | BtfFwd | BtfFunc
  | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag;

/** Where a (possibly nested) member lives: offset = byte holding its first bit; bitOffset from the outer start. */
export interface MemberInfo { offset: number; bitOffset: number; bitSize: number; typeId: number }

/** Arguments of a kernel function or tracepoint: name and BTF type id. */
export interface BtfArg { name: string; typeId: number }

/** What a code generator needs to know about a value of some type (after typedefs and qualifiers). */
export interface TypeShape {
  /** The resolved type id. */
  id: number;
  kind: 'void' | 'int' | 'enum' | 'float' | 'ptr' | 'array' | 'struct' | 'union' | 'func' | 'fwd';
  /** Size in bytes (0 for void, functions and forward declarations). */
  size: number;
  /** Signed integer or signed enum. */
  signed: boolean;
  /** Width in bits of integers, enums and pointers; 0 otherwise. */
  bits: number;
  /** A one-byte character type (char, signed char, unsigned char). */
  char: boolean;
  /** Pointee of a pointer, element of an array (unresolved id). */
  elem?: number;
  /** Array length. */
  len?: number;
}

const enc = new TextEncoder();

/** A parsed BTF blob; for split BTF (modules) ids continue after the base's and base ids resolve through the base. */
export class Btf {
  /** First type id defined by this blob (1 for vmlinux, base.nextId for a module). */
  readonly firstId: number;
  /** One past the last type id. */
  readonly nextId: number;

  private readonly words: Uint32Array;
  /** Strings as a plain Uint8Array (its indexOf is a fast builtin) and as a Buffer (for decoding). */
  private readonly strs: Uint8Array;
  private readonly strBuf: Buffer;
  private readonly offs: Uint32Array;
  private readonly kinds: Uint8Array;
  /** Name hash, see nameIndex(). */
  private readonly table: Int32Array;
  private readonly next: Int32Array;
  private readonly memo: (BtfType | undefined)[];
  private readonly fieldMaps = new Map<number, Map<string, MemberInfo>>();

  private static vmlinuxCache: Btf | undefined;
  private static moduleCache = new Map<string, Btf>();

  private constructor(buf: Buffer, readonly base?: Btf) {
    if (buf.length < 24) throw new KscopeError(`BTF blob too short (${buf.length} bytes)`);
    const magic = buf.readUInt16LE(0);
    if (magic !== MAGIC) {
      throw new KscopeError(magic === 0x9feb ? 'BTF blob has foreign byte order (big-endian)' : `not a BTF blob (magic 0x${magic.toString(16)})`);
    }
    const hdrLen = buf.readUInt32LE(4);
    const typeOff = hdrLen + buf.readUInt32LE(8), typeLen = buf.readUInt32LE(12);
    const strOff = hdrLen + buf.readUInt32LE(16), strLen = buf.readUInt32LE(20);
    if (typeOff + typeLen > buf.length || strOff + strLen > buf.length || typeOff % 4 || typeLen % 4) {
      throw new KscopeError('BTF header describes sections outside the blob or misaligned');
    }
    // Type section as 32-bit words (copy if the Buffer is not 4-byte aligned in its ArrayBuffer).
    const abs = buf.byteOffset + typeOff;
    this.words = abs % 4 === 0
      ? new Uint32Array(buf.buffer, abs, typeLen / 4)
      : new Uint32Array(buf.buffer.slice(abs, abs + typeLen));
    // Split BTF: string offsets continue after the base's strings, so prepend them.
    const own = buf.subarray(strOff, strOff + strLen);
    this.strBuf = base ? Buffer.concat([base.strBuf, own]) : own;
    this.strs = new Uint8Array(this.strBuf.buffer, this.strBuf.byteOffset, this.strBuf.length);
    this.firstId = base ? base.nextId : 1;

    ({ offs: this.offs, kinds: this.kinds } = scanTypes(this.words, this.firstId));
    this.nextId = this.firstId + this.offs.length;
    this.memo = new Array(this.offs.length);
    [this.table, this.next] = nameIndex(this.words, this.strs, this.offs, this.kinds);
  }

  /** Length of the string section, the base's included: where a split blob over this one starts its strings. */
  get stringsLength(): number {
    return this.strBuf.length;
  }

  /** Parses a raw BTF blob; pass `base` for split BTF (kernel modules). */
  static parse(buf: Buffer, base?: Btf): Btf {
    return new Btf(buf, base);
  }

  /** The running kernel's BTF (/sys/kernel/btf/vmlinux), read once per process. */
  static vmlinux(): Btf {
    return (Btf.vmlinuxCache ??= new Btf(readBtfFile('vmlinux')));
  }

  /** A kernel module's split BTF (/sys/kernel/btf/<name>) over vmlinux; cached per module. */
  static module(name: string): Btf {
    if (!/^[\w-]+$/.test(name) || name === 'vmlinux') throw new KscopeError(`invalid kernel module name '${name}'`);
    let b = Btf.moduleCache.get(name);
    if (!b) Btf.moduleCache.set(name, (b = new Btf(readBtfFile(name), Btf.vmlinux())));
    return b;
  }

  private str(off: number): string {
    if (off === 0) return '';
    let end = this.strs.indexOf(0, off);
    if (end < 0) end = this.strs.length;
    return this.strBuf.toString('latin1', off, end);
  }

  private own(id: number): boolean {
    if (id >= this.firstId && id < this.nextId) return true;
    if (id === 0 || (this.base && id < this.firstId)) return false;
    throw new KscopeError(`BTF type id ${id} out of range (1..${this.nextId - 1})`);
  }

  /** The kind number of a type without decoding it (0 for void). */
  private kindNo(id: number): number {
    if (this.own(id)) return this.kinds[id - this.firstId];
    return id === 0 ? 0 : this.base!.kindNo(id);
  }

  /** Word 2 (size or referenced type) of a type without decoding it. */
  private word2(id: number): number {
    return this.own(id) ? this.words[this.offs[id - this.firstId] + 2] : this.base!.word2(id);
  }

  /** Ids of all types with this exact name, ascending (base types first). */
  findAll(name: string): number[] {
    const b = enc.encode(name), s = this.strs, w = this.words, offs = this.offs, t = this.table, mask = (t.length >> 1) - 1;
    const h = hashName(b, 0), ids: number[] = [];
    for (let j = h & mask; t[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const head = t[2 * j + 1], off = w[offs[head - 1]];
      if (t[2 * j] !== h) continue;
      let k = 0;
      while (k < b.length && s[off + k] === b[k]) k++;
      if (k === b.length && s[off + k] === 0) {
        for (let i = head; i !== 0; i = this.next[i - 1]) ids.push(this.firstId + i - 1);
        break;
      }
    }
    ids.reverse();
    return this.base ? this.base.findAll(name).concat(ids) : ids;
  }

  /** First type with this name and one of these kinds (all kinds when none given). */
  find(name: string, ...kinds: BtfKind[]): number | undefined {
    const want = kinds.map((k) => KIND_NAMES.indexOf(k));
    return this.findAll(name).find((id) => want.length === 0 || want.includes(this.kindNo(id)));
  }

  findStruct(name: string): number | undefined { return this.find(name, 'struct'); }
  findUnion(name: string): number | undefined { return this.find(name, 'union'); }
  findFunc(name: string): number | undefined { return this.find(name, 'func'); }
  findTypedef(name: string): number | undefined { return this.find(name, 'typedef'); }
  findEnum(name: string): number | undefined { return this.find(name, 'enum', 'enum64'); }
  findVar(name: string): number | undefined { return this.find(name, 'var'); }

  /** The kind of a type, without decoding it. */
  kind(id: number): BtfKind {
    return KIND_NAMES[this.kindNo(id)];
  }

  /** The decoded type (memoised). Id 0 is void. */
  type(id: number): BtfType {
    if (!this.own(id)) return id === 0 ? VOID : this.base!.type(id);
    const i = id - this.firstId;
    return (this.memo[i] ??= this.decode(id, this.offs[i]));
  }

  private decode(id: number, p: number): BtfType {
    const w = this.words, info = w[p + 1], kindNo = (info >>> 24) & 0x1f, vlen = info & 0xffff, kflag = info >>> 31 === 1;
    const name = this.str(w[p]), x = w[p + 2], q = p + 3;
    const kind = KIND_NAMES[kindNo];
    switch (kindNo) {
      case K.INT: {
        const e = w[q];
        return { id, kind: 'int', name, size: x, bits: e & 0xff, bitOffset: (e >>> 16) & 0xff, signed: (e & 0x1000000) !== 0, char: (e & 0x2000000) !== 0, bool: (e & 0x4000000) !== 0 };
      }
      case K.PTR: case K.TYPEDEF: case K.VOLATILE: case K.CONST: case K.RESTRICT:
        return { id, kind: kind as BtfRef['kind'], name, type: x };
      case K.TYPE_TAG:
        return { id, kind: 'type_tag', name, type: x, attribute: kflag };
      case K.ARRAY:
        return { id, kind: 'array', name, type: w[q], indexType: w[q + 1], nelems: w[q + 2] };
      case K.STRUCT: case K.UNION: {
        const members: BtfMember[] = new Array(vlen);
        for (let k = 0, r = q; k < vlen; k++, r += 3) {
          const type = w[r + 1], o = w[r + 2];
          let bitOffset = kflag ? o & 0xffffff : o, bitSize = kflag ? o >>> 24 : 0;
          if (!kflag && this.kindNo(type) === K.INT) {
            // Legacy encoding: the bitfield lives in the INT's own offset/width.
            const t = this.type(type) as BtfInt;
            if (t.bitOffset || t.bits !== t.size * 8) { bitOffset += t.bitOffset; bitSize = t.bits; }
          }
          members[k] = { name: this.str(w[r]), type, bitOffset, bitSize };
        }
        return { id, kind: kind as 'struct' | 'union', name, size: x, members };
      }
      case K.ENUM: {
        const values = new Array<{ name: string; value: number }>(vlen);
        for (let k = 0, r = q; k < vlen; k++, r += 2) values[k] = { name: this.str(w[r]), value: kflag ? w[r + 1] | 0 : w[r + 1] };
        return { id, kind: 'enum', name, size: x, signed: kflag, values };
      }
      case K.ENUM64: {
        const values = new Array<{ name: string; value: bigint }>(vlen);
        for (let k = 0, r = q; k < vlen; k++, r += 3) {
          const u = (BigInt(w[r + 2]) << 32n) | BigInt(w[r + 1]);
          values[k] = { name: this.str(w[r]), value: kflag ? BigInt.asIntN(64, u) : u };
        }
        return { id, kind: 'enum64', name, size: x, signed: kflag, values };
      }
      case K.FWD:
        return { id, kind: 'fwd', name, union: kflag };
      case K.FUNC:
        return { id, kind: 'func', name, type: x, linkage: LINKAGE[vlen] ?? 'static' };
      case K.FUNC_PROTO: {
        const params: BtfParam[] = [];
        let variadic = false;
        for (let k = 0, r = q; k < vlen; k++, r += 2) {
          if (k === vlen - 1 && w[r] === 0 && w[r + 1] === 0) variadic = true;
          else params.push({ name: this.str(w[r]), type: w[r + 1] });
        }
        return { id, kind: 'func_proto', name, returnType: x, params, variadic };
      }
      case K.VAR:
        return { id, kind: 'var', name, type: x, linkage: LINKAGE[w[q]] ?? 'static' };
      case K.DATASEC: {
        const vars = new Array<{ type: number; offset: number; size: number }>(vlen);
        for (let k = 0, r = q; k < vlen; k++, r += 3) vars[k] = { type: w[r], offset: w[r + 1], size: w[r + 2] };
        return { id, kind: 'datasec', name, size: x, vars };
      }
      case K.FLOAT:
        return { id, kind: 'float', name, size: x };
      default: // K.DECL_TAG (the index pass rejected unknown kinds)
        return { id, kind: 'decl_tag', name, type: x, componentIdx: w[q] | 0, attribute: kflag };
    }
  }

  /** Skips typedef, const, volatile, restrict and type_tag. */
  resolve(id: number): number {
    for (;;) {
      const k = this.kindNo(id);
      if (k !== K.TYPEDEF && k !== K.CONST && k !== K.VOLATILE && k !== K.RESTRICT && k !== K.TYPE_TAG) return id;
      id = this.word2(id);
    }
  }

  /** sizeof in bytes, as C computes it. */
  sizeof(id: number): number {
    const r = this.resolve(id), t = this.type(r);
    switch (t.kind) {
      case 'int': case 'struct': case 'union': case 'enum': case 'enum64': case 'float': case 'datasec': return t.size;
      case 'ptr': return POINTER_SIZE;
      case 'array': return t.nelems * this.sizeof(t.type);
      case 'var': return this.sizeof(t.type);
      default: throw new KscopeError(`${this.typeName(id)} has no size (it is a ${t.kind})`);
    }
  }

  /** alignof in bytes; a struct whose layout contradicts its members' natural alignment is packed (1). */
  alignof(id: number): number {
    const t = this.type(this.resolve(id));
    switch (t.kind) {
      case 'int': case 'enum': case 'enum64': case 'float': return Math.min(t.size, 8) || 1;
      case 'ptr': return POINTER_SIZE;
      case 'array': case 'var': return this.alignof(t.type);
      case 'struct': case 'union': {
        let a = 1;
        for (const m of t.members) {
          const ma = this.alignof(m.type);
          if (m.bitSize === 0 && m.bitOffset % (ma * 8) !== 0) return 1;
          a = Math.max(a, ma);
        }
        return t.size % a === 0 ? a : 1;
      }
      default: throw new KscopeError(`${this.typeName(id)} has no alignment (it is a ${t.kind})`);
    }
  }

  /** Members of a struct/union by name, including those reached through anonymous structs/unions (memoised). */
  private fields(id: number): Map<string, MemberInfo> {
    let map = this.fieldMaps.get(id);
    if (map) return map;
    map = new Map();
    const add = (sid: number, base: number): void => {
      for (const m of (this.type(sid) as BtfComposite).members) {
        const bitOffset = base + m.bitOffset;
        if (m.name) {
          if (!map!.has(m.name)) map!.set(m.name, { offset: bitOffset >>> 3, bitOffset, bitSize: m.bitSize, typeId: m.type });
        } else {
          const r = this.resolve(m.type), k = this.kindNo(r);
          if (k === K.STRUCT || k === K.UNION) add(r, bitOffset);
        }
      }
    };
    add(id, 0);
    this.fieldMaps.set(id, map);
    return map;
  }

  /** Walks a member path ('a.b.c') through nested and anonymous structs/unions. Offsets are from the outer start. */
  member(structId: number, path: string): MemberInfo {
    let cur = structId, acc = 0, found: MemberInfo | undefined;
    for (const part of path.split('.')) {
      const r = this.resolve(cur), k = this.kindNo(r);
      if (k !== K.STRUCT && k !== K.UNION) throw new KscopeError(`${this.typeName(cur)} is not a struct or union, so it has no member '${part}'`);
      const m = this.fields(r).get(part);
      if (!m) throw new KscopeError(`${this.typeName(r)} has no member '${part}'`);
      acc += m.bitOffset;
      found = { offset: acc >>> 3, bitOffset: acc, bitSize: m.bitSize, typeId: m.typeId };
      cur = m.typeId;
    }
    if (!found) throw new KscopeError('empty member path');
    return found;
  }

  /** Arguments and return type of a kernel function (for kprobe/fentry). */
  funcArgs(funcName: string): { args: BtfArg[]; returnType: number; variadic: boolean } {
    const id = this.findFunc(funcName);
    if (id === undefined) throw new KscopeError(`kernel function '${funcName}' not found in BTF`, 'check the name in /proc/kallsyms; static or inlined functions may have no BTF');
    const p = this.type((this.type(id) as BtfFunc).type) as BtfFuncProto;
    return { args: p.params.map((a) => ({ name: a.name, typeId: a.type })), returnType: p.returnType, variadic: p.variadic };
  }

  /**
   * Arguments of a raw tracepoint (tp_btf / rawtracepoint), from `typedef btf_trace_<event>` minus its leading
   * `void *` context. BTF leaves those parameters unnamed, so names come from `__traceiter_<event>` or
   * `__probestub_<event>` (same parameters, named); `argN` when neither exists.
   */
  tracepointArgs(event: string): BtfArg[] {
    const ev = event.slice(event.indexOf(':') + 1);
    const td = this.findTypedef(`btf_trace_${ev}`);
    if (td === undefined) throw new KscopeError(`tracepoint '${event}' has no BTF (no typedef btf_trace_${ev})`, 'list raw tracepoints with: kscope -l "rawtracepoint:*"');
    const ptr = this.type(this.resolve(this.word2(td)));
    const proto = ptr.kind === 'ptr' ? this.type(ptr.type) : ptr;
    if (proto.kind !== 'func_proto') throw new KscopeError(`typedef btf_trace_${ev} is not a function pointer`);
    const named = ['__traceiter_', '__probestub_']
      .map((pre) => this.findFunc(pre + ev))
      .map((f) => (f === undefined ? undefined : (this.type((this.type(f) as BtfFunc).type) as BtfFuncProto)))
      .find((p) => p !== undefined && p.params.length === proto.params.length);
    return proto.params.slice(1).map((a, i) => ({ name: a.name || named?.params[i + 1].name || `arg${i}`, typeId: a.type }));
  }

  /** Enumerators of `enum <name>`: numbers for 32-bit enums, bigints for 64-bit ones. */
  enumValues(name: string): Map<string, number | bigint> {
    const id = this.findEnum(name);
    if (id === undefined) throw new KscopeError(`enum '${name}' not found in BTF`);
    const t = this.type(id) as BtfEnum | BtfEnum64;
    return new Map<string, number | bigint>(t.values.map((v) => [v.name, v.value]));
  }

  /** The type as C writes it in a cast: `struct task_struct *`, `const char *`, `char[16]`, `void (*)(int)`. */
  typeName(id: number): string {
    return this.declC(id, '');
  }

  /** A C declaration of `inner` (a declarator: name, `*name`, `[4]`, …) with type `id`. */
  private declC(id: number, inner: string): string {
    const t = this.type(id);
    const wrap = (s: string): string => (s.startsWith('*') ? `(${s})` : s);
    switch (t.kind) {
      case 'ptr': return this.declC(t.type, '*' + inner);
      case 'array': return this.declC(t.type, `${wrap(inner)}[${t.nelems}]`);
      case 'func_proto': return this.declC(t.returnType, `${wrap(inner)}(${this.paramsC(t, false)})`);
      case 'const': case 'volatile': case 'restrict':
        // A qualified pointer puts the qualifier after its '*'; anything else gets it in front.
        if (this.kindNo(this.resolve(t.type)) === K.PTR && this.kindNo(t.type) !== K.TYPEDEF) return this.declC(t.type, inner ? `${t.kind} ${inner}` : t.kind);
        return `${t.kind} ${this.declC(t.type, inner)}`;
      case 'type_tag': case 'decl_tag': return this.declC(t.type, inner);
      case 'func': {
        // A function declaration names its parameters.
        const p = this.type(t.type) as BtfFuncProto;
        return this.declC(p.returnType, `${t.name}(${this.paramsC(p, true)})`);
      }
      case 'var': return this.declC(t.type, t.name);
      default: {
        const base = baseName(t);
        return inner ? base + (inner.startsWith('[') ? '' : ' ') + inner : base;
      }
    }
  }

  private paramsC(p: BtfFuncProto, named: boolean): string {
    const ps = p.params.map((a) => this.declC(a.type, named ? a.name : ''));
    if (p.variadic) ps.push('...');
    return ps.join(', ') || 'void';
  }

  /** A C definition: struct/union/enum bodies with members in order and bitfield widths, typedefs, prototypes. */
  formatC(id: number): string {
    const t = this.type(id);
    switch (t.kind) {
      case 'struct': case 'union': return this.bodyC(t, 0) + ';';
      case 'enum': case 'enum64':
        return `enum ${t.name ? t.name + ' ' : ''}{\n${t.values.map((v) => `\t${v.name} = ${v.value},`).join('\n')}\n};`;
      case 'typedef': return `typedef ${this.declC(t.type, t.name)};`;
      case 'func': case 'var': return this.declC(id, '') + ';';
      default: return this.typeName(id);
    }
  }

  private bodyC(t: BtfComposite, depth: number): string {
    const ind = '\t'.repeat(depth + 1);
    const lines = t.members.map((m) => {
      const mt = this.type(m.type);
      const decl = (mt.kind === 'struct' || mt.kind === 'union') && !mt.name
        ? this.bodyC(mt, depth + 1) + (m.name ? ' ' + m.name : '')
        : this.declC(m.type, m.name);
      return `${ind}${decl}${m.bitSize ? `:${m.bitSize}` : ''};`;
    });
    return `${t.kind} ${t.name ? t.name + ' ' : ''}{\n${lines.join('\n')}\n${'\t'.repeat(depth)}}`;
  }

  /** The shape of a value of this type after typedefs and qualifiers, for code generation. */
  shape(id: number): TypeShape {
    const r = this.resolve(id), t = this.type(r);
    const s: TypeShape = { id: r, kind: 'void', size: 0, signed: false, bits: 0, char: false };
    switch (t.kind) {
      case 'int':
        return { ...s, kind: 'int', size: t.size, signed: t.signed, bits: t.bits, char: t.size === 1 && (t.char || t.name.endsWith('char')) };
      case 'enum': case 'enum64': return { ...s, kind: 'enum', size: t.size, signed: t.signed, bits: t.size * 8 };
      case 'float': return { ...s, kind: 'float', size: t.size };
      case 'ptr': return { ...s, kind: 'ptr', size: POINTER_SIZE, bits: POINTER_SIZE * 8, elem: t.type };
      case 'array': return { ...s, kind: 'array', size: this.sizeof(r), elem: t.type, len: t.nelems };
      case 'struct': case 'union': return { ...s, kind: t.kind, size: t.size };
      case 'fwd': return { ...s, kind: 'fwd' };
      case 'func': case 'func_proto': return { ...s, kind: 'func' };
      default: return s;
    }
  }
}

const VOID: BtfVoid = { id: 0, kind: 'void', name: 'void' };

function baseName(t: BtfType): string {
  switch (t.kind) {
    case 'struct': case 'union': return `${t.kind} ${t.name || '{...}'}`;
    case 'enum': case 'enum64': return `enum ${t.name || '{...}'}`;
    case 'fwd': return `${t.union ? 'union' : 'struct'} ${t.name}`;
    default: return t.name;
  }
}

/** Words after the 12-byte header of each kind: fixed, and per vlen entry; -1 marks kinds this reader does not know. */
const FIXED_WORDS = new Int8Array([-1, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
const VLEN_WORDS = new Uint8Array([0, 0, 0, 0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 3]);

/** The index pass: each type's word offset and kind. */
function scanTypes(w: Uint32Array, firstId: number): { offs: Uint32Array; kinds: Uint8Array } {
  const n = w.length, offs = new Uint32Array(Math.floor(n / 3) + 1), kinds = new Uint8Array(offs.length);
  let count = 0;
  for (let p = 0; p < n; count++) {
    const info = w[p + 1], kind = (info >>> 24) & 0x1f, fixed = kind < 20 ? FIXED_WORDS[kind] : -1;
    if (fixed < 0) throw new KscopeError(`unknown BTF kind ${kind} at type id ${firstId + count}`, 'this BTF is newer than kscope understands');
    offs[count] = p;
    kinds[count] = kind;
    p += 3 + fixed + VLEN_WORDS[kind] * (info & 0xffff);
    if (p > n) throw new KscopeError(`BTF type section truncated at type id ${firstId + count}`);
  }
  return { offs: offs.subarray(0, count), kinds: kinds.subarray(0, count) };
}

/**
 * The name hash: open addressing over pairs (hashName of the name, local index + 1 of the latest type with that
 * name); `next` chains each type to the previous one with the same name. Tags are not indexed (their names are
 * attributes, not identifiers).
 */
function nameIndex(w: Uint32Array, s: Uint8Array, offs: Uint32Array, kinds: Uint8Array): [Int32Array, Int32Array] {
  const count = offs.length;
  let cap = 1024;
  while (cap < count * 2) cap <<= 1;
  const table = new Int32Array(cap * 2), next = new Int32Array(count), mask = cap - 1;
  for (let i = 0; i < count; i++) {
    const off = w[offs[i]], kind = kinds[i];
    if (off === 0 || kind === K.DECL_TAG || kind === K.TYPE_TAG) continue;
    const h = hashName(s, off);
    for (let j = h & mask; ; j = (j + 1) & mask) {
      const head = table[2 * j + 1];
      if (head === 0) { table[2 * j] = h; table[2 * j + 1] = i + 1; break; }
      if (table[2 * j] === h && sameStr(s, w[offs[head - 1]], off)) { next[i] = head; table[2 * j + 1] = i + 1; break; }
    }
  }
  return [table, next];
}

/**
 * Polynomial hash of the NUL-terminated bytes at `off`, kept below 2^25 so every intermediate is a small integer
 * (fast even before the JIT optimises the index loop), then bit-mixed for the table index.
 */
function hashName(s: Uint8Array, off: number): number {
  let h = 0;
  for (let q = off, end = s.length; q < end; q++) {
    const c = s[q];
    if (c === 0) break;
    h = (h * 31 + c) & 0x1ffffff;
  }
  return h ^ (h >>> 13);
}

function sameStr(s: Uint8Array, a: number, b: number): boolean {
  if (a === b) return true;
  for (;; a++, b++) {
    const c = s[a];
    if (c !== s[b]) return false;
    if (c === 0) return true;
  }
}

function readBtfFile(name: string): Buffer {
  const path = `/sys/kernel/btf/${name}`;
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (name === 'vmlinux') throw new KscopeError(`cannot read kernel BTF ${path} (${code})`, 'this kernel needs CONFIG_DEBUG_INFO_BTF=y');
    throw new KscopeError(`no BTF for kernel module '${name}' (${path}: ${code})`, 'is the module loaded? (lsmod); modules need CONFIG_DEBUG_INFO_BTF_MODULES=y');
  }
}
