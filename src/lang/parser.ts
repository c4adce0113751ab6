/**
 * Recursive-descent parser for the bpftrace language (current upstream grammar): program structure
 * (shebang, C definitions, config, imports, probes, macros, `fn` subprograms, map declarations),
 * statements and C-precedence expressions. Stops at the first error with a CompileError whose
 * diagnostic uses bpftrace's wording ("syntax: expected ';'") at the offending token.
 */
import type * as A from './ast.js';
import { BUILTIN_TYPES, isBuiltin } from './ast.js';
import { CompileError, Diagnostic } from './diagnostics.js';
import { Scanner, syntaxError, type Token } from './scanner.js';
import type { Range, Source } from './source.js';

/** Binary operator precedence, low to high (ternary sits below all of them). */
const PRECEDENCE: Readonly<Record<string, number>> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7,
  '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};
const COMPOUND = new Set(['+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const EXPR_START_PUNCT = new Set(['(', '-', '--', '!', '~', '*', '&']);

/** Words that make up C base types. */
const C_BASE_WORDS = new Set(['void', 'char', 'short', 'int', 'long', 'signed', 'unsigned', '_Bool', 'float', 'double']);
/** Qualifiers (and storage classes) a C definition may carry; they do not change a type's layout. */
const C_QUALIFIERS = new Set(['const', 'volatile', 'restrict', '__restrict', '__restrict__', '__volatile__', '__const', 'static', 'extern', 'register', 'inline', '__extension__']);

/** The canonical name of a C base type from its specifier words (`long unsigned int` → `unsigned long`), or undefined. */
export function cBaseName(words: string[]): string | undefined {
  const count = (w: string) => words.filter((x) => x === w).length;
  const [signed, unsigned, ints, longs] = [count('signed'), count('unsigned'), count('int'), count('long')];
  const rest = words.filter((w) => !['signed', 'unsigned', 'int', 'long'].includes(w));
  if (signed + unsigned > 1 || ints > 1 || longs > 2 || rest.length > 1) return undefined;
  const sign = unsigned ? 'unsigned ' : '';
  const core = rest[0];
  if (core === undefined) return `${sign}${['int', 'long', 'long long'][longs]}`;
  if (core === 'short' && !longs) return `${sign}short`;
  if (core === 'char' && !longs && !ints) return signed ? 'signed char' : `${sign}char`;
  if (signed || unsigned || ints) return undefined;
  if (core === 'double' && longs <= 1) return longs ? 'long double' : 'double';
  return longs ? undefined : core;
}

/** Canonical provider names and their aliases (matched exactly first, then case-insensitively). */
const PROVIDERS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    kprobe: ['k'], kretprobe: ['kr'], uprobe: ['u'], uretprobe: ['ur'], usdt: ['U'], begin: [], end: [], self: [],
    test: [], bench: [], tracepoint: ['t'], profile: ['p'], interval: ['i'], software: ['s'], hardware: ['h'],
    watchpoint: ['w'], fentry: ['f', 'kfunc'], fexit: ['fr', 'kretfunc'], iter: ['it'], rawtracepoint: ['rt'],
  }).flatMap(([name, aliases]) => [[name, name], ...aliases.map((a): [string, string] => [a, name])]),
);

/** The canonical provider for a name or alias (`t` → `tracepoint`, `BEGIN` → `begin`), or undefined. */
export function canonicalProvider(name: string): string | undefined {
  return PROVIDERS.get(name) ?? PROVIDERS.get(name.toLowerCase());
}

export interface AttachPointParts {
  /** User-provided probe name (`name=provider:...`). */
  name?: string;
  /** Canonical provider, or the provider text itself when it contains a wildcard. */
  provider: string;
  /** The `:`-separated parts after the provider, quotes removed; an unquoted `@` adds a part "@". */
  parts: string[];
}

/**
 * Splits a raw attach point into provider and parts the way bpftrace does, substituting unquoted `$N`
 * with positional parameter N (1-based; missing ones are empty). Returns an error message on failure.
 */
export function splitAttachPoint(raw: string, params: readonly string[] = []): AttachPointParts | string {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if ((c === ':' || c === '@') && !quoted) {
      parts.push(cur);
      cur = '';
      if (c === '@') parts.push('@');
    } else if (c === '"') quoted = !quoted;
    else if (quoted && c === '\\' && i + 1 < raw.length) cur += raw[++i];
    else if (!quoted && c === '$') {
      const m = /^[1-9]\d*/.exec(raw.slice(i + 1));
      if (!m) {
        const next = raw[i + 1] ?? '';
        return `invalid trailing character for positional param: ${next}. Try quoting this entire part if this is intentional e.g. "$${next}".`;
      }
      cur += params[Number(m[0]) - 1] ?? '';
      i += m[0].length;
    } else cur += c;
  }
  parts.push(cur);
  let front = parts.shift() ?? '';
  let name: string | undefined;
  const eq = front.indexOf('=');
  if (eq >= 0 && eq !== front.length - 1) {
    name = front.slice(0, eq);
    front = front.slice(eq + 1);
  }
  if (front === '') return 'Invalid attachpoint definition';
  if (/[*?[]/.test(front)) return { name, provider: front, parts };
  const provider = canonicalProvider(front);
  if (!provider) return `Invalid probe type: ${front}`;
  return { name, provider, parts };
}

