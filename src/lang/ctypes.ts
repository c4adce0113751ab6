/**
 * The C types a script defines before its probes (struct/union/enum definitions and typedefs), laid out as gcc
 * lays them out on x86_64 and written as split BTF over the kernel's, so the checker and codegen treat them
 * exactly as kernel types. Lookups by name find the script's type first: as in bpftrace, which keys types by
 * name, a script definition shadows the kernel type of the same name everywhere, kernel pointers to it included
 * (`struct task_struct { int x; }` makes `curtask->x` read the script's layout).
 */
import { Btf, type BtfComposite } from '../btf/btf.js';
import { BtfWriter, type BtfMemberSpec } from '../btf/writer.js';
import { pointer, enumValue, type Value } from '../output/values.js';
import type * as A from './ast.js';
import { CompileError, Diagnostic } from './diagnostics.js';
import { parseExpression } from './parser.js';
import { Source, type Range } from './source.js';

type Tag = 'struct' | 'union' | 'enum';

/** C base types: size, signedness; `char`/`bool` set BTF's encoding flags; floats are BTF FLOATs. */
const BASE: Readonly<Record<string, { size: 1 | 2 | 4 | 8 | 16; signed: boolean; char?: boolean; bool?: boolean; float?: boolean }>> = {
  char: { size: 1, signed: true, char: true },
  'signed char': { size: 1, signed: true },
  'unsigned char': { size: 1, signed: false },
  short: { size: 2, signed: true },
  'unsigned short': { size: 2, signed: false },
  int: { size: 4, signed: true },
  'unsigned int': { size: 4, signed: false },
  long: { size: 8, signed: true },
  'unsigned long': { size: 8, signed: false },
  'long long': { size: 8, signed: true },
  'unsigned long long': { size: 8, signed: false },
  _Bool: { size: 1, signed: false, bool: true },
  float: { size: 4, signed: false, float: true },
  double: { size: 8, signed: false, float: true },
  'long double': { size: 16, signed: false, float: true },
};

/** The unsigned and signed C type of each fixed width. */
const FIXED: Readonly<Record<number, [string, string]>> = {
  8: ['unsigned char', 'signed char'], 16: ['unsigned short', 'short'], 32: ['unsigned int', 'int'], 64: ['unsigned long long', 'long long'],
};

/** Type names scripts use without including a header: kernel short names, <stdint.h>, <stddef.h>, <stdbool.h>. */
const ALIASES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    Object.entries(FIXED).flatMap(([bits, [u, s]]) => [
      ...[`u${bits}`, `__u${bits}`, `uint${bits}_t`, `u_int${bits}_t`].map((n) => [n, u]),
      ...[`s${bits}`, `__s${bits}`, `int${bits}_t`].map((n) => [n, s]),
    ]),
  ),
  bool: '_Bool',
  size_t: 'unsigned long',
  ssize_t: 'long',
  uintptr_t: 'unsigned long',
  intptr_t: 'long',
  ptrdiff_t: 'long',
};

const POINTER_SIZE = 8;

interface Layout {
  size: number;
  align: number;
  /** an integer or enum (what a bitfield may be) */
  integral: boolean;
}

/** A script's own names: tags (`struct Foo`), typedefs, integer constants (enumerators, `#define`s), its first type id. */
interface ScriptNames {
  firstId: number;
  tags: Map<string, number>;
  typedefs: Map<string, number>;
  constants: Map<string, bigint>;
}

/** The types a program sees: the kernel's (vmlinux BTF) under the script's own. */
export class ProgramTypes {
  #kernel: Btf | undefined | null = null;
  constructor(
    /** vmlinux BTF (undefined when the kernel has none), loaded on first use: most one-liners never need it */
    private readonly loadKernel: () => Btf | undefined,
    /** the script's split BTF over vmlinux, when it defines types */
    private readonly script?: Btf,
    private readonly names: ScriptNames = { firstId: Infinity, tags: new Map(), typedefs: new Map(), constants: new Map() },
  ) {}

