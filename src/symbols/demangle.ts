/**
 * Symbol demangling: C++ (Itanium C++ ABI, `_Z…`) and Rust (legacy `_ZN…17h<hash>E`, v0 `_R…`).
 * Covers what real binaries contain: nested names, templates, parameter types, std:: abbreviations,
 * substitutions, template parameters, qualifiers, operators, ctors/dtors, lambdas, clones. Anything else is
 * returned unchanged, as c++filt does for names it cannot parse. Output follows c++filt's spelling
 * (`int const&`, `std::vector<int, std::allocator<int> >`).
 */

/** Demangles a C++ or Rust symbol; returns `name` unchanged when it is not mangled or cannot be parsed. */
export function demangle(name: string): string {
  try {
    if (name.startsWith('_R')) return demangleRustV0(name) ?? name;
    if (!name.startsWith('_Z')) return name;
    const at = name.indexOf('@'); // symbol versions: _Znam@@GLIBCXX_3.4
    const base = at > 0 ? name.slice(0, at) : name;
    const out = demangleRustLegacy(base) ?? new Itanium(base).mangled();
    return out === null ? name : out + name.slice(base.length);
  } catch {
    return name;
  }
}

// ---------------------------------------------------------------- C++ (Itanium)

/** A type being built: printed as left + declarator + right so pointers to functions/arrays nest correctly. */
type Node =
  | { k: 'name'; s: string }
  | { k: 'mod'; inner: Node; q: string } // '*', '&', '&&', ' const', ' volatile', ' restrict'
  | { k: 'fn'; ret: Node | null; params: Node[]; suffix: string }
  | { k: 'array'; inner: Node; dim: string }
  | { k: 'member'; cls: Node; inner: Node }
  | { k: 'pack'; items: Node[] };

const nm = (s: string): Node => ({ k: 'name', s });

function needsParens(n: Node): boolean {
  return n.k === 'fn' || n.k === 'array';
}

function left(n: Node): string {
  switch (n.k) {
    case 'name':
      return n.s;
    case 'pack':
      return flat(n.items).map(print).join(', ');
    case 'mod':
      return needsParens(n.inner) ? `${spaced(left(n.inner))}(${n.q.trimStart()}` : left(n.inner) + n.q;
    case 'fn':
      return n.ret ? `${print(n.ret)} ` : '';
    case 'array':
      return left(n.inner);
    case 'member':
      return `${spaced(left(n.inner))}${needsParens(n.inner) ? '(' : ''}${print(n.cls)}::*`;
  }
}

function spaced(s: string): string {
  return s.endsWith(' ') ? s : s + ' ';
}

function right(n: Node): string {
  switch (n.k) {
    case 'mod':
    case 'member':
      return (needsParens(n.inner) ? ')' : '') + right(n.inner);
    case 'fn':
      return `(${params(n.params)})${n.suffix}`;
    case 'array':
      return ` [${n.dim}]${right(n.inner)}`;
    default:
      return '';
  }
}

function print(n: Node): string {
  if (n.k === 'fn' && n.ret) return `${print(n.ret)} (${params(n.params)})${n.suffix}`;
  return left(n) + right(n);
}

/** Expands argument packs in place (an empty pack contributes nothing). */
function flat(ns: Node[]): Node[] {
  return ns.flatMap((n) => (n.k === 'pack' ? flat(n.items) : [n]));
}

function params(ps: Node[]): string {
  const f = flat(ps);
  return f.length === 1 && f[0].k === 'name' && f[0].s === 'void' ? '' : f.map(print).join(', ');
}

function templateArgs(args: Node[]): string {
  const s = flat(args).map(print).join(', ');
  return `<${s}${s.endsWith('>') ? ' ' : ''}>`;
}

