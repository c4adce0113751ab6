/**
 * BCC tool output: Python `%` formatting, `print_log2_hist`/`print_linear_hist` (with per-key sections), the
 * `HH:MM:SS` time line, fixed-width column tables and the multi-line stack block of profile/offcputime.
 */
import { strftime } from './strftime.js';

export type FormatArg = string | number | bigint;

const CONV = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([diouxXeEfFgGcs%])/g;

function toBigInt(a: FormatArg): bigint {
  if (typeof a === 'bigint') return a;
  if (typeof a === 'number') return BigInt(Math.trunc(a));
  throw new TypeError(`%d format: a number is required, not ${JSON.stringify(a)}`);
}

/** Fixed notation of `x >= 0`, rounded half-to-even on the exact binary value as Python does (toFixed rounds ties up). */
function fixed(x: number, prec: number): string {
  if (x >= 1e21 || prec > 75) return x.toFixed(Math.min(prec, 100));
  const [int = '', frac = ''] = x.toFixed(prec + 25).split('.');
  const kept = BigInt(int + frac.slice(0, prec));
  const rest = frac.slice(prec);
  const half = `5${'0'.repeat(24)}`;
  const up = rest > half || (rest === half && kept % 2n === 1n);
  const digits = (kept + (up ? 1n : 0n)).toString().padStart(prec + 1, '0');
  return prec === 0 ? digits : `${digits.slice(0, -prec)}.${digits.slice(-prec)}`;
}