  /** vmlinux BTF, undefined when the kernel has none */
  get kernel(): Btf | undefined {
    if (this.#kernel === null) this.#kernel = this.loadKernel();
    return this.#kernel;
  }

  /** every type: the script's split BTF over vmlinux, or vmlinux itself when the script defines none */
  get btf(): Btf | undefined {
    return this.script ?? this.kernel;
  }

  /** The type `struct|union|enum name`: the script's, else the kernel's. */
  tagged(tag: Tag, name: string): number | undefined {
    const own = this.names.tags.get(`${tag} ${name}`);
    if (own !== undefined) return own;
    const k = this.kernel;
    return tag === 'struct' ? k?.findStruct(name) : tag === 'union' ? k?.findUnion(name) : k?.findEnum(name);
  }

  /** A typedef (or kernel base type) name: the script's, else the kernel's. */
  typedef(name: string): number | undefined {
    return this.names.typedefs.get(name) ?? this.kernel?.find(name, 'typedef', 'int');
  }

  /** Whether a type id is one of the script's own. */
  isScript(id: number): boolean {
    return id >= this.names.firstId;
  }

  /** A kernel struct/union (or forward declaration) replaced by the script's definition of the same name, if any. */
  shadow(id: number): number {
    if (!this.btf || this.isScript(id) || this.names.tags.size === 0) return id;
    const t = this.btf.type(id);
    if (t.kind !== 'struct' && t.kind !== 'union' && t.kind !== 'fwd') return id;
    const tag = t.kind === 'fwd' ? (t.union ? 'union' : 'struct') : t.kind;
    return this.names.tags.get(`${tag} ${t.name}`) ?? id;
  }

  /** The value of an enumerator, or of a `#define` whose text is an integer constant expression, of the script. */
  constant(name: string): bigint | undefined {
    return this.names.constants.get(name);
  }

  /**
   * Whether an array type holds a string: kernel arrays of any 1-byte integer (as bpftrace's BTF reader), script
   * arrays of plain `char` only (as its C parser: `unsigned char x[4]` / `uint8_t x[4]` are integer arrays).
   */
  isString(arrayId: number): boolean {
    const b = this.btf!;
    const a = b.type(arrayId);
    if (a.kind !== 'array') return false;
    const el = b.type(b.resolve(a.type));
    return el.kind === 'int' && el.size === 1 && (!this.isScript(arrayId) || el.name === 'char');
  }

  /**
   * A value of type `id` in `buf` at `off`, as bpftrace prints struct, union, array and scalar members (a member
   * whose struct the script redefines is read with the script's layout, as the checker types it).
   */
  decode(id: number, buf: Buffer, off: number, bitOffset = 0, bitSize = 0): Value {
    const b = this.btf!;
    const t = b.type(this.shadow(b.resolve(id)));
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64': {
        const signed = t.signed;
        let v = readInt(buf, off, t.size, signed);
        if (bitSize) {
          const raw = (readInt(buf, off, Math.ceil((bitOffset + bitSize) / 8), false) >> BigInt(bitOffset)) & ((1n << BigInt(bitSize)) - 1n);
          v = signed ? BigInt.asIntN(bitSize, raw) : raw;
        }
        if (t.kind === 'int') return v;
        const e = t.values.find((x) => BigInt(x.value) === v);
        return e ? enumValue(e.name, v) : v;
      }
      case 'ptr':
        return pointer(buf.readBigUInt64LE(off));
      case 'array': {
        if (this.isString(t.id)) {
          const end = buf.indexOf(0, off);
          return buf.toString('latin1', off, end < 0 || end > off + t.nelems ? off + t.nelems : end);
        }
        const size = b.sizeof(t.type);
        return { kind: 'array', items: Array.from({ length: t.nelems }, (_, i) => this.decode(t.type, buf, off + i * size)) };
      }
      case 'struct':
      case 'union': {
        const fields: [string, Value][] = [];
        const add = (c: BtfComposite, base: number): void => {
          for (const m of c.members) {
            const bit = base + m.bitOffset;
            const mt = b.type(b.resolve(m.type));
            if (!m.name && (mt.kind === 'struct' || mt.kind === 'union')) add(mt, bit);
            else if (m.name) fields.push([m.name, this.decode(m.type, buf, off + (bit >>> 3), bit & 7, m.bitSize)]);
          }
        };
        add(t, 0);
        return { kind: 'record', fields };
      }
      default:
        return null;
    }
  }
}