const BUILTIN: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short',
  t: 'unsigned short', i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long',
  y: 'unsigned long long', n: '__int128', o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double',
  g: '__float128', z: '...',
};
const BUILTIN_D: Record<string, string> = {
  d: 'decimal64', e: 'decimal128', f: 'decimal32', h: 'half', i: 'char32_t', s: 'char16_t', u: 'char8_t',
  a: 'auto', c: 'decltype(auto)', n: 'decltype(nullptr)',
};
const CHAR_TRAITS = 'char, std::char_traits<char>';
/** std:: abbreviations, spelled out in full as c++filt does, with the name a ctor/dtor of them takes. */
const STD_SUBST: Record<string, [string, string]> = {
  a: ['std::allocator', 'allocator'],
  b: ['std::basic_string', 'basic_string'],
  s: [`std::basic_string<${CHAR_TRAITS}, std::allocator<char> >`, 'basic_string'],
  i: [`std::basic_istream<${CHAR_TRAITS} >`, 'basic_istream'],
  o: [`std::basic_ostream<${CHAR_TRAITS} >`, 'basic_ostream'],
  d: [`std::basic_iostream<${CHAR_TRAITS} >`, 'basic_iostream'],
};
const OPERATORS: Record<string, string> = {
  nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', ps: '+', ng: '-', ad: '&', de: '*', co: '~', pl: '+',
  mi: '-', ml: '*', dv: '/', rm: '%', an: '&', or: '|', eo: '^', aS: '=', pL: '+=', mI: '-=', mL: '*=', dV: '/=',
  rM: '%=', aN: '&=', oR: '|=', eO: '^=', ls: '<<', rs: '>>', lS: '<<=', rS: '>>=', eq: '==', ne: '!=', lt: '<',
  gt: '>', le: '<=', ge: '>=', ss: '<=>', nt: '!', aa: '&&', oo: '||', pp: '++', mm: '--', cm: ',', pm: '->*',
  pt: '->', cl: '()', ix: '[]', qu: '?',
};

class Fail extends Error {}

/** A parsed name: its printed form, the last component (for ctor/dtor names), whether it ends in template args. */
interface Name {
  s: string;
  last: string;
  template: boolean;
  ctorDtor: boolean;
  cv: string; // member function qualifiers from N [K][V][r] [R|O]
}

class Itanium {
  private p = 0;
  private subs: Node[] = [];
  private tmpl: Node[] = [];
  private packIndex = -1;
  private packSeen?: Node;

  constructor(private readonly s: string) {}

  /** `_Z <encoding> [.clone-suffix]*`, or null when the whole input was not consumed. */
  mangled(): string | null {
    this.p = 2;
    let out = this.encoding(true);
    while (this.peek() === '.') {
      const m = /^\.[A-Za-z_]+(\.\d+)*/.exec(this.s.slice(this.p));
      if (!m) break;
      out += ` [clone ${m[0]}]`;
      this.p += m[0].length;
    }
    return this.p === this.s.length ? out : null;
  }

  private peek(o = 0): string {
    return this.s[this.p + o] ?? '';
  }

  private eat(str: string): boolean {
    if (!this.s.startsWith(str, this.p)) return false;
    this.p += str.length;
    return true;
  }

  private expect(str: string): void {
    if (!this.eat(str)) throw new Fail();
  }

  private number(): number {
    const m = /^n?\d+/.exec(this.s.slice(this.p, this.p + 24));
    if (!m) throw new Fail();
    this.p += m[0].length;
    return m[0][0] === 'n' ? -Number(m[0].slice(1)) : Number(m[0]);
  }

  /** `<seq-id> _`: base 36, absent = 0, otherwise value + 1. */
  private seqId(): number {
    if (this.eat('_')) return 0;
    const m = /^[0-9A-Z]+_/.exec(this.s.slice(this.p, this.p + 16));
    if (!m) throw new Fail();
    this.p += m[0].length;
    return parseInt(m[0].slice(0, -1), 36) + 1;
  }

  /** <encoding>; `nameOnly` drops the parameter list (c++filt prints `&f`, not `&f(int)`, in template args). */
  private encoding(top: boolean, form: 'full' | 'noReturn' | 'nameOnly' = 'full'): string {
    const special = this.specialName();
    if (special !== null) return special;
    const saved = this.tmpl;
    try {
      return this.functionEncoding(form);
    } finally {
      if (!top) this.tmpl = saved;
    }
  }