class Parser {
  private readonly scanner: Scanner;
  private pos = 0;
  private prevEnd = 0;
  private cur: Token | undefined;

  constructor(private readonly source: Source) {
    this.scanner = new Scanner(source);
  }

  // ------------------------------------------------------------------------------------------ token helpers

  private peek(): Token {
    return (this.cur ??= this.scanner.scan(this.pos));
  }

  /** The token after the current one (code mode). */
  private peek2(): Token {
    return this.scanner.scan(this.peek().end);
  }

  private take(tok: Token): Token {
    if (tok.error) throw new CompileError(tok.error, this.source);
    this.pos = this.prevEnd = tok.end;
    this.cur = undefined;
    return tok;
  }

  private next(): Token {
    return this.take(this.peek());
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private isKeyword(text: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === text;
  }

  private eat(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.next();
    return true;
  }

  private expect(text: string): Token {
    if (!this.isPunct(text)) this.fail(`expected '${text}'`);
    return this.next();
  }

  private expectKind<K extends Token['kind']>(kind: K, message: string): Token & { kind: K } {
    if (this.peek().kind !== kind) this.fail(message);
    return this.next() as Token & { kind: K };
  }

  private from(start: number): Range {
    return { start, end: Math.max(start, this.prevEnd) };
  }

  /** Throws a syntax error at `range`, by default at the current token (a token's own scan error wins). */
  private fail(message: string, range?: Range): never {
    const t = this.peek();
    if (!range && t.error) throw new CompileError(t.error, this.source);
    const r = range ?? tokenErrorRange(t);
    throw new CompileError(syntaxError(message, r.start, r.end), this.source);
  }

  /** Runs `fn`; on undefined or a CompileError, rewinds and returns undefined (bounded backtracking). */
  private speculate<T>(fn: () => T | undefined): T | undefined {
    const [pos, prevEnd] = [this.pos, this.prevEnd];
    let result: T | undefined;
    try {
      result = fn();
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
    }
    if (result === undefined) {
      [this.pos, this.prevEnd, this.cur] = [pos, prevEnd, undefined];
    }
    return result;
  }

  // ------------------------------------------------------------------------------------------ program

  parseProgram(): A.Program {
    const program: A.Program = {
      kind: 'program', range: { start: 0, end: this.source.text.length }, shebang: undefined,
      cDefinitions: [], config: undefined, imports: [], mapDecls: [], macros: [], subprogs: [], probes: [],
    };
    const first = this.peek();
    if (first.kind === 'preprocessor' && first.text.startsWith('#!')) program.shebang = this.next().text;
    for (;;) {
      if (this.peek().kind === 'preprocessor') program.cDefinitions.push(this.cPreprocessor());
      else if (this.looksLikeCDefinition()) program.cDefinitions.push(this.cDefinition());
      else if (this.isKeyword('typedef')) program.cDefinitions.push(...this.cTypedefs());
      else break;
    }
    for (;;) {
      if (this.isKeyword('config')) {
        if (program.config) this.fail('duplicate config block');
        program.config = this.config();
      } else if (this.isKeyword('import')) program.imports.push(this.importStmt());
      else break;
    }
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (t.kind === 'preprocessor' || this.looksLikeCDefinition() || this.isKeyword('typedef')) {
        const start = t.start;
        if (t.kind === 'preprocessor') this.cPreprocessor();
        else if (this.isKeyword('typedef')) this.cTypedefs();
        else this.cDefinition();
        this.fail('C definitions must appear before probes and functions', this.from(start));
      } else if (this.isKeyword('config')) this.fail('config must appear before probes and functions', t);
      else if (this.isKeyword('import')) this.fail('root imports must appear before probes and functions', t);
      else if (this.isKeyword('macro')) program.macros.push(this.macro());
      else if (this.isKeyword('fn')) program.subprogs.push(this.subprog());
      else if (this.isKeyword('let')) {
        if (this.peek2().kind !== 'map') this.fail('root-level let statements need to be map declarations, e.g. let @a = hash(2);');
        program.mapDecls.push(this.mapDecl());
      } else program.probes.push(this.probe());
    }
    // Like bpftrace, attach points are checked after all syntax errors (positional parameters are expanded later).
    for (const ap of program.probes.flatMap((p) => p.attachPoints)) {
      const parts = /\$\d/.test(ap.raw) ? undefined : splitAttachPoint(ap.raw);
      if (typeof parts === 'string') throw new CompileError(Diagnostic.error(parts, ap.range), this.source);
    }
    return program;
  }

  private cPreprocessor(): A.CPreprocessor {
    const t = this.next();
    return { kind: 'c_preprocessor', range: span(t), text: t.text };
  }

  /** `struct|union|enum` followed by identifiers and balanced (...)/[...] groups, then `{`. */
  private looksLikeCDefinition(): boolean {
    const t = this.peek();
    if (t.kind !== 'ident' || !['struct', 'union', 'enum'].includes(t.text)) return false;
    let pos = t.end;
    for (;;) {
      const n = this.scanner.scan(pos);
      if (n.kind === 'punct' && n.text === '{') return true;
      if (n.kind === 'ident') pos = n.end;
      else if (n.kind === 'punct' && (n.text === '(' || n.text === '[')) {
        const after = this.balancedEnd(n);
        if (after === undefined) return false;
        pos = after;
      } else return false;
    }
  }