function readInt(buf: Buffer, off: number, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i] ?? 0);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Thrown inside the builder to abandon one definition after its diagnostic was recorded. */
class Abandon extends Error {}

/** Builds the script's types; see buildTypes. */
class Builder {
  readonly diags: Diagnostic[] = [];
  private readonly w: BtfWriter;
  readonly names: ScriptNames;
  /** size/alignment of the script's complete types (typedefs resolve through `typedefTarget`) */
  private readonly layouts = new Map<number, Layout>();
  private readonly typedefTarget = new Map<number, number>();
  private readonly base = new Map<string, number>();
  private readonly pointers = new Map<number, number>();
  private readonly defined = new Map<A.CTaggedType, number>();
  /** tags reserved by a pointer before (or without) their definition: forward declarations unless defined later */
  private readonly forward = new Map<string, number>();
  /** object-like `#define`s (BPFTRACE_HAVE_BTF when the kernel has BTF, as bpftrace defines it for its C parser) */
  private readonly macros = new Map<string, string>();
  private readonly expanding = new Set<string>();
  /** open `#if` groups: whether the current branch is on, whether some branch was, where the group starts */
  private readonly conditions: { on: boolean; taken: boolean; range: Range }[] = [];

  constructor(private readonly kernel: Btf | undefined) {
    this.w = new BtfWriter(kernel && { nextId: kernel.nextId, stringsLength: kernel.stringsLength });
    this.names = { firstId: this.w.firstId, tags: new Map(), typedefs: new Map(), constants: new Map() };
    if (kernel) this.macros.set('BPFTRACE_HAVE_BTF', '1');
  }

  private fail(message: string, range: Range): never {
    this.diags.push(Diagnostic.error(message, range));
    throw new Abandon();
  }

  /** Records one top-level C item (skipped inside a false `#if` branch); the first bad one is reported. */
  add(d: A.Program['cDefinitions'][number]): void {
    if (this.diags.length) return;
    try {
      if (d.kind === 'c_preprocessor') this.directive(d);
      else if (!this.conditions.every((c) => c.on)) return;
      else if (d.kind === 'c_definition') this.define(d.type);
      else this.typedef(d);
    } catch (e) {
      if (!(e instanceof Abandon)) throw e;
    }
  }

