/**
 * Tokens of the bpftrace language. The language is context sensitive (an attach point such as
 * `uprobe:/bin/bash:readline` is not made of expression tokens), so the parser pulls tokens one at a time
 * with `scan(pos, mode)`: `code` for everything inside blocks, preambles and C definitions, and `attach_point`
 * where a probe's attach point starts.
 * Scanning never throws: a malformed token carries an `error` the parser reports when it consumes it.
 */
import { Diagnostic } from './diagnostics.js';
import type { Source } from './source.js';

interface TokenBase {
  start: number;
  end: number;
  /** The token's source text. */
  text: string;
  error?: Diagnostic;
}

/**
 * ident: identifiers and keywords; variable: `$x`; positional: `$1` (value = index); param_count: `$#`;
 * map: `@x` or `@`; int: integer literal (value = its unsigned 64-bit value); string: string literal (value =
 * its bytes as a binary string, one char per byte); punct: operators and punctuation; attach_point: one raw
 * attach point; preprocessor: a `#...` line (text trimmed);
 * invalid: a character that starts no token.
 */
export type Token =
  | (TokenBase & { kind: 'int'; value: bigint })
  | (TokenBase & { kind: 'string'; value: string })
  | (TokenBase & { kind: 'positional'; value: number })
  | (TokenBase & {
      kind: 'ident' | 'variable' | 'param_count' | 'map' | 'punct' | 'attach_point' | 'preprocessor' | 'invalid' | 'eof';
    });

export type ScanMode = 'code' | 'attach_point';

const PUNCT = [
  '<<=', '>>=',
  '->', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '..',
  '{', '}', '(', ')', '[', ']', ';', ',', ':', '?', '.', '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '=',
];

const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const U32_MAX = (1n << 32n) - 1n;

/** Integer suffixes: maximum value of the literal's type and the multiplier (duration suffixes give nanoseconds). */
const INT_SUFFIXES: ReadonlyMap<string, [max: bigint, mult: bigint]> = new Map([
  ['', [U64_MAX, 1n]],
  ['u', [U32_MAX, 1n]],
  ['ul', [U64_MAX, 1n]],
  ['ull', [U64_MAX, 1n]],
  ['l', [I64_MAX, 1n]],
  ['ll', [I64_MAX, 1n]],
  ['ns', [U64_MAX, 1n]],
  ['us', [U64_MAX, 1_000n]],
  ['ms', [U64_MAX, 1_000_000n]],
  ['s', [U64_MAX, 1_000_000_000n]],
  ['m', [U64_MAX, 60_000_000_000n]],
  ['h', [U64_MAX, 3_600_000_000_000n]],
  ['d', [U64_MAX, 86_400_000_000_000n]],
]);

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentBody = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v';

/** Error text as bpftrace's parser gives it: every syntax error is prefixed "syntax: ". */
export function syntaxError(message: string, start: number, end: number): Diagnostic {
  return Diagnostic.error(`syntax: ${message}`, { start, end });
}

/** Converts an integer literal's text to its value (bpftrace's rules: `_` separators, 0x/0b/octal, `NeM`, suffixes). */
export function parseIntLiteral(raw: string): bigint | string {
  const n = raw.replaceAll('_', '');
  let i = 0;
  let value: bigint;
  const digits = (re: RegExp): string => {
    const start = i;
    while (i < n.length && re.test(n[i])) i++;
    return n.slice(start, i);
  };
  if (/^0[xX]/.test(n) || /^0[bB]/.test(n)) {
    i = 2;
    const d = digits(/[xX]/.test(n[1]) ? /[0-9a-fA-F]/ : /[01]/);
    if (!d) return `invalid integer: ${raw}`;
    value = BigInt(`0${n[1].toLowerCase()}${d}`);
  } else if (n.length >= 2 && n[0] === '0' && isDigit(n[1])) {
    i = 1;
    value = BigInt(`0o${digits(/[0-7]/) || 0}`);
  } else {
    const d = digits(/[0-9]/);
    if (!d) return `invalid integer: ${raw}`;
    value = BigInt(d);
    if (/[eE]/.test(n[i] ?? '') && /[1-9]/.test(n[i + 1] ?? '')) {
      if (value <= 0n || value >= 10n) return `coefficient part of scientific literal must be 1-9: ${raw}`;
      i++;
      const exp = Number(digits(/[0-9]/));
      if (exp > 19) return `overflow error, maximum value is ${U64_MAX}: ${raw}`;
      value *= 10n ** BigInt(exp);
      if (value > U64_MAX) return `overflow error, maximum value is ${U64_MAX}: ${raw}`;
    }
  }
  const suffix = INT_SUFFIXES.get(n.slice(i).toLowerCase());
  if (!suffix) return `invalid trailing bytes: ${raw}`;
  const [max, mult] = suffix;
  if (value > max / mult) return `overflow error, maximum value is ${max}: ${raw}`;
  return value * mult;
}