  /** The end of the balanced (...) or [...] group opening at `open`, or undefined when the source ends first. */
  private balancedEnd(open: Token): number | undefined {
    const close = open.text === '(' ? ')' : ']';
    let depth = 0;
    for (let m = open; ; m = this.scanner.scan(m.end)) {
      if (m.kind === 'eof') return undefined;
      if (m.kind === 'punct' && m.text === open.text) depth++;
      else if (m.kind === 'punct' && m.text === close && --depth === 0) return m.end;
    }
  }

  // ------------------------------------------------------------------------------------------ C definitions

  /** A top-level `struct|union|enum ... { ... }` definition with its attributes and an optional `;`. */
  private cDefinition(): A.CDefinition {
    const start = this.peek().start;
    const type = this.cTagged();
    this.eat(';');
    return { kind: 'c_definition', range: this.from(start), text: this.source.text.slice(start, this.prevEnd), type };
  }

  /** `typedef TYPE declarator, ...;`: one node per declarator. */
  private cTypedefs(): A.CTypedef[] {
    const start = this.next().start;
    const base = this.cSpecifiers();
    const out: A.CTypedef[] = [];
    do {
      const d = this.cDeclarator();
      if (!d.name) this.fail('expected identifier');
      out.push({ kind: 'c_typedef', range: this.from(start), name: d.name.text, type: d.wrap(base) });
    } while (this.eat(','));
    if (!this.eat(';')) this.fail("expected ';' after top level declarator");
    return out;
  }

  /** Skips C type qualifiers (and storage words that change nothing in a definition). */
  private cQualifiers(): void {
    while (this.peek().kind === 'ident' && C_QUALIFIERS.has(this.peek().text)) this.next();
  }

  /** Declaration specifiers: a struct/union/enum, base type words (`unsigned long int`), or a typedef name. */
  private cSpecifiers(): A.CType {
    this.cQualifiers();
    const t = this.peek();
    if (t.kind === 'ident' && (t.text === 'struct' || t.text === 'union' || t.text === 'enum')) {
      const tagged = this.cTagged();
      this.cQualifiers();
      return tagged;
    }
    const words: Token[] = [];
    for (;;) {
      this.cQualifiers();
      const w = this.peek();
      if (w.kind !== 'ident' || !C_BASE_WORDS.has(w.text)) break;
      words.push(this.next());
    }
    if (words.length) {
      const name = cBaseName(words.map((w) => w.text));
      if (!name) this.fail('invalid combination of type specifiers', this.from(t.start));
      return { kind: 'c_named', range: this.from(t.start), name };
    }
    if (t.kind !== 'ident') this.fail('expected a type');
    this.next();
    this.cQualifiers();
    return { kind: 'c_named', range: span(t), name: t.text };
  }

  /** `struct|union|enum [attributes] [name] [attributes] [{ body } [attributes]]`. */
  private cTagged(): A.CTaggedType {
    const kw = this.next();
    const type: A.CTaggedType = { kind: 'c_tagged', range: span(kw), tag: kw.text as A.CTaggedType['tag'] };
    this.cAttributes(type);
    const n = this.peek();
    if (n.kind === 'ident') {
      this.next();
      type.name = n.text;
      type.nameRange = span(n);
      this.cAttributes(type);
    }
    if (this.eat('{')) {
      if (type.tag === 'enum') type.enumerators = this.cEnumerators();
      else type.members = this.cMembers();
      this.cAttributes(type);
    } else if (!type.name) this.fail("expected identifier or '{'");
    type.range = this.from(kw.start);
    return type;
  }

  /** `__attribute__((packed, aligned(N), ...))`, repeated; other attributes are skipped. */
  private cAttributes(type: A.CTaggedType): void {
    while (this.isKeyword('__attribute__')) {
      this.next();
      if (!this.isPunct('(') || this.peek2().text !== '(') this.fail("__attribute__ syntax error, expected '(('");
      this.next();
      this.next();
      while (!this.isPunct(')')) {
        const a = this.expectKind('ident', 'expected attribute name');
        const name = a.text.replace(/^__(.*)__$/, '$1');
        if (name === 'packed') type.packed = true;
        if (this.isPunct('(')) {
          if (name === 'aligned') {
            this.next();
            type.aligned = this.expr();
            this.expect(')');
          } else this.skipBalanced();
        } else if (name === 'aligned') type.aligned = { kind: 'int', range: span(a), value: 16n };
        if (!this.eat(',')) break;
      }
      this.expect(')');
      this.expect(')');
    }
  }

  /** Skips a balanced (...) group at the current token. */
  private skipBalanced(): void {
    const end = this.balancedEnd(this.peek());
    if (end === undefined) this.fail("expected ')'");
    this.pos = this.prevEnd = end;
    this.cur = undefined;
  }

  /** Struct/union members up to and including `}`; the last `;` may be left out, as C compilers accept. */
  private cMembers(): A.CMember[] {
    const members: A.CMember[] = [];
    while (!this.eat('}')) {
      if (this.peek().kind === 'eof') this.fail("expected '}'");
      if (this.eat(';')) continue;
      const start = this.peek().start;
      const base = this.cSpecifiers();
      if (this.isPunct(';') || this.isPunct('}')) members.push({ kind: 'c_member', range: this.from(start), type: base });
      else {
        do {
          const d = this.isPunct(':') ? { wrap: (x: A.CType) => x, name: undefined } : this.cDeclarator();
          const member: A.CMember = { kind: 'c_member', range: this.from(start), name: d.name?.text, type: d.wrap(base) };
          if (this.eat(':')) member.bits = this.expr();
          member.range = this.from(start);
          members.push(member);
        } while (this.eat(','));
      }
      if (!this.eat(';') && !this.isPunct('}')) this.fail("expected ';' at end of declaration list");
    }
    return members;
  }