  /** `#define`/`#undef` and the conditionals `#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/`#endif`; others are ignored. */
  private directive(d: A.CPreprocessor): void {
    const [, name = '', rest = ''] = /^#\s*(\w*)\s*(.*)$/.exec(d.text) ?? [];
    const top = this.conditions[this.conditions.length - 1];
    const on = this.conditions.every((c) => c.on);
    switch (name) {
      case 'ifdef':
      case 'ifndef':
      case 'if': {
        const v = !on ? false : name === 'if' ? this.condition(rest, d.range) : this.macros.has(rest.split(/\s/)[0]!) === (name === 'ifdef');
        this.conditions.push({ on: v, taken: v, range: d.range });
        return;
      }
      case 'elif':
      case 'else':
        if (!top) this.fail(`#${name} without #if`, d.range);
        top.on = !top.taken && (name === 'else' || (this.conditions.slice(0, -1).every((c) => c.on) && this.condition(rest, d.range)));
        top.taken ||= top.on;
        return;
      case 'endif':
        if (!this.conditions.pop()) this.fail('#endif without #if', d.range);
        return;
    }
    if (!on) return;
    const m = /^([A-Za-z_]\w*)(\(?)\s*(.*)$/.exec(rest);
    if (name === 'define' && m && !m[2]) this.macros.set(m[1]!, m[3]!);
    if (name === 'undef' && m) this.macros.delete(m[1]!);
  }

  /** The value of an `#if` condition; `defined(NAME)` and `defined NAME` test `#define`s. */
  private condition(text: string, range: Range): boolean {
    // as in C, names that are no macro count as 0
    const expanded = text
      .replace(/\bdefined\s*(?:\(\s*(\w+)\s*\)|(\w+))/g, (_, a?: string, b?: string) => (this.macros.has((a ?? b)!) ? '1' : '0'))
      .replace(/\b[A-Za-z_]\w*\b/g, (n) => (this.macros.has(n) ? n : '0'));
    const v = this.evaluate(expanded);
    if (v === undefined) this.fail('invalid #if condition: expected an integer constant expression', range);
    return v !== 0n;
  }

  /** The value of a constant expression in `text` (a macro body or condition), or undefined; reports nothing. */
  private evaluate(text: string): bigint | undefined {
    const n = this.diags.length;
    try {
      return this.constant(parseExpression(new Source('macro', text.replace(/\/\/.*$/, ''))));
    } catch (e) {
      if (!(e instanceof Abandon) && !(e instanceof CompileError)) throw e;
      this.diags.length = n;
      return undefined;
    }
  }

  /**
   * The BTF of everything added (split over the kernel's; the kernel's alone when nothing was); the `#define`s
   * that are integer constants become constants. Undefined after an error.
   */
  build(): Btf | undefined {
    const open = this.conditions[0];
    if (open && !this.diags.length) this.diags.push(Diagnostic.error('unterminated conditional directive', open.range));
    if (this.diags.length) return undefined;
    for (const name of this.macros.keys()) {
      const v = this.names.constants.has(name) ? undefined : this.constantMacro(name);
      if (v !== undefined) this.names.constants.set(name, v);
    }
    if (this.w.nextId === this.w.firstId) return this.kernel;
    for (const [key, id] of this.forward) {
      const [tag, name] = key.split(' ') as [Tag, string];
      this.w.fwd(name, tag === 'union', id);
    }
    return Btf.parse(this.w.build(), this.kernel);
  }

  private typedef(d: A.CTypedef): void {
    const id = this.type(d.type, 'typedef');
    const prev = this.names.typedefs.get(d.name);
    if (prev !== undefined) {
      if (this.typedefTarget.get(prev) !== id) this.fail(`typedef redefinition with different types for '${d.name}'`, d.range);
      return;
    }
    const td = this.w.typedef(d.name, id);
    this.typedefTarget.set(td, id);
    this.names.typedefs.set(d.name, td);
  }

  /** The size and alignment of a complete type, or undefined for incomplete ones (void, forward declarations). */
  private layout(id: number): Layout | undefined {
    if (id >= this.names.firstId) {
      const target = this.typedefTarget.get(id);
      return target === undefined ? this.layouts.get(id) : this.layout(target);
    }
    const k = this.kernel;
    if (!k || id === 0) return undefined;
    const kind = k.kind(k.resolve(id));
    if (kind === 'fwd' || kind === 'void' || kind === 'func_proto') return undefined;
    return { size: k.sizeof(id), align: k.alignof(id), integral: kind === 'int' || kind === 'enum' || kind === 'enum64' };
  }

  /** How C spells a type in a message. */
  private spell(t: A.CType): string {
    switch (t.kind) {
      case 'c_named': return t.name;
      case 'c_tagged': return `${t.tag} ${t.name ?? '(anonymous)'}`;
      case 'c_pointer': return `${this.spell(t.to)} *`;
      case 'c_array': return `${this.spell(t.element)}[]`;
      case 'c_function': return `${this.spell(t.returns)} ()`;
    }
  }

  /**
   * The id of a C type. `value`: a member or array element, which must be complete; `pointee`/`typedef`: may be
   * incomplete (an unknown tag becomes a forward declaration, or the script's later definition).
   */
  private type(t: A.CType, use: 'value' | 'pointee' | 'typedef'): number {
    const id = this.typeInner(t, use);
    if (use === 'value' && !this.layout(id)) {
      this.fail(t.kind === 'c_function' ? 'field declared as a function' : `field has incomplete type '${this.spell(t)}'`, t.range);
    }
    return id;
  }

  private typeInner(t: A.CType, use: 'value' | 'pointee' | 'typedef'): number {
    switch (t.kind) {
      case 'c_named': {
        if (t.name === 'void') return 0;
        const alias = ALIASES[t.name];
        const own = BASE[t.name] ? this.baseType(t.name) : this.names.typedefs.get(t.name);
        if (own !== undefined) return own;
        const kernelId = this.kernel?.find(t.name, 'typedef', 'int');
        if (kernelId !== undefined) return kernelId;
        if (alias) return this.baseType(alias);
        return this.fail(`unknown type name '${t.name}'`, t.range);
      }
      case 'c_tagged': {
        if (t.members || t.enumerators) return this.define(t);
        const key = `${t.tag} ${t.name}`;
        const own = this.names.tags.get(key) ?? this.forward.get(key);
        if (own !== undefined) return own;
        const k = t.tag === 'struct' ? this.kernel?.findStruct(t.name!) : t.tag === 'union' ? this.kernel?.findUnion(t.name!) : this.kernel?.findEnum(t.name!);
        if (k !== undefined || use === 'value' || t.tag === 'enum') return k ?? this.fail(`field has incomplete type '${key}'`, t.range);
        const fwd = this.w.reserve();
        this.forward.set(key, fwd);
        return fwd;
      }
      case 'c_pointer': {
        const to = this.type(t.to, 'pointee');
        let p = this.pointers.get(to);
        if (p === undefined) {
          this.pointers.set(to, (p = this.w.ptr(to)));
          this.layouts.set(p, { size: POINTER_SIZE, align: POINTER_SIZE, integral: false });
        }
        return p;
      }
      case 'c_array': {
        const el = this.type(t.element, 'value');
        const n = t.length ? this.constant(t.length) : 0n;
        if (n < 0n || n > 0xffffffn) this.fail(n < 0n ? 'array has a negative size' : 'array is too large', t.length!.range);
        const { size, align } = this.layout(el)!;
        const id = this.w.array(el, this.baseType('int'), Number(n));
        this.layouts.set(id, { size: size * Number(n), align, integral: false });
        return id;
      }
      case 'c_function':
        return this.w.funcProto(this.type(t.returns, 'pointee'), []);
    }
  }

  /** A C base type (`unsigned long`), written once. */
  private baseType(name: string): number {
    let id = this.base.get(name);
    if (id === undefined) {
      const b = BASE[name]!;
      id = b.float ? this.w.float(name, b.size as 4 | 8 | 16) : this.w.int(name, b.size as 1 | 2 | 4 | 8, b.signed, { char: b.char, bool: b.bool });
      this.base.set(name, id);
      this.layouts.set(id, { size: b.size, align: b.size, integral: !b.float });
    }
    return id;
  }

  /** A struct/union/enum definition (named ones also become the script's type of that name). */
  private define(t: A.CTaggedType): number {
    const known = this.defined.get(t);
    if (known !== undefined) return known;
    const key = t.name && `${t.tag} ${t.name}`;
    if (key && this.names.tags.has(key)) this.fail(`redefinition of '${t.name}'`, t.nameRange ?? t.range);
    let id: number;
    if (key && this.forward.has(key)) {
      id = this.forward.get(key)!;
      this.forward.delete(key);
    } else id = this.w.reserve();
    if (key) this.names.tags.set(key, id);
    this.defined.set(t, id);
    if (t.tag === 'enum') this.enumBody(t, id);
    else this.compositeBody(t, id);
    return id;
  }

  private enumBody(t: A.CTaggedType, id: number): void {
    const values: { name: string; value: number }[] = [];
    let next = 0n;
    for (const e of t.enumerators!) {
      const v = e.value ? this.constant(e.value) : next;
      if (v < -(1n << 31n) || v >= 1n << 32n) this.fail('enumerator value does not fit in 32 bits', e.value?.range ?? e.range);
      if (this.names.constants.has(e.name)) this.fail(`redefinition of enumerator '${e.name}'`, e.range);
      this.names.constants.set(e.name, v);
      values.push({ name: e.name, value: Number(v) });
      next = v + 1n;
    }
    const signed = values.some((v) => v.value < 0);
    this.w.enum(t.name ?? '', 4, signed, values, id);
    this.layouts.set(id, { size: 4, align: 4, integral: true });
  }

  /**
   * Members laid out as gcc does for x86_64 (System V): each member at the next multiple of its alignment; a
   * bitfield in the next bits unless it would cross a storage unit of its declared type; `:0` skips to the next
   * unit; unnamed bitfields do not align the struct; `packed` drops alignment, `aligned(N)` raises it.
   */
  private compositeBody(t: A.CTaggedType, id: number): void {
    const union = t.tag === 'union';
    const members: BtfMemberSpec[] = [];
    let bit = 0;
    let end = 0;
    let align = 1;
    for (const m of t.members!) {
      if (!m.name && !m.bits && m.type.kind === 'c_tagged' && (m.type.enumerators || (m.type.name && m.type.members))) {
        // `struct Bar { ... };` (or an enum) inside a struct declares that type and no member
        this.define(m.type);
        continue;
      }
      const type = this.type(m.type, 'value');
      const { size, align: natural, integral } = this.layout(type)!;
      const fa = t.packed ? 1 : natural;
      let at: number;
      let width = 0;
      if (m.bits) {
        if (!integral) this.fail(`bit-field${m.name ? ` '${m.name}'` : ''} has non-integral type '${this.spell(m.type)}'`, m.type.range);
        const w = this.constant(m.bits);
        if (w < 0n) this.fail(`bit-field${m.name ? ` '${m.name}'` : ''} has negative width (${w})`, m.bits.range);
        if (w > BigInt(size * 8)) this.fail(`width of bit-field${m.name ? ` '${m.name}'` : ''} (${w} bits) exceeds the width of its type (${size * 8} bits)`, m.bits.range);
        width = Number(w);
        if (width === 0) {
          if (m.name) this.fail(`named bit-field '${m.name}' has zero width`, m.bits.range);
          if (!union) bit = roundUp(bit, natural * 8);
          continue;
        }
        const unit = size * 8;
        at = union ? 0 : t.packed || Math.floor(bit / unit) === Math.floor((bit + width - 1) / unit) ? bit : roundUp(bit, natural * 8);
        if (m.name) align = Math.max(align, fa);
        if (!union) bit = at + width;
        end = Math.max(end, at + width);
      } else {
        at = union ? 0 : roundUp(bit, fa * 8);
        if (!union) bit = at + size * 8;
        end = Math.max(end, at + size * 8);
        align = Math.max(align, fa);
      }
      if (!m.name && m.bits) continue;
      if (m.name && members.some((x) => x.name === m.name)) this.fail(`duplicate member '${m.name}'`, m.range);
      members.push({ name: m.name ?? '', type, bitOffset: at, bitSize: width });
    }
    if (t.aligned) {
      const a = this.constant(t.aligned);
      if (a <= 0n || (a & (a - 1n)) !== 0n) this.fail('requested alignment is not a power of 2', t.aligned.range);
      align = Math.max(align, Number(a));
    }
    const size = roundUp(Math.ceil(end / 8), align);
    this.w.composite(union ? 'union' : 'struct', t.name ?? '', size, members, id);
    this.layouts.set(id, { size, align, integral: false });
  }

  /** The value of a `#define` whose text is an integer constant expression (undefined for others and cycles). */
  private constantMacro(name: string): bigint | undefined {
    const body = this.macros.get(name);
    if (body === undefined || this.expanding.has(name)) return undefined;
    this.expanding.add(name);
    try {
      return this.evaluate(body);
    } finally {
      this.expanding.delete(name);
    }
  }

  /** An integer constant expression: literals, operators, enumerators, `#define`d names, sizeof. */
  private constant(e: A.Expr): bigint {
    const fail = (): never => this.fail('expression is not an integer constant expression', e.range);
    switch (e.kind) {
      case 'int':
        return e.value;
      case 'bool':
        return e.value ? 1n : 0n;
      case 'unary': {
        const v = this.constant(e.operand);
        return e.op === '-' ? -v : e.op === '~' ? ~v : e.op === '!' ? (v ? 0n : 1n) : fail();
      }
      case 'binary': {
        const l = this.constant(e.left);
        const r = this.constant(e.right);
        const ops: Record<string, () => bigint> = {
          '+': () => l + r, '-': () => l - r, '*': () => l * r, '/': () => (r ? l / r : fail()), '%': () => (r ? l % r : fail()),
          '<<': () => l << r, '>>': () => l >> r, '&': () => l & r, '|': () => l | r, '^': () => l ^ r,
          '==': () => BigInt(l === r), '!=': () => BigInt(l !== r), '<': () => BigInt(l < r), '>': () => BigInt(l > r),
          '<=': () => BigInt(l <= r), '>=': () => BigInt(l >= r), '&&': () => BigInt(!!l && !!r), '||': () => BigInt(!!l || !!r),
        };
        return ops[e.op]!();
      }
      case 'ternary':
        return this.constant(e.cond) ? this.constant(e.then ?? e.cond) : this.constant(e.else);
      case 'ident':
        return this.names.constants.get(e.name) ?? this.constantMacro(e.name) ?? fail();
      case 'sizeof': {
        const a = e.arg;
        const c: A.CType | undefined =
          a.kind === 'named_type' ? (a.tag ? { kind: 'c_tagged', range: a.range, tag: a.tag, name: a.name } : { kind: 'c_named', range: a.range, name: a.name })
          : a.kind === 'ident' ? { kind: 'c_named', range: a.range, name: a.name }
          : a.kind === 'pointer_type' ? { kind: 'c_pointer', range: a.range, to: { kind: 'c_named', range: a.range, name: 'void' } }
          : undefined;
        return c ? BigInt(this.layout(this.type(c, 'value'))!.size) : fail();
      }
      default:
        return fail();
    }
  }
}

/**
 * The program's types: its C definitions (in order, `#if` branches and `#define`s applied) built over the kernel's
 * BTF, or the kernel's alone when it defines none. Problems are diagnostics at the offending part of a definition
 * (clang's wording); the first one stops the build.
 */
export function buildTypes(program: A.Program, loadKernel: () => Btf | undefined): { types: ProgramTypes; diags: Diagnostic[] } {
  if (!program.cDefinitions.length) return { types: new ProgramTypes(loadKernel), diags: [] };
  const kernel = loadKernel();
  const b = new Builder(kernel);
  for (const d of program.cDefinitions) b.add(d);
  const btf = b.build();
  if (b.diags.length) return { types: new ProgramTypes(() => kernel), diags: b.diags };
  return { types: new ProgramTypes(() => kernel, btf, b.names), diags: [] };
}