/** `%e` of `x >= 0`: mantissa with `prec` decimals and an exponent of at least two digits. */
function exponential(x: number, prec: number, upper: boolean): string {
  const [mant, exp = '0'] = x.toExponential(prec).split('e');
  const e = Number(exp);
  const s = `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return upper ? s.toUpperCase() : s;
}

/** `%g` of `x >= 0`: `%e` or `%f` by exponent, trailing zeros removed unless `#`. */
function general(x: number, prec: number, alt: boolean, upper: boolean): string {
  const p = prec === 0 ? 1 : prec;
  const exp = x === 0 ? 0 : Number(x.toExponential(p - 1).split('e')[1]);
  const s = exp < -4 || exp >= p ? exponential(x, p - 1, upper) : fixed(x, p - 1 - exp);
  return alt ? s : s.replace(/(\.\d*?)0+(?=$|e|E)/, '$1').replace(/\.(?=$|e|E)/, '');
}

/** Python's `fmt % args` (the BCC tools' formatting): flags `- + space # 0`, width, precision, `*`. */
export function sprintf(fmt: string, ...args: FormatArg[]): string {
  let next = 0;
  const take = (): FormatArg => {
    if (next >= args.length) throw new TypeError(`not enough arguments for format string ${JSON.stringify(fmt)}`);
    return args[next++]!;
  };
  return fmt.replace(CONV, (_all, _name, flags: string, w: string | undefined, p: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let width = w === '*' ? Number(take()) : w ? Number(w) : 0;
    let left = flags.includes('-');
    if (width < 0) [width, left] = [-width, true];
    const precArg = p === '*' ? Number(take()) : p === undefined ? undefined : Number(p || 0);
    const a = take();
    let sign = '';
    let prefix = '';
    let body: string;
    const signOf = (neg: boolean) => (neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '');
    switch (conv) {
      case 's':
        body = String(a);
        if (precArg !== undefined) body = body.slice(0, precArg);
        break;
      case 'c':
        body = typeof a === 'string' ? a : String.fromCodePoint(Number(a));
        break;
      case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': {
        const n = toBigInt(a);
        const mag = n < 0n ? -n : n;
        sign = signOf(n < 0n);
        body = mag.toString(conv === 'o' ? 8 : conv === 'x' || conv === 'X' ? 16 : 10);
        if (precArg !== undefined) body = body.padStart(precArg, '0');
        if (flags.includes('#')) prefix = conv === 'o' ? '0o' : conv === 'x' ? '0x' : conv === 'X' ? '0X' : '';
        if (conv === 'X') body = body.toUpperCase();
        break;
      }
      default: {
        const x = typeof a === 'string' ? Number.NaN : Number(a);
        const prec = precArg ?? 6;
        const upper = conv === conv.toUpperCase();
        sign = signOf(x < 0 || Object.is(x, -0));
        const m = Math.abs(x);
        if (!Number.isFinite(m)) body = Number.isNaN(m) ? 'nan' : 'inf';
        else if (conv === 'f' || conv === 'F') body = fixed(m, prec);
        else if (conv === 'e' || conv === 'E') body = exponential(m, prec, upper);
        else body = general(m, prec, flags.includes('#'), upper);
        if (upper) body = body.toUpperCase();
      }
    }
    const len = sign.length + prefix.length + body.length;
    if (len >= width) return sign + prefix + body;
    if (left) return sign + prefix + body + ' '.repeat(width - len);
    if (flags.includes('0') && conv !== 's' && conv !== 'c') return sign + prefix + '0'.repeat(width - len) + body;
    return ' '.repeat(width - len) + sign + prefix + body;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Histograms

type Counts = readonly (number | bigint)[];

/** Python's `_stars`: floor(width * val / max) stars, capped at width, last one `+` if val exceeds max. */
function stars(val: bigint, max: bigint, width: number): string {
  if (max === 0n) return '';
  const n = Math.min(width, Math.floor((width * Number(val)) / Number(max)));
  const s = '*'.repeat(n);
  return val > max ? `${s.slice(0, -1)}+` : s;
}

function lastNonZero(vals: bigint[]): { idx: number; max: bigint } {
  let idx = -1;
  let max = 0n;
  vals.forEach((v, i) => {
    if (v > 0n) idx = i;
    if (v > max) max = v;
  });
  return { idx, max };
}

/**
 * BCC `print_log2_hist`: `vals[slot]` counts values whose `bpf_log2l` slot is `slot` (slot 1 = 0..1, 2 = 2..3, ...).
 * Rows run from `0 -> 1` to the last non-empty slot, zeros included; slots beyond 32 switch to the wide layout.
 */
export function log2Hist(vals: Counts, valType: string): string {
  const v = vals.map(BigInt);
  const { idx, max } = lastNonZero(v);
  const wide = idx > 32;
  const width = wide ? 20 : 40;
  let out = idx > 0 ? `${sprintf(wide ? '               %-29s : count     distribution' : '     %-19s : count     distribution', valType)}\n` : '';
  for (let i = 1; i <= idx; i++) {
    const high = (1n << BigInt(i)) - 1n;
    const low = (1n << BigInt(i)) >> 1n;
    const body = wide ? '%20d -> %-20d : %-8d |%-*s|' : '%10d -> %-10d : %-8d |%-*s|';
    out += `${sprintf(body, low === high ? low - 1n : low, high, v[i] ?? 0n, width, stars(v[i] ?? 0n, max, width))}\n`;
  }
  return out;
}

/** BCC `print_linear_hist`: one row per value 0..last non-empty, zeros included. */
export function linearHist(vals: Counts, valType: string): string {
  const v = vals.map(BigInt);
  const { idx, max } = lastNonZero(v);
  let out = idx >= 0 ? `${sprintf('     %-13s : count     distribution', valType)}\n` : '';
  for (let i = 0; i <= idx; i++) out += `${sprintf('        %-10d : %-8d |%-*s|', i, v[i] ?? 0n, 40, stars(v[i] ?? 0n, max, 40))}\n`;
  return out;
}

/** One section of a per-key histogram: `label` is the already formatted key (`sda`, `123`, `Sync-Write`). */
export interface HistSection {
  label: string;
  vals: Counts;
}

/** Per-key histograms as BCC prints them: a blank line and `header = label` before each histogram, in the given order. */
export function sectionedHist(sections: HistSection[], header: string, valType: string, linear = false): string {
  return sections.map((s) => `\n${header} = ${s.label}\n${(linear ? linearHist : log2Hist)(s.vals, valType)}`).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Time lines, tables and stacks

/** The `-T` line before each histogram: `HH:MM:SS` and a newline (local time). */
export const timeLine = (now = new Date()): string => `${sprintf('%-8s', strftime('%H:%M:%S', now))}\n`;

/** A table column: `head` formats the title, `cell` (default `head`) the values; both include their separator. */
export interface Column {
  title: string;
  head: string;
  cell?: string;
}

/** A fixed-width table as BCC tools print it, e.g. columns `%-16s `, `%-7d `, `%3d `, `%s` for execsnoop. */
export class Table {
  constructor(readonly columns: Column[]) {}

  /** The header line with its newline. */
  header(): string {
    return `${this.columns.map((c) => sprintf(c.head, c.title)).join('')}\n`;
  }

  /** One row (one value per column) with its newline. */
  row(values: FormatArg[]): string {
    return `${this.columns.map((c, i) => sprintf(c.cell ?? c.head, values[i] ?? '')).join('')}\n`;
  }
}

/** One stack of profile/offcputime's default output; frames leaf first, placeholders already substituted. */
export interface StackSample {
  kernel: string[];
  user: string[];
  /** Print `--` between kernel and user frames (`-d` with both stacks present). */
  delimiter: boolean;
  comm: string;
  pid: number;
  count: number | bigint;
}

/** profile/offcputime multi-line stack: frames indented 4, `    -                comm (pid)`, count, blank line. */
export function stackBlock(s: StackSample): string {
  const frames = [...s.kernel, ...(s.delimiter ? ['--'] : []), ...s.user].map((f) => `    ${f}\n`).join('');
  return `${frames}${sprintf('    %-16s %s (%d)', '-', s.comm, s.pid)}\n${sprintf('        %d', s.count)}\n\n`;
}