  private functionEncoding(form: 'full' | 'noReturn' | 'nameOnly'): string {
    const name = this.name(true);
    const c = this.peek();
    if (c === '' || c === 'E' || c === '.') return name.s;
    // Template functions (not ctors/dtors/conversions) encode their return type first.
    const ret = name.template && !name.ctorDtor && !name.s.includes('::operator ') ? this.type() : null;
    const ps: Node[] = [];
    while (this.p < this.s.length && this.peek() !== 'E' && this.peek() !== '.') ps.push(this.type());
    if (form === 'nameOnly') return name.s;
    return `${ret && form === 'full' ? print(ret) + ' ' : ''}${name.s}(${params(ps)})${name.cv}`;
  }

  private specialName(): string | null {
    const two = this.s.slice(this.p, this.p + 2);
    const simple: Record<string, string> = {
      TV: 'vtable for ', TT: 'VTT for ', TI: 'typeinfo for ', TS: 'typeinfo name for ',
    };
    if (simple[two]) {
      this.p += 2;
      return simple[two] + print(this.type());
    }
    const byName: Record<string, string> = { GV: 'guard variable for ', TW: 'TLS wrapper function for ', TH: 'TLS init function for ' };
    if (byName[two]) {
      this.p += 2;
      return byName[two] + this.name(false).s;
    }
    if (two === 'GR') {
      this.p += 2;
      const n = this.name(false).s;
      const id = this.p < this.s.length ? this.seqId() : 0;
      return `reference temporary #${id} for ${n}`;
    }
    if (two === 'Th' || two === 'Tv') {
      this.p += 2;
      this.callOffset(two[1]);
      return `${two === 'Th' ? 'non-virtual' : 'virtual'} thunk to ${this.encoding(false)}`;
    }
    if (two === 'Tc') {
      this.p += 2;
      this.callOffset(this.s[this.p++]);
      this.callOffset(this.s[this.p++]);
      return `covariant return thunk to ${this.encoding(false)}`;
    }
    return null;
  }

  private callOffset(kind: string): void {
    this.number();
    if (kind === 'v') {
      this.expect('_');
      this.number();
    }
    this.expect('_');
  }

  /** <name>: nested, local, unscoped (possibly templated, possibly std::). */
  private name(top: boolean): Name {
    const c = this.peek();
    if (c === 'N') return this.nested(top);
    if (c === 'Z') {
      this.p++;
      const enc = this.encoding(false, 'noReturn'); // c++filt omits the return type of the enclosing function
      this.expect('E');
      let inner: Name;
      if (this.eat('s')) inner = { s: 'string literal', last: '', template: false, ctorDtor: false, cv: '' };
      else inner = this.name(top);
      this.discriminator();
      return { ...inner, s: `${enc}::${inner.s}` };
    }
    let s: string;
    let last: string;
    if (c === 'S' && this.peek(1) !== 't') {
      const sub = this.substitution();
      s = print(sub.node);
      last = sub.last;
      if (this.peek() !== 'I') throw new Fail();
    } else {
      const std = this.eat('St');
      const u = this.unqualified('');
      s = (std ? 'std::' : '') + u.s;
      last = u.s;
      if (this.peek() === 'I') this.subs.push(nm(s));
    }
    if (this.peek() === 'I') {
      const args = this.templateArgs();
      if (top) this.tmpl = args;
      return { s: s + (s.endsWith('<') ? ' ' : '') + templateArgs(args), last, template: true, ctorDtor: false, cv: '' };
    }
    return { s, last, template: false, ctorDtor: false, cv: '' };
  }

  private discriminator(): void {
    if (this.eat('__')) {
      this.number();
      this.expect('_');
    } else if (this.peek() === '_' && /\d/.test(this.peek(1))) this.p += 2;
  }