  /** `NAME [= value], ...` up to and including `}`. */
  private cEnumerators(): A.CEnumerator[] {
    const out: A.CEnumerator[] = [];
    while (!this.eat('}')) {
      const n = this.expectKind('ident', 'expected identifier');
      const e: A.CEnumerator = { kind: 'c_enumerator', range: span(n), name: n.text };
      if (this.eat('=')) e.value = this.expr();
      e.range = this.from(n.start);
      out.push(e);
      if (!this.eat(',') && !this.isPunct('}')) this.fail("expected '}'");
    }
    return out;
  }

  /**
   * A C declarator (`*name`, `name[4][2]`, `(*fn)(int)`, or nothing but pointers for an abstract one): its name
   * and how it derives its type from the specifiers' type.
   */
  private cDeclarator(): { name?: Token; wrap: (base: A.CType) => A.CType } {
    const start = this.peek().start;
    let pointers = 0;
    while (this.eat('*')) {
      pointers++;
      this.cQualifiers();
    }
    let name: Token | undefined;
    let inner = (t: A.CType): A.CType => t;
    if (this.isPunct('(') && ['*', '('].includes(this.peek2().text)) {
      this.next();
      ({ name, wrap: inner } = this.cDeclarator());
      this.expect(')');
    } else if (this.peek().kind === 'ident') name = this.next();
    // derived types span from their base type's start to the end of what derives them
    const suffixes: ((t: A.CType) => A.CType)[] = [];
    for (;;) {
      if (this.eat('[')) {
        const length = this.isPunct(']') ? undefined : this.expr();
        this.expect(']');
        const end = this.prevEnd;
        suffixes.push((element) => ({ kind: 'c_array', range: { start: element.range.start, end }, element, length }));
      } else if (this.isPunct('(')) {
        this.skipBalanced();
        const end = this.prevEnd;
        suffixes.push((returns) => ({ kind: 'c_function', range: { start: returns.range.start, end }, returns }));
      } else break;
    }
    const end = this.from(start).end;
    return {
      name,
      wrap: (base) => {
        let t = base;
        for (let i = 0; i < pointers; i++) t = { kind: 'c_pointer', range: { start: base.range.start, end }, to: t };
        for (let i = suffixes.length - 1; i >= 0; i--) t = suffixes[i]!(t);
        return inner(t);
      },
    };
  }

  private config(): A.Config {
    const start = this.next().start;
    this.expect('=');
    this.expect('{');
    const entries: A.ConfigEntry[] = [];
    while (!this.isPunct('}')) {
      const key = this.expectKind('ident', 'expected config key');
      this.expect('=');
      const t = this.peek();
      let value: A.ConfigEntry['value'];
      if (t.kind === 'string') value = t.value;
      else if (t.kind === 'int') value = t.value;
      else if (t.kind === 'ident') value = t.text === 'true' ? true : t.text === 'false' ? false : { ident: t.text };
      else this.fail('expected string, int, boolean, or ident');
      this.next();
      entries.push({ kind: 'config_entry', range: this.from(key.start), key: key.text, value });
      if (!this.isPunct('}')) this.expect(';');
    }
    this.expect('}');
    return { kind: 'config', range: this.from(start), entries };
  }

  private importStmt(): A.Import {
    const start = this.next().start;
    const path = this.peek();
    if (path.kind !== 'string') this.fail("expected string after 'import'");
    this.next();
    const range = this.from(start);
    if (!this.eat(';')) this.fail("expected ';' after import");
    return { kind: 'import', range, path: path.value };
  }

  private macro(): A.Macro {
    const start = this.next().start;
    const name = this.expectKind('ident', 'expected macro name');
    this.expect('(');
    const params: A.Macro['params'] = [];
    if (!this.isPunct(')')) {
      do {
        const t = this.peek();
        if (t.kind === 'variable') params.push(variable(this.next()));
        else if (t.kind === 'map') params.push({ kind: 'map', range: span(this.next()), name: t.text });
        else if (t.kind === 'ident' && isBuiltin(t.text)) this.fail(`builtin '${t.text}' can't be used as a macro argument`, t);
        else if (t.kind === 'ident') params.push({ kind: 'ident', range: span(this.next()), name: t.text });
        else this.fail('expected macro argument ($var, @map, or identifier)');
      } while (this.eat(','));
    }
    this.expect(')');
    const range = this.from(start);
    return { kind: 'macro', range, name: name.text, params, body: this.block(true) };
  }

  private subprog(): A.Subprog {
    const start = this.next().start;
    const name = this.expectKind('ident', 'expected function name');
    this.expect('(');
    const params: A.SubprogParam[] = [];
    if (!this.isPunct(')')) {
      do {
        const v = this.expectKind('variable', 'expected variable in function argument');
        this.expect(':');
        const type = this.typeAnnotation();
        params.push({ kind: 'subprog_param', range: this.from(v.start), variable: variable(v), type });
      } while (this.eat(','));
    }
    this.expect(')');
    this.expect(':');
    const returnType = this.typeAnnotation();
    const range = this.from(start);
    return { kind: 'subprog', range, name: name.text, params, returnType, body: this.block(false) };
  }