/** Pulls tokens out of one Source; see the module comment. */
export class Scanner {
  private readonly text: string;

  constructor(readonly source: Source) {
    this.text = source.text;
  }

  private at(pos: number): string {
    return this.text[pos] ?? '';
  }

  /** Skips whitespace, `//` comments and `/* *\/` comments (an unterminated block comment runs to the end). */
  skipTrivia(pos: number): number {
    const t = this.text;
    while (pos < t.length) {
      const c = t[pos];
      if (isSpace(c)) pos++;
      else if (c === '/' && t[pos + 1] === '/') {
        while (pos < t.length && t[pos] !== '\n') pos++;
      } else if (c === '/' && t[pos + 1] === '*') {
        const close = t.indexOf('*/', pos + 2);
        pos = close < 0 ? t.length : close + 2;
      } else break;
    }
    return pos;
  }

  /** The next token at or after `pos` (after trivia) in the given mode. */
  scan(pos: number, mode: ScanMode = 'code'): Token {
    const start = this.skipTrivia(pos);
    if (start >= this.text.length) return { kind: 'eof', start, end: start, text: '' };
    if (mode === 'attach_point') return this.attachPoint(start);
    const c = this.text[start];
    if (c === '#') {
      let end = this.text.indexOf('\n', start);
      if (end < 0) end = this.text.length;
      const text = this.text.slice(start, end).trimEnd();
      return { kind: 'preprocessor', start, end: start + text.length, text };
    }
    if (isIdentStart(c)) return this.simple('ident', start, this.identEnd(start));
    if (isDigit(c)) return this.integer(start);
    if (c === '"') return this.string(start);
    if (c === '$') return this.dollar(start);
    if (c === '@') return this.simple('map', start, isIdentStart(this.at(start + 1)) ? this.identEnd(start + 1) : start + 1);
    for (const p of PUNCT) if (this.text.startsWith(p, start)) return this.simple('punct', start, start + p.length);
    return { kind: 'invalid', start, end: start + 1, text: c, error: syntaxError('unexpected input', start, start + 1) };
  }

  private simple(kind: 'ident' | 'map' | 'punct' | 'param_count' | 'variable', start: number, end: number): Token {
    return { kind, start, end, text: this.text.slice(start, end) };
  }

  private identEnd(pos: number): number {
    while (isIdentBody(this.at(pos))) pos++;
    return pos;
  }

  private dollar(start: number): Token {
    const next = this.at(start + 1);
    if (next === '#') return this.simple('param_count', start, start + 2);
    if (isIdentStart(next)) return this.simple('variable', start, this.identEnd(start + 1));
    if (!isDigit(next))
      return { kind: 'invalid', start, end: start + 1, text: '$', error: syntaxError("expected identifier after '$'", start, start + 1) };
    let end = start + 1;
    while (isDigit(this.at(end))) end++;
    const text = this.text.slice(start, end);
    const n = BigInt(text.slice(1));
    if (n >= 1n && n <= I64_MAX) return { kind: 'positional', start, end, text, value: Number(n) };
    const error = syntaxError(`param ${text} is out of integer range [1, ${I64_MAX}]`, start, end);
    return { kind: 'positional', start, end, text, value: 0, error };
  }