  /** N [cv] [ref] <prefix>* <unqualified-name> E; every proper prefix is a substitution candidate. */
  private nested(top: boolean, asType = false): Name {
    this.expect('N');
    let cv = '';
    for (;;) {
      if (this.eat('r')) cv = ' restrict' + cv;
      else if (this.eat('V')) cv = ' volatile' + cv;
      else if (this.eat('K')) cv = ' const' + cv;
      else break;
    }
    // c++filt prints cv then ref-qualifier: `f() const &`.
    if (this.eat('R')) cv += ' &';
    else if (this.eat('O')) cv += ' &&';
    let s = '';
    let last = '';
    let template = false;
    let ctorDtor = false;
    let fromSub = false; // a substitution is not a new candidate
    while (!this.eat('E')) {
      if (this.p >= this.s.length) throw new Fail();
      if (s && !fromSub) this.subs.push(nm(s)); // the prefix so far, before it is extended
      fromSub = false;
      const c = this.peek();
      if (c === 'I') {
        if (!s) throw new Fail();
        const args = this.templateArgs();
        if (top) this.tmpl = args;
        s += (s.endsWith('<') ? ' ' : '') + templateArgs(args);
        template = true;
        continue;
      }
      template = false;
      ctorDtor = false;
      if (c === 'S' && !s) {
        if (this.peek(1) === 't') {
          this.p += 2;
          last = this.unqualified('').s;
          s = 'std::' + last;
        } else {
          const sub = this.substitution();
          s = print(sub.node);
          last = sub.last;
          fromSub = true;
        }
        continue;
      }
      if (c === 'T' && !s) {
        s = last = print(this.templateParam());
        continue;
      }
      const u = this.unqualified(last);
      ctorDtor = u.ctorDtor;
      s = s ? `${s}::${u.s}` : u.s;
      if (!u.ctorDtor) last = u.s;
    }
    if (asType) this.subs.push(nm(s));
    return { s, last, template, ctorDtor, cv };
  }

  /** An unqualified name: source name, operator, ctor/dtor (named after `enclosing`), unnamed type, lambda. */
  private unqualified(enclosing: string): { s: string; ctorDtor: boolean } {
    const c = this.peek();
    let s: string;
    let ctorDtor = false;
    if (/\d/.test(c)) s = this.sourceName();
    else if (c === 'C' && /[1-5I]/.test(this.peek(1))) {
      this.p += 2;
      if (this.s[this.p - 1] === 'I') {
        this.p++;
        this.type();
      }
      s = baseName(enclosing);
      ctorDtor = true;
    } else if (c === 'D' && /[0-5]/.test(this.peek(1))) {
      this.p += 2;
      s = '~' + baseName(enclosing);
      ctorDtor = true;
    } else if (c === 'U' && this.peek(1) === 't') {
      this.p += 2;
      s = `{unnamed type#${this.peek() === '_' ? 1 : this.number() + 2}}`;
      this.expect('_');
    } else if (c === 'U' && this.peek(1) === 'l') {
      this.p += 2;
      const ps: Node[] = [];
      while (!this.eat('E')) ps.push(this.type());
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.expect('_');
      s = `{lambda(${params(ps)})#${n}}`;
    } else if (c === 'L') {
      this.p++; // internal-linkage marker
      return this.unqualified(enclosing);
    } else s = this.operatorName();
    while (this.eat('B')) s += `[abi:${this.sourceName()}]`;
    return { s, ctorDtor };
  }

  private sourceName(): string {
    const len = this.number();
    if (len <= 0 || this.p + len > this.s.length) throw new Fail();
    const id = this.s.slice(this.p, this.p + len);
    this.p += len;
    return /^_GLOBAL_[._$]N/.test(id) ? '(anonymous namespace)' : id;
  }

  private operatorName(): string {
    const two = this.s.slice(this.p, this.p + 2);
    if (two === 'cv') {
      this.p += 2;
      return `operator ${print(this.type())}`;
    }
    if (two === 'li') {
      this.p += 2;
      return `operator"" ${this.sourceName()}`;
    }
    const op = OPERATORS[two];
    if (!op) throw new Fail();
    this.p += 2;
    return /^[a-z]/.test(op) ? `operator ${op}` : `operator${op}`;
  }

  private substitution(): { node: Node; last: string } {
    this.expect('S');
    const std = STD_SUBST[this.peek()];
    if (std) {
      this.p++;
      return { node: nm(std[0]), last: std[1] };
    }
    const id = this.seqId();
    const node = this.subs[id];
    if (!node) throw new Fail();
    const printed = print(node);
    return { node, last: baseName(printed) };
  }