  private mapDecl(): A.MapDecl {
    const start = this.next().start;
    const m = this.expectKind('map', "expected '@' in map declaration");
    this.expect('=');
    const type = this.expectKind('ident', 'expected map type name');
    this.expect('(');
    const n = this.expectKind('int', 'expected positive integer for map declaration max entries');
    this.expect(')');
    this.eat(';');
    return { kind: 'map_decl', range: this.from(start), map: { kind: 'map', range: span(m), name: m.text }, mapType: type.text, maxEntries: n.value };
  }

  // ------------------------------------------------------------------------------------------ probes

  private probe(): A.Probe {
    const attachPoints = [this.attachPoint()];
    while (this.eat(',')) {
      if (this.isPunct('/') || this.isPunct('{')) break; // trailing comma
      attachPoints.push(this.attachPoint());
    }
    const range = { start: attachPoints[0].range.start, end: this.prevEnd };
    let predicate: A.Expr | undefined;
    if (this.eat('/')) {
      predicate = this.expr();
      if (!this.eat('/')) this.fail("expected '/' to close predicate");
    }
    return { kind: 'probe', range, attachPoints, predicate, body: this.block(false) };
  }

  private attachPoint(): A.AttachPoint {
    const t = this.scanner.scan(this.pos, 'attach_point');
    if (t.text === '') this.fail('expected attach point');
    this.take(t);
    return { kind: 'attach_point', range: span(t), raw: t.text };
  }

  // ------------------------------------------------------------------------------------------ statements