  private integer(start: number): Token {
    const t = this.text;
    let pos = start;
    let error: Diagnostic | undefined;
    const run = (re: RegExp): void => {
      while (pos < t.length && re.test(t[pos])) pos++;
      if (t[pos - 1] === '_' && !error) error = syntaxError('trailing underscore in integer literal', pos - 1, pos);
    };
    if (t[pos] === '0' && /[xXbB]/.test(this.at(pos + 1))) {
      pos += 2;
      run(/[xX]/.test(t[pos - 1]) ? /[0-9a-fA-F_]/ : /[01_]/);
    } else {
      run(/[0-9_]/);
      if (/[eE]/.test(this.at(pos))) {
        pos++;
        run(/[0-9_]/);
      }
    }
    // Suffix: ns us ms s m h d, or C's u/ul/ull/l/ll.
    const rest = t.slice(pos, pos + 3);
    const m = /^(?:[num]s|[uU][lL]{0,2}|[lL]{1,2}|[smhd])/.exec(rest);
    if (m) pos += m[0].length;
    if (isIdentStart(this.at(pos))) {
      const badStart = pos;
      pos = this.identEnd(pos);
      error ??= syntaxError(`invalid integer suffix '${t.slice(badStart, pos)}'`, badStart, pos);
    }
    const text = t.slice(start, pos);
    let value = 0n;
    if (!error) {
      const v = parseIntLiteral(text);
      if (typeof v === 'string') error = syntaxError(v, start, pos);
      else value = v;
    }
    return { kind: 'int', start, end: pos, text, value, error };
  }

  private string(start: number): Token {
    const t = this.text;
    let pos = start + 1;
    let out = '';
    let error: Diagnostic | undefined;
    const fail = (d: Diagnostic): void => {
      error ??= d;
    };
    while (pos < t.length && t[pos] !== '"' && t[pos] !== '\n') {
      const c = t[pos];
      if (c !== '\\') {
        let end = pos;
        while (end < t.length && t[end] !== '"' && t[end] !== '\n' && t[end] !== '\\') end++;
        out += Buffer.from(t.slice(pos, end), 'utf8').toString('latin1');
        pos = end;
        continue;
      }
      const escStart = pos;
      const e = this.at(pos + 1);
      pos += 2;
      if (e === '' || e === '\n') {
        pos--;
        break;
      }
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
      if (e in simple) out += simple[e];
      else if (e >= '0' && e <= '7') {
        let oct = e;
        while (oct.length < 3 && /[0-7]/.test(this.at(pos))) oct += t[pos++];
        const v = parseInt(oct, 8);
        if (v > 255) fail(syntaxError(`octal escape sequence out of range '\\${oct}'`, escStart, pos));
        out += String.fromCharCode(v & 255);
      } else if (e === 'x' || e === 'X') {
        let hex = '';
        while (hex.length < 2 && /[0-9a-fA-F]/.test(this.at(pos))) hex += t[pos++];
        if (hex) out += String.fromCharCode(parseInt(hex, 16));
        else fail(syntaxError('invalid hex escape sequence', pos, Math.min(pos + 1, t.length)));
      } else fail(syntaxError(`invalid escape character '\\${e}'`, escStart + 1, pos));
    }
    if (t[pos] === '"') pos++;
    else fail(syntaxError('unterminated string', pos, pos));
    return { kind: 'string', start, end: pos, text: t.slice(start, pos), value: out, error };
  }

  /**
   * One attach point, bpftrace's way: everything up to `{`, `,` or whitespace; a `/` ends it only before the
   * first `:` (after it, `/` belongs to a path as in `uprobe:/bin/bash:readline`); quoted parts are kept whole.
   */
  private attachPoint(start: number): Token {
    const t = this.text;
    let pos = start;
    let error: Diagnostic | undefined;
    let sawColon = false;
    while (pos < t.length) {
      const c = t[pos];
      if (c === '{' || c === ',' || isSpace(c)) break;
      if (c === '/' && !sawColon && pos > start && t[pos + 1] !== '/' && t[pos + 1] !== '*') break;
      if (c === ':') sawColon = true;
      if (c === '"') {
        pos++;
        while (pos < t.length && t[pos] !== '"' && t[pos] !== '\n') pos += t[pos] === '\\' ? 2 : 1;
        if (t[pos] !== '"') {
          error = syntaxError('unterminated string', pos, pos);
          break;
        }
      }
      pos++;
    }
    return { kind: 'attach_point', start, end: pos, text: t.slice(start, pos), error };
  }
}

/** All tokens of a source in `code` mode, ending with `eof` (for tests and tooling). */
export function tokenize(source: Source): Token[] {
  const scanner = new Scanner(source);
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    const tok = scanner.scan(pos);
    tokens.push(tok);
    if (tok.kind === 'eof') return tokens;
    pos = tok.end;
  }
}