  private templateParam(): Node {
    this.expect('T');
    const arg = this.tmpl[this.seqId()];
    if (!arg) throw new Fail();
    if (arg.k !== 'pack') return arg;
    this.packSeen = arg;
    return this.packIndex >= 0 ? (flat(arg.items)[this.packIndex] ?? nm('')) : arg;
  }

  /** Dp <pattern>: the pattern once per element of the pack it mentions (c++filt prints `A&&, B&`). */
  private packExpansion(): Node {
    const start = this.p, outer = this.packSeen;
    this.packSeen = undefined;
    const first = this.type();
    const pack = this.packSeen as Node | undefined;
    this.packSeen = outer;
    if (pack?.k !== 'pack' || this.packIndex >= 0) return nm(print(first) + '...');
    const end = this.p, subs = this.subs.slice();
    const items: Node[] = [];
    for (let i = 0; i < flat(pack.items).length; i++) {
      this.p = start;
      this.packIndex = i;
      items.push(this.type());
    }
    this.packIndex = -1;
    this.p = end;
    this.subs = subs;
    return { k: 'pack', items };
  }

  private templateArgs(): Node[] {
    this.expect('I');
    const args: Node[] = [];
    while (!this.eat('E')) args.push(this.templateArg());
    return args;
  }

  private templateArg(): Node {
    const c = this.peek();
    if (c === 'L') return this.literal();
    if (c === 'X') {
      this.p++;
      const e = this.expression();
      this.expect('E');
      return e;
    }
    if (c === 'J') {
      this.p++;
      const items: Node[] = [];
      while (!this.eat('E')) items.push(this.templateArg());
      return { k: 'pack', items };
    }
    return this.type();
  }

  /** The small expression subset that appears in real template arguments. */
  private expression(): Node {
    if (this.peek() === 'L') return this.literal();
    if (this.peek() === 'T') return this.templateParam();
    if (this.eat('ad')) return nm('&' + print(this.expression()));
    throw new Fail();
  }

  /** L <type> <value> E | L _Z <encoding> E */
  private literal(): Node {
    this.expect('L');
    if (this.eat('_Z')) {
      const e = this.encoding(false, 'nameOnly');
      this.expect('E');
      return nm(e);
    }
    const t = print(this.type());
    const m = /^n?[0-9a-f]*/.exec(this.s.slice(this.p))!;
    this.p += m[0].length;
    this.expect('E');
    const v = m[0].replace(/^n/, '-');
    if (t === 'bool') return nm(v === '0' ? 'false' : 'true');
    const suffix: Record<string, string> = { int: '', 'unsigned int': 'u', long: 'l', 'unsigned long': 'ul', 'long long': 'll', 'unsigned long long': 'ull' };
    return nm(t in suffix ? v + suffix[t] : `(${t})${v}`);
  }