  /** `{ stmts }`; with `allowValue` a trailing expression without `;` becomes the block's value. */
  private block(allowValue: boolean): A.Block {
    const start = this.expect('{').start;
    const stmts: A.Stmt[] = [];
    let value: A.Expr | undefined;
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') this.fail("expected '}'");
      const s = this.statement();
      if ('trailing' in s) value = s.trailing;
      else stmts.push(s);
    }
    this.next();
    const block: A.Block = { kind: 'block', range: this.from(start), stmts, value };
    return allowValue ? block : settle(block);
  }

  /** One statement, or the trailing value expression of the enclosing block (only when `}` follows). */
  private statement(): A.Stmt | { trailing: A.Expr } {
    const t = this.peek();
    const start = t.start;
    if (t.kind === 'ident') {
      switch (t.text) {
        case 'import':
          return this.importStmt();
        case 'while':
        case 'unroll': {
          this.next();
          const cond = this.parenOrUnary();
          const body = this.block(false);
          return t.text === 'while'
            ? { kind: 'while', range: this.from(start), cond, body }
            : { kind: 'unroll', range: this.from(start), count: cond, body };
        }
        case 'for':
          return this.forStmt();
        case 'break':
        case 'continue':
          this.next();
          this.stmtEnd();
          return { kind: t.text as 'break' | 'continue', range: this.from(start) };
        case 'return': {
          this.next();
          const value = this.isPunct(';') || this.isPunct('}') ? undefined : this.expr();
          this.stmtEnd();
          return { kind: 'return', range: this.from(start), value };
        }
        case 'let':
          return this.varDecl();
        case 'if':
          return this.blockLike(this.ifExpr());
        case '_': {
          const eq = this.peek2();
          if (eq.kind !== 'punct' || eq.text !== '=') break;
          this.next();
          this.next();
          const expr = this.expr();
          const range = this.from(start);
          this.stmtEnd();
          return { kind: 'discard', range, expr };
        }
      }
    }
    if (t.kind === 'punct' && t.text === '{') {
      const block = this.block(true);
      return this.blockLike({ kind: 'block_expr', range: block.range, block });
    }
    let expr: A.Expr;
    if (t.kind === 'variable' || t.kind === 'map') {
      const target: A.Variable | A.MapRef | A.MapAccess = t.kind === 'variable' ? variable(this.next()) : this.mapWithKeys();
      const op = this.peek();
      if (op.kind === 'punct' && (op.text === '=' || COMPOUND.has(op.text))) {
        this.next();
        const value = this.expr();
        const range = this.from(start);
        this.stmtEnd();
        const assign: A.Assign = { kind: 'assign', range, target, value };
        if (op.text !== '=') assign.op = op.text.slice(0, -1) as A.CompoundOp;
        return assign;
      }
      const postfix = this.postfix(target);
      if (this.isPunct('=')) {
        this.next();
        this.expr();
        const message =
          postfix.kind === 'tuple_index' || postfix.kind === 'field'
            ? 'Tuples and records are immutable once created. Consider creating a new value and assigning it instead.'
            : 'invalid assignment target';
        this.fail(message, this.from(start));
      }
      expr = this.ternaryRest(this.binary(0, postfix));
    } else expr = this.expr();
    if (this.isPunct('}')) return { trailing: expr };
    this.expect(';');
    return { kind: 'expr_stmt', range: this.from(start), expr };
  }

  /** An `if` or `{}` at statement start: a statement, or the block's trailing value when `}` follows and it yields one. */
  private blockLike(e: A.IfExpr | A.BlockExpr): A.Stmt | { trailing: A.Expr } {
    if (this.isPunct('}') && yieldsValue(e)) return { trailing: e };
    this.eat(';');
    return toStmt(e);
  }

  /** `;`, or nothing before `}`. */
  private stmtEnd(): void {
    if (!this.isPunct('}')) this.expect(';');
  }

  /** `(expr)` with the parentheses consumed explicitly, or a unary expression (so `{` is not swallowed). */
  private parenOrUnary(): A.Expr {
    if (!this.eat('(')) return this.unary();
    const e = this.expr();
    this.expect(')');
    return e;
  }

  private forStmt(): A.ForMap | A.ForRange {
    const start = this.next().start;
    const paren = this.eat('(');
    const v = variable(this.expectKind('variable', 'expected variable in for loop'));
    this.expect(':');
    const first = this.primary();
    if (this.eat('..')) {
      const end = this.primary();
      if (paren) this.expect(')');
      return { kind: 'for_range', range: this.from(start), variable: v, start: first, end, body: this.block(false) };
    }
    if (paren) this.expect(')');
    if (first.kind !== 'map') this.fail('expected map or range in for loop', first.range);
    return { kind: 'for_map', range: this.from(start), variable: v, map: first, body: this.block(false) };
  }

  private varDecl(): A.VarDecl {
    const start = this.next().start;
    const v = variable(this.expectKind('variable', "expected variable after 'let'"));
    const decl: A.VarDecl = { kind: 'var_decl', range: v.range, variable: v };
    if (this.eat(':')) decl.type = this.typeAnnotation();
    if (this.eat('=')) decl.value = this.expr();
    decl.range = this.from(start);
    this.stmtEnd();
    return decl;
  }

  // ------------------------------------------------------------------------------------------ types

  /** A type: `name`, `struct|union|enum name`, then any `*` and `[N]`/`[]` suffixes. */
  private type(): A.TypeExpr {
    const start = this.peek().start;
    const name = this.expectKind('ident', 'expected type name');
    let type: A.TypeExpr;
    if (name.text === 'struct' || name.text === 'union' || name.text === 'enum') {
      const tagged = this.expectKind('ident', 'expected identifier');
      type = { kind: 'named_type', range: this.from(start), name: tagged.text, tag: name.text };
    } else type = { kind: 'named_type', range: this.from(start), name: name.text };
    for (;;) {
      if (this.eat('*')) type = { kind: 'pointer_type', range: this.from(start), pointee: type };
      else if (this.eat('[')) {
        const len = this.peek().kind === 'int' ? Number(this.expectKind('int', '').value) : undefined;
        this.expect(']');
        type = { kind: 'array_type', range: this.from(start), element: type, length: len };
      } else return type;
    }
  }

  /** `typeof(type-or-expr)` or a type. */
  private typeAnnotation(): A.TypeExpr {
    return this.isKeyword('typeof') ? this.typeofType() : this.type();
  }

  private typeofType(): A.TypeofType {
    const start = this.next().start;
    this.expect('(');
    const of = this.typeOrExpr();
    this.expect(')');
    return { kind: 'typeof', range: this.from(start), of };
  }

  /**
   * The argument of sizeof/offsetof/typeinfo/typeof: a type when it is one syntactically (a known type name,
   * `struct x`, or has `*`/`[]` suffixes) and is followed by `) , ; = { }`; a bare unknown name is an Identifier.
   */
  private typeOrExpr(): A.TypeExpr | A.Expr {
    if (this.isKeyword('typeof')) return this.typeofType();
    const t = this.peek();
    if (t.kind === 'ident' && !isBuiltin(t.text)) {
      const type = this.speculate(() => {
        const ty = this.type();
        const n = this.peek();
        return n.kind === 'punct' && [')', ',', ';', '=', '{', '}'].includes(n.text) ? ty : undefined;
      });
      if (type?.kind === 'named_type' && !type.tag && !BUILTIN_TYPES.has(type.name))
        return { kind: 'ident', range: type.range, name: type.name };
      if (type) return type;
    }
    return this.expr();
  }

  // ------------------------------------------------------------------------------------------ expressions

  /** A whole source that is one expression. */
  expressionOnly(): A.Expr {
    const e = this.expr();
    if (this.peek().kind !== 'eof') this.fail('unexpected input');
    return e;
  }

  /** A full expression (ternary and below). */
  private expr(): A.Expr {
    return this.ternaryRest(this.binary(0));
  }

  private ternaryRest(cond: A.Expr): A.Expr {
    if (!this.eat('?')) return cond;
    if (this.eat(':')) {
      const otherwise = this.expr();
      return { kind: 'ternary', range: this.from(cond.range.start), cond, else: otherwise };
    }
    const then = this.expr();
    this.expect(':');
    const otherwise = this.expr();
    return { kind: 'ternary', range: this.from(cond.range.start), cond, then, else: otherwise };
  }

  /** Precedence climbing over PRECEDENCE; left associative. A `/` followed by `{` ends a predicate. */
  private binary(minPrec: number, left: A.Expr = this.unary()): A.Expr {
    for (;;) {
      const t = this.peek();
      const prec = t.kind === 'punct' ? PRECEDENCE[t.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      if (t.text === '/') {
        const n = this.peek2();
        if (n.kind === 'punct' && n.text === '{') return left;
      }
      this.next();
      const right = this.binary(prec + 1);
      left = { kind: 'binary', range: this.from(left.range.start), op: t.text as A.BinaryOp, left, right, opRange: { start: t.start, end: t.end } };
    }
  }

  private unary(): A.Expr {
    const t = this.peek();
    if (t.kind !== 'punct') return this.postfix(this.primary());
    const start = t.start;
    switch (t.text) {
      case '++':
      case '--': {
        this.next();
        const operand = this.unary();
        if (operand.kind !== 'variable' && operand.kind !== 'map' && operand.kind !== 'map_access')
          this.fail('increment/decrement requires a variable or map', operand.range);
        return { kind: 'incdec', range: this.from(start), op: t.text, prefix: true, operand };
      }
      case '&': {
        this.next();
        const n = this.peek();
        if (n.kind === 'variable') return { kind: 'addr_of', range: this.from(start), operand: variable(this.next()) };
        if (n.kind === 'map') {
          this.next();
          return { kind: 'addr_of', range: this.from(start), operand: { kind: 'map', range: span(n), name: n.text } };
        }
        return this.fail('address-of operator (&) can only be used on a map or variable');
      }
      case '*':
      case '!':
      case '~':
      case '-': {
        this.next();
        const operand = this.unary();
        return { kind: 'unary', range: this.from(start), op: t.text, operand };
      }
    }
    return this.postfix(this.primary());
  }

  private postfix(e: A.Expr): A.Expr {
    const start = e.range.start;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return e;
      if (t.text === '.') {
        this.next();
        const n = this.peek();
        if (n.kind === 'int') {
          this.next();
          e = { kind: 'tuple_index', range: this.from(start), expr: e, index: Number(n.value) };
        } else {
          const field = this.expectKind('ident', "expected field name after '.'");
          e = { kind: 'field', range: this.from(start), expr: e, field: field.text, arrow: false };
        }
      } else if (t.text === '->') {
        this.next();
        const field = this.expectKind('ident', "expected field name after '->'");
        e = { kind: 'field', range: this.from(start), expr: e, field: field.text, arrow: true };
      } else if (t.text === '[') {
        this.next();
        const index = this.expr();
        this.expect(']');
        e = { kind: 'index', range: this.from(start), expr: e, index };
      } else if (t.text === '++' || t.text === '--') {
        if (e.kind !== 'variable' && e.kind !== 'map' && e.kind !== 'map_access')
          this.fail('increment/decrement requires a variable or map', { start: t.start, end: t.end });
        this.next();
        e = { kind: 'incdec', range: this.from(start), op: t.text, prefix: false, operand: e };
      } else return e;
    }
  }

  private primary(): A.Expr {
    const t = this.peek();
    const start = t.start;
    switch (t.kind) {
      case 'int':
        this.next();
        return { kind: 'int', range: this.from(start), value: t.value };
      case 'string':
        this.next();
        return { kind: 'string', range: this.from(start), value: t.value };
      case 'variable':
        return variable(this.next());
      case 'positional':
        this.next();
        return { kind: 'positional', range: this.from(start), index: t.value };
      case 'param_count':
        this.next();
        return { kind: 'param_count', range: this.from(start) };
      case 'map':
        return this.mapWithKeys();
      case 'punct':
        if (t.text === '(') return this.paren();
        if (t.text === '{') {
          const block = this.block(true);
          return { kind: 'block_expr', range: block.range, block };
        }
        break;
      case 'ident':
        return this.identPrimary(t);
    }
    return this.fail('expected expression');
  }

  private identPrimary(t: Token): A.Expr {
    const start = t.start;
    switch (t.text) {
      case 'if':
        return this.ifExpr();
      case 'sizeof':
      case 'typeinfo': {
        this.next();
        this.expect('(');
        const arg = this.typeOrExpr();
        this.expect(')');
        return { kind: t.text, range: this.from(start), arg };
      }
      case 'offsetof': {
        this.next();
        this.expect('(');
        const arg = this.typeOrExpr();
        this.expect(',');
        const fields = [this.expectKind('ident', 'expected identifier').text];
        while (this.eat('.')) fields.push(this.expectKind('ident', 'expected identifier').text);
        this.expect(')');
        return { kind: 'offsetof', range: this.from(start), arg, fields };
      }
      case 'comptime': {
        this.next();
        const expr = this.unary();
        return { kind: 'comptime', range: this.from(start), expr };
      }
      case 'true':
      case 'false':
        this.next();
        return { kind: 'bool', range: this.from(start), value: t.text === 'true' };
    }
    this.next();
    if (this.isPunct('(')) return this.call(t);
    return { kind: isBuiltin(t.text) ? 'builtin' : 'ident', range: this.from(start), name: t.text };
  }

  private call(name: Token): A.Call {
    this.expect('(');
    const args: A.Call['args'] = [];
    if (!this.isPunct(')')) {
      do {
        const typeArg = this.isKeyword('typeof') && this.peek2().text === '(';
        args.push(typeArg ? this.typeofType() : this.expr());
      } while (this.eat(','));
    }
    this.expect(')');
    return { kind: 'call', range: this.from(name.start), name: name.text, nameRange: span(name), args };
  }

  private ifExpr(): A.IfExpr {
    const start = this.next().start;
    const cond = this.parenOrUnary();
    const then = this.block(true);
    const e: A.IfExpr = { kind: 'if_expr', range: this.from(start), cond, then };
    if (this.isKeyword('else')) {
      this.next();
      if (this.isPunct('{')) e.else = this.block(true);
      else if (this.isKeyword('if')) e.else = this.ifExpr();
      else this.fail("expected '{' or 'if' after 'else'");
      e.range = this.from(start);
    }
    return e;
  }

  private mapWithKeys(): A.MapRef | A.MapAccess {
    const t = this.next();
    const map: A.MapRef = { kind: 'map', range: span(t), name: t.text };
    if (!this.eat('[')) return map;
    const keys = [this.expr()];
    while (this.eat(',')) keys.push(this.expr());
    this.expect(']');
    const key: A.Expr =
      keys.length === 1 ? keys[0] : { kind: 'tuple', range: { start: keys[0].range.start, end: keys[keys.length - 1].range.end }, elems: keys };
    return { kind: 'map_access', range: this.from(t.start), map, key };
  }

  /** `()`, record `(a = 1, ...)`, cast `(type)expr`, tuple `(a, b)`/`(a,)`, or grouping `(a)`. */
  private paren(): A.Expr {
    const start = this.next().start;
    if (this.eat(')')) return { kind: 'tuple', range: this.from(start), elems: [] };
    const t = this.peek();
    const after = this.peek2();
    if (t.kind === 'ident' && !isBuiltin(t.text) && after.kind === 'punct' && after.text === '=') return this.record(start);
    const castType = this.speculate(() => {
      if (t.kind !== 'ident' || isBuiltin(t.text)) return undefined;
      const type = this.isKeyword('typeof') ? this.typeofType() : this.type();
      return this.eat(')') && this.canStartExpression() ? type : undefined;
    });
    if (castType) {
      const expr = this.unary();
      return { kind: 'cast', range: this.from(start), type: castType, expr };
    }
    const first = this.expr();
    if (!this.eat(',')) {
      this.expect(')');
      first.range = this.from(start); // a parenthesised expression's range includes the parentheses
      return first;
    }
    const elems = [first];
    while (!this.isPunct(')')) {
      elems.push(this.expr());
      if (!this.eat(',')) break;
    }
    this.expect(')');
    return { kind: 'tuple', range: this.from(start), elems };
  }

  private record(start: number): A.RecordLit {
    const fields: A.RecordField[] = [];
    do {
      const name = this.expectKind('ident', 'expected identifier');
      this.expect('=');
      const value = this.expr();
      if (fields.some((f) => f.name === name.text))
        this.fail(`Named argument list already contains name: ${name.text}`, this.from(name.start));
      fields.push({ kind: 'record_field', range: this.from(name.start), name: name.text, value });
    } while (this.eat(','));
    this.expect(')');
    return { kind: 'record', range: this.from(start), fields };
  }

  private canStartExpression(): boolean {
    const t = this.peek();
    if (t.kind === 'punct') return EXPR_START_PUNCT.has(t.text);
    return t.kind !== 'eof' && t.kind !== 'invalid' && t.kind !== 'preprocessor';
  }
}