  private type(): Node {
    const c = this.peek();
    const start = this.p;
    if (BUILTIN[c]) {
      this.p++;
      return nm(BUILTIN[c]);
    }
    if (c === 'D' && BUILTIN_D[this.peek(1)]) {
      this.p += 2;
      return nm(BUILTIN_D[this.s[this.p - 1]]);
    }
    if (c === 'u') {
      this.p++;
      return nm(this.sourceName());
    }
    let node: Node;
    switch (c) {
      case 'r':
      case 'V':
      case 'K': {
        let q = '';
        while (/[rVK]/.test(this.peek())) q = ({ r: ' restrict', V: ' volatile', K: ' const' } as Record<string, string>)[this.s[this.p++]] + q;
        const inner = this.type();
        node = inner.k === 'fn' ? { ...inner, suffix: inner.suffix + q } : { k: 'mod', inner, q };
        break;
      }
      case 'P':
        this.p++;
        node = { k: 'mod', inner: this.type(), q: '*' };
        break;
      case 'R':
      case 'O': {
        this.p++;
        const inner = this.type();
        // Reference collapsing (T_ = X& in T_&&): only && applied to && stays &&.
        if (inner.k === 'mod' && (inner.q === '&' || inner.q === '&&'))
          node = { ...inner, q: c === 'O' && inner.q === '&&' ? '&&' : '&' };
        else node = { k: 'mod', inner, q: c === 'R' ? '&' : '&&' };
        break;
      }
      case 'F': {
        this.p++;
        this.eat('Y');
        const ret = this.type();
        const ps: Node[] = [];
        let suffix = '';
        while (!this.eat('E')) {
          if (this.eat('RE')) { suffix = ' &'; break; }
          if (this.eat('OE')) { suffix = ' &&'; break; }
          ps.push(this.type());
        }
        node = { k: 'fn', ret, params: ps, suffix };
        break;
      }
      case 'A': {
        this.p++;
        let dim = '';
        if (/\d/.test(this.peek())) dim = String(this.number());
        this.expect('_');
        node = { k: 'array', inner: this.type(), dim };
        break;
      }
      case 'M': {
        this.p++;
        const cls = this.type();
        node = { k: 'member', cls, inner: this.type() };
        break;
      }
      case 'T': {
        node = this.templateParam();
        this.subs.push(node);
        if (this.peek() === 'I') node = nm(print(node) + templateArgs(this.templateArgs()));
        else return node;
        break;
      }
      case 'S': {
        if (this.peek(1) === 't') {
          this.p += 2;
          const u = this.unqualified('');
          node = nm('std::' + u.s);
          if (this.peek() === 'I') {
            this.subs.push(node);
            node = nm(print(node) + templateArgs(this.templateArgs()));
          }
          break;
        }
        const sub = this.substitution().node;
        if (this.peek() !== 'I') return sub; // a plain substitution is not itself a new candidate
        node = nm(print(sub) + templateArgs(this.templateArgs()));
        break;
      }
      case 'N':
        return nm(this.nested(false, true).s);
      case 'D':
        if (this.peek(1) === 'p') {
          this.p += 2;
          node = this.packExpansion();
          break;
        }
        throw new Fail();
      default: {
        if (!/[\dZL]/.test(c) && !(c === 'U' && /[tl]/.test(this.peek(1)))) throw new Fail();
        node = nm(this.name(false).s);
      }
    }
    if (this.p === start) throw new Fail();
    this.subs.push(node);
    return node;
  }
}

/** The last component of a qualified name without template arguments: `std::vector<int>` → `vector`. */
function baseName(s: string): string {
  let depth = 0;
  let end = s.length;
  for (let i = s.length - 1; i >= 0; i--) {
    const ch = s[i];
    if (ch === '>') {
      if (depth === 0) end = i;
      depth++;
    } else if (ch === '<') {
      depth--;
      if (depth === 0) end = i;
    } else if (depth === 0 && ch === ':' && s[i - 1] === ':') return s.slice(i + 1, end).trimEnd();
  }
  return s.slice(0, end).trimEnd();
}

// ---------------------------------------------------------------- Rust

const RUST_ESCAPES: Record<string, string> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };

/** Rust legacy mangling: `_ZN` source names `17h<16 hex>E`, `$..$` escapes; the hash is dropped. */
function demangleRustLegacy(name: string): string | null {
  const sym = name.replace(/\.llvm\.\d+$/, '');
  if (!sym.startsWith('_ZN') || !/17h[0-9a-f]{16}E$/.test(sym)) return null;
  const parts: string[] = [];
  let p = 3;
  while (sym[p] !== 'E') {
    const m = /^\d+/.exec(sym.slice(p));
    if (!m) return null;
    p += m[0].length;
    const len = Number(m[0]);
    parts.push(sym.slice(p, p + len));
    p += len;
  }
  if (p !== sym.length - 1) return null;
  parts.pop(); // h<hash>
  return parts.map(unescapeRust).join('::');
}

function unescapeRust(s: string): string {
  if (s.startsWith('_$')) s = s.slice(1);
  return s
    .replace(/\$([A-Z]+|u[0-9a-f]+)\$/g, (all, e: string) =>
      e[0] === 'u' ? String.fromCodePoint(parseInt(e.slice(1), 16)) : (RUST_ESCAPES[e] ?? all))
    .replace(/\.\./g, '::');
}

const RUST_BASIC: Record<string, string> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32', m: 'u32',
  n: 'i128', o: 'u128', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!', p: '_',
};