function span(t: Range): Range {
  return { start: t.start, end: t.end };
}

function variable(t: Token): A.Variable {
  return { kind: 'variable', range: span(t), name: t.text };
}

/** Where to put the marker for an error at token `t`: bpftrace marks one character of punctuation and strings. */
function tokenErrorRange(t: Token): Range {
  if (t.kind === 'eof') return { start: t.start, end: t.start };
  if (t.kind === 'punct' || t.kind === 'string' || t.kind === 'invalid' || t.kind === 'preprocessor' || t.kind === 'attach_point')
    return { start: t.start, end: t.start + 1 };
  return { start: t.start, end: t.end };
}

function yieldsValue(e: A.IfExpr | A.BlockExpr): boolean {
  if (e.kind === 'block_expr') return e.block.value !== undefined;
  return e.then.value !== undefined || (e.else !== undefined && (e.else.kind === 'block' ? e.else.value !== undefined : yieldsValue(e.else)));
}

/** A block whose trailing value is discarded: the value becomes its last statement. */
function settle(block: A.Block): A.Block {
  if (!block.value) return block;
  const v = block.value;
  const last: A.Stmt = v.kind === 'if_expr' || v.kind === 'block_expr' ? toStmt(v) : { kind: 'expr_stmt', range: v.range, expr: v };
  return { kind: 'block', range: block.range, stmts: [...block.stmts, last] };
}

/** An if/block expression in statement position becomes an If statement or a nested Block. */
function toStmt(e: A.IfExpr | A.BlockExpr): A.If | A.Block {
  if (e.kind === 'block_expr') return settle(e.block);
  const s: A.If = { kind: 'if', range: e.range, cond: e.cond, then: settle(e.then) };
  if (e.else) s.else = e.else.kind === 'block' ? settle(e.else) : toStmt(e.else);
  return s;
}

/** Parses a whole program; throws CompileError (bpftrace-style diagnostic) at the first syntax error. */
export function parse(source: Source): A.Program {
  return new Parser(source).parseProgram();
}

/** Parses a single expression filling the whole source (used e.g. for `#define` bodies and tests). */
export function parseExpression(source: Source): A.Expr {
  return new Parser(source).expressionOnly();
}