/** Rust v0 mangling (`_R`): paths, generic arguments, common types; disambiguators and crate hashes dropped. */
function demangleRustV0(name: string): string | null {
  let p = 2;
  const s = name;
  const fail = (): never => {
    throw new Fail();
  };
  const base62 = (): number => {
    if (s[p] === '_') {
      p++;
      return 0;
    }
    let v = 0;
    while (s[p] !== '_') {
      const c = s[p++] ?? fail();
      const d = /\d/.test(c) ? +c : /[a-z]/.test(c) ? c.charCodeAt(0) - 87 : /[A-Z]/.test(c) ? c.charCodeAt(0) - 29 : fail();
      v = v * 62 + d;
    }
    p++;
    return v + 1;
  };
  const disambiguator = (): number => (s[p] === 's' ? (p++, base62() + 1) : 0);
  const ident = (): string => identDis()[1];
  const identDis = (): [number, string] => {
    const dis = disambiguator();
    const puny = s[p] === 'u' ? (p++, true) : false;
    const m = /^\d+/.exec(s.slice(p)) ?? fail();
    p += m[0].length;
    if (s[p] === '_') p++;
    const out = s.slice(p, p + Number(m[0]));
    p += Number(m[0]);
    return [dis, puny ? `punycode{${out}}` : out];
  };
  const backref = <T>(f: () => T): T => {
    const target = base62() + 2;
    const saved = p;
    p = target;
    const r = f();
    p = saved;
    return r;
  };
  const generic = (): string => {
    if (s[p] === 'L') { p++; base62(); return "'_"; }
    if (s[p] === 'K') { p++; return konst(); }
    return type();
  };
  const konst = (): string => {
    if (s[p] === 'B') { p++; return backref(konst); }
    if (s[p] === 'p') { p++; return '_'; }
    const t = RUST_BASIC[s[p++]] ?? fail();
    const neg = s[p] === 'n' ? (p++, '-') : '';
    const m = /^[0-9a-f]*_/.exec(s.slice(p)) ?? fail();
    p += m[0].length;
    const v = BigInt('0x' + (m[0].slice(0, -1) || '0'));
    return t === 'bool' ? String(v !== 0n) : t === 'char' ? `'${String.fromCodePoint(Number(v))}'` : neg + v;
  };
  const type = (): string => {
    const c = s[p];
    if (RUST_BASIC[c]) { p++; return RUST_BASIC[c]; }
    p++;
    switch (c) {
      case 'R': case 'Q':
        if (s[p] === 'L') { p++; base62(); }
        return (c === 'R' ? '&' : '&mut ') + type();
      case 'P': return '*const ' + type();
      case 'O': return '*mut ' + type();
      case 'A': { const t = type(); return `[${t}; ${konst()}]`; }
      case 'S': return `[${type()}]`;
      case 'T': { const ts: string[] = []; while (s[p] !== 'E') ts.push(type()); p++; return `(${ts.join(', ')}${ts.length === 1 ? ',' : ''})`; }
      case 'B': return backref(type);
      default: p--; return path();
    }
  };
  const path = (): string => {
    const c = s[p++];
    switch (c) {
      case 'C': return ident();
      case 'N': {
        const ns = s[p++];
        const parent = path();
        const [dis, id] = identDis();
        if (ns === 'C') return `${parent}::{closure${id ? ':' + id : ''}#${dis}}`;
        if (ns === 'S') return `${parent}::{shim${id ? ':' + id : ''}#${dis}}`;
        return id ? `${parent}::${id}` : parent;
      }
      case 'M': disambiguator(); path(); return `<${type()}>`;
      case 'X': { disambiguator(); path(); const t = type(); return `<${t} as ${path()}>`; }
      case 'Y': { const t = type(); return `<${t} as ${path()}>`; }
      case 'I': {
        const base = path();
        const args: string[] = [];
        while (s[p] !== 'E') args.push(generic());
        p++;
        return `${base}::<${args.join(', ')}>`;
      }
      case 'B': return backref(path);
      default: return fail();
    }
  };
  try {
    if (/\d/.test(s[p])) while (/\d/.test(s[p])) p++; // encoding version
    const out = path();
    return out;
  } catch {
    return null;
  }
}
