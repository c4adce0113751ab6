/**
 * bpftrace text output: maps (at exit and on `print(@m, top, div)`), histograms, `printf`, `time`, `join` and the
 * status lines, byte for byte as current bpftrace (0.26+) prints them.
 */
import { strftime } from './strftime.js';
import { type Symbolic, type Value, hexFormatBuffer, numericValue, renderParts, renderValue } from './values.js';

/** One element of a map; `key` is undefined for a scalar map (`@x`), a tuple for multi-key maps (`@x[a, b]`). */
export interface MapEntry<T> {
  key?: Value;
  value: T;
}
/** avg()/stats() state summed over CPUs. */
export interface AvgState {
  total: bigint;
  count: bigint;
}
/** A map read from the kernel: per-CPU values already reduced, entries in map iteration order. */
export type MapSnapshot = { name: string } & (
  | { kind: 'count' | 'sum' | 'int' | 'min' | 'max'; entries: MapEntry<bigint>[] }
  | { kind: 'avg' | 'stats'; entries: MapEntry<AvgState>[] }
  /** `hist(n, bits)`: `value[i]` is the count of bucket index i as {@link histBucket} numbers it. */
  | { kind: 'hist'; bits: number; entries: MapEntry<bigint[]>[] }
  /** `lhist(n, min, max, step)`: `value[i]` is the count of bucket index i as {@link lhistBucket} numbers it. */
  | { kind: 'lhist'; min: number; max: number; step: number; entries: MapEntry<bigint[]>[] }
  /** Any other value type (strings, tuples, stacks, ...): sorted by key. */
  | { kind: 'value'; entries: MapEntry<Value>[] }
);

/** A histogram ready to print: `labels[i]` is the upper bound of row i; a row without label is the overflow row. */
export interface Histogram {
  kind: 'histogram';
  lowerBound?: Value;
  labels: Value[];
  counts: bigint[];
}
type Shown = Value | Histogram;
/** A map after sorting, `top`/`div` and histogram building: what both the text and the JSON printers consume. */
export type MapOutput =
  | { shape: 'scalar'; stats: boolean; value: Shown }
  | { shape: 'keyed'; stats: boolean; entries: [Value, Shown][] };

export const isHistogram = (v: Shown): v is Histogram => typeof v === 'object' && v !== null && v.kind === 'histogram';

// ---------------------------------------------------------------------------------------------------------------
// Histogram buckets and labels

/** bpftrace's hist() bucket index of `n` with `bits` (k) sub-buckets per power of two: 0 for negatives. */
export function histBucket(n: bigint, bits = 0): number {
  if (n < 0n) return 0;
  const k = BigInt(bits);
  if (n < 1n << k) return Number(n) + 1;
  const l = BigInt(n.toString(2).length - 1);
  return Number(((l - k + 1n) << k) + ((n >> (l - k)) & ((1n << k) - 1n)) + 1n);
}

/** bpftrace's lhist() bucket index: 0 below `min`, the last bucket for `n >= max`. */
export function lhistBucket(n: bigint, min: number, max: number, step: number): number {
  if (n < BigInt(min)) return 0;
  if (n >= BigInt(max)) return 1 + Math.trunc((max - min) / step);
  return 1 + Number((n - BigInt(min)) / BigInt(step));
}

const SUFFIX = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

/** Lower bound of hist bucket `index` (> 2^(k+1)) as a suffixed power-of-1024 label (`1K`, `2M`). */
function histIndexLabel(index: number, bits: number): Symbolic {
  const n = 1n << BigInt(bits);
  const interval = BigInt(index) & (n - 1n);
  const power = (index >> bits) - 1;
  const decade = Math.floor(power / 10);
  const mantissa = (1n << BigInt(power - 10 * decade)) * (n + interval);
  return { kind: 'symbolic', text: `${mantissa}${SUFFIX[decade]}`, value: (1n << BigInt(power)) * (n + interval) };
}

function histLabel(index: number, bits: number): Value {
  return index <= 2 << bits ? BigInt(index) : histIndexLabel(index, bits);
}

function lhistLabel(n: number, step: number): Value {
  if (step % 1024 !== 0) return BigInt(n);
  const text = n === 0 ? '0' : n % 1048576 === 0 ? `${n / 1048576}M` : n % 1024 === 0 ? `${n / 1024}K` : `${n}`;
  return { kind: 'symbolic', text, value: BigInt.asUintN(64, BigInt(n)) };
}

function nonEmptyRange(counts: bigint[]): [number, number] {
  let first = -1;
  let last = -1;
  counts.forEach((c, i) => {
    if (c > 0n) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return [first, last];
}

/** Builds the printed rows of a hist(): from the first to the last non-empty bucket, counts divided by `div`. */
export function buildHist(counts: bigint[], bits: number, div = 1n): Histogram {
  const h: Histogram = { kind: 'histogram', labels: [], counts: [] };
  const [first, last] = nonEmptyRange(counts);
  if (first < 0) return h;
  if (first !== 0) h.lowerBound = histLabel(first - 1, bits);
  for (let i = first; i <= last; i++) {
    h.labels.push(i === 0 ? 0n : histLabel(i, bits));
    h.counts.push((counts[i] ?? 0n) / div);
  }
  return h;
}

/** Builds the printed rows of an lhist() (no division: bpftrace ignores `div` for linear histograms). */
export function buildLhist(counts: bigint[], min: number, max: number, step: number): Histogram {
  const h: Histogram = { kind: 'histogram', labels: [], counts: [] };
  const [first, last] = nonEmptyRange(counts);
  if (first < 0) return h;
  if (first !== 0) h.lowerBound = lhistLabel(min + (first - 1) * step, step);
  for (let i = first; i <= last; i++) {
    if (min + i * step <= max) h.labels.push(lhistLabel(min + i * step, step));
    h.counts.push(counts[i] ?? 0n);
  }
  return h;
}

const adjacent = (a: Value, b: Value) => typeof a === 'bigint' && typeof b === 'bigint' && a + 1n === b;

function rowLabel(h: Histogram, i: number): string {
  const lo = i === 0 ? h.lowerBound : h.labels[i - 1];
  const hi = h.labels[i];
  if (lo === undefined) return `(..., ${renderValue(hi ?? null)})`;
  if (hi === undefined) return `[${renderValue(lo)}, ...)`;
  if (adjacent(lo, hi)) return `[${renderValue(lo)}]`;
  return `[${renderValue(lo)}, ${renderValue(hi)})`;
}

/** bpftrace's 52-wide bar: floor(count / max * 52) computed in single precision as bpftrace does. */
function barWidth(count: bigint, max: bigint): number {
  if (max === 0n) return 0;
  const ratio = Math.fround(Math.fround(Number(count)) / Math.fround(Number(max)));
  return Math.trunc(Math.fround(ratio * 52));
}

/** The rows of a histogram, each `label(16, left) count(8, right) |bar(52)|` and a newline. */
export function formatHistogram(h: Histogram): string {
  const max = h.counts.reduce((m, c) => (c > m ? c : m), 0n);
  return h.counts
    .map((c, i) => `${rowLabel(h, i).padEnd(16)}${c.toString().padStart(8)} |${'@'.repeat(barWidth(c, max)).padEnd(52)}|\n`)
    .join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Map ordering, top and div

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** Compares two key fields as bpftrace sorts them: integers as signed 64-bit, strings bytewise, others equal. */
function compareKeyField(a: Value, b: Value): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    const x = BigInt.asIntN(64, a);
    const y = BigInt.asIntN(64, b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(utf8(a), utf8(b));
  return 0;
}

function compareKeys(a: Value | undefined, b: Value | undefined): number {
  if (a === undefined || b === undefined) return 0;
  if (typeof a === 'object' && a?.kind === 'tuple' && typeof b === 'object' && b?.kind === 'tuple') {
    for (let i = 0; i < a.items.length; i++) {
      const c = compareKeyField(a.items[i] ?? null, b.items[i] ?? null);
      if (c !== 0) return c;
    }
    return 0;
  }
  return compareKeyField(a, b);
}

const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
const average = (s: AvgState) => (s.count > 0n ? s.total / s.count : 0n);
const sumCounts = (c: bigint[]) => c.reduce((a, b) => a + b, 0n);

/** Divides the integers inside a plain value (bpftrace's `div` reaches into tuple and record fields). */
function divideValue(v: Value, div: bigint): Value {
  if (div === 1n || v === null) return v;
  if (typeof v === 'bigint') return v / div;
  if (typeof v !== 'object') return v;
  if (v.kind === 'tuple' || v.kind === 'array') return { ...v, items: v.items.map((x) => divideValue(x, div)) };
  if (v.kind === 'record') return { ...v, fields: v.fields.map(([k, x]) => [k, divideValue(x, div)]) };
  return v;
}

/** Options of `print(@m, top, div)`: keep only the `top` largest entries, divide values by `div`. */
export interface PrintOptions {
  top?: number;
  div?: number;
}

/**
 * Sorts a map as bpftrace does (ascending by value for count/sum/int/min/max, by average for avg/stats, by total count
 * for hist/lhist, by key otherwise; ties keep iteration order), applies `top` and `div`, and builds histograms.
 */
export function evaluateMap(m: MapSnapshot, opts: PrintOptions = {}): MapOutput {
  const div = BigInt(opts.div || 1);
  let rows: [Value | undefined, Shown][];
  let stats = false;
  switch (m.kind) {
    case 'count':
    case 'sum':
    case 'int':
    case 'min':
    case 'max': {
      // bpftrace compares min/max values as unsigned 64-bit numbers.
      const key = (v: bigint) => (m.kind === 'min' || m.kind === 'max' ? BigInt.asUintN(64, v) : v);
      rows = [...m.entries].sort((a, b) => cmp(key(a.value), key(b.value))).map((e) => [e.key, e.value / div]);
      break;
    }
    case 'avg':
    case 'stats':
      stats = true;
      rows = [...m.entries]
        .sort((a, b) => cmp(average(a.value), average(b.value)))
        .map((e): [Value | undefined, Shown] => {
          const avg = average(e.value) / div;
          if (m.kind === 'avg') return [e.key, avg];
          const fields: [string, Value][] = [['count', e.value.count], ['average', avg], ['total', e.value.total]];
          return [e.key, { kind: 'record', fields }];
        });
      break;
    case 'hist':
    case 'lhist':
      rows = [...m.entries]
        .sort((a, b) => cmp(sumCounts(a.value), sumCounts(b.value)))
        .map((e) => [e.key, m.kind === 'hist' ? buildHist(e.value, m.bits, div) : buildLhist(e.value, m.min, m.max, m.step)]);
      break;
    case 'value':
      rows = [...m.entries].sort((a, b) => compareKeys(a.key, b.key)).map((e) => [e.key, divideValue(e.value, div)]);
      break;
  }
  const top = opts.top ?? 0;
  if (top > 0 && rows.length > top) rows = rows.slice(rows.length - top);
  const first = rows[0];
  if (first !== undefined && first[0] === undefined) return { shape: 'scalar', stats, value: first[1] };
  return { shape: 'keyed', stats, entries: rows.map(([k, v]) => [k ?? null, v]) };
}

/** A map key as printed inside `@m[...]`: a tuple key loses its parentheses. */
export function keyText(key: Value): string {
  const s = renderValue(key);
  return s.length >= 2 && s.startsWith('(') && s.endsWith(')') ? s.slice(1, -1) : s;
}

/** Text of an evaluated map exactly as bpftrace's text output writes it. */
export function formatMapOutput(name: string, out: MapOutput): string {
  if (out.shape === 'scalar') {
    if (isHistogram(out.value)) return `${name}:\n${formatHistogram(out.value)}\n`;
    return `${name}: ${renderValue(out.value)}\n`;
  }
  return out.entries
    .map(([k, v]) =>
      isHistogram(v) ? `${name}[${keyText(k)}]:\n${formatHistogram(v)}\n` : `${name}[${keyText(k)}]: ${renderValue(v)}\n`,
    )
    .join('');
}

/** `print(@m, top, div)` and exit-time text of one map. */
export function formatMap(m: MapSnapshot, opts: PrintOptions = {}): string {
  return formatMapOutput(m.name, evaluateMap(m, opts));
}

/** What bpftrace writes when it stops: two newlines, then every map in name order (unless print_maps_on_exit=0). */
export function formatExit(maps: MapSnapshot[], printMaps = true): string {
  if (!printMaps) return '\n\n';
  const sorted = [...maps].sort((a, b) => Buffer.compare(utf8(a.name), utf8(b.name)));
  return `\n\n${sorted.map((m) => formatMap(m)).join('')}`;
}

/** `print(value)` of a non-map value. */
export const formatPrintValue = (v: Value): string => `${renderValue(v)}\n`;

// ---------------------------------------------------------------------------------------------------------------
// printf

/** One conversion of a printf format string. `width`/`precision` are -1 when absent (`*` is accepted and ignored). */
export interface FormatSpec {
  leftAlign: boolean;
  showSign: boolean;
  spacePrefix: boolean;
  alternate: boolean;
  zeroPad: boolean;
  width: number;
  precision: number;
  length: string;
  specifier: string;
}
/** A parsed format string: `fragments[i]` precedes `specs[i]`; the last fragment follows the last spec. */
export interface ParsedFormat {
  fragments: string[];
  specs: FormatSpec[];
}

const SPEC = /%(-?)(\+?)( ?)(#?)(0?)(\*|\d+)?(?:\.(\*|\d+))?([hlLjzt]*)([diouxXeEfFGaAcspn%]|gr|g|rh|rx|r)/g;

/** Splits a printf format (escapes already decoded) into text fragments and conversions; `%%` becomes `%`. */
export function parseFormat(fmt: string): ParsedFormat {
  const fragments: string[] = [];
  const specs: FormatSpec[] = [];
  let text = '';
  let last = 0;
  for (const m of fmt.matchAll(SPEC)) {
    text += fmt.slice(last, m.index);
    last = m.index + m[0].length;
    const spec: FormatSpec = {
      leftAlign: m[1] !== '', showSign: m[2] !== '', spacePrefix: m[3] !== '', alternate: m[4] !== '', zeroPad: m[5] !== '',
      width: m[6] !== undefined && m[6] !== '*' ? Number(m[6]) : -1,
      precision: m[7] !== undefined && m[7] !== '*' ? Number(m[7]) : -1,
      length: m[8] ?? '', specifier: m[9] ?? '',
    };
    if (spec.specifier === '%') {
      text += '%';
      continue;
    }
    fragments.push(text);
    text = '';
    specs.push(spec);
  }
  fragments.push(text + fmt.slice(last));
  return { fragments, specs };
}

/** The argument kind a conversion accepts, or undefined when bpftrace rejects the specifier (`%f`, `%e`, `%n`...). */
export function printfArgKind(specifier: string): 'integer' | 'buffer' | 'any' | undefined {
  if (['d', 'i', 'u', 'o', 'x', 'X', 'c', 'p', 'gr'].includes(specifier)) return 'integer';
  if (['r', 'rx', 'rh'].includes(specifier)) return 'buffer';
  return specifier === 's' ? 'any' : undefined;
}

/** bpftrace's compile-time printf check (argument count and supported specifiers); returns the error text or undefined. */
export function checkFormat(f: ParsedFormat, argCount: number): string | undefined {
  if (argCount !== f.specs.length) {
    const which = argCount < f.specs.length ? 'not enough' : 'too many';
    return `${which} arguments for format string (${argCount} supplied, ${f.specs.length} expected)`;
  }
  const bad = f.specs.find((s) => printfArgKind(s.specifier) === undefined);
  return bad && `unsupported format specifier: ${bad.specifier}`;
}

const SIGNED_BITS: Record<string, number> = { hh: 8, h: 16, l: 64, ll: 64, j: 64, z: 64, t: 64 };

function pad(s: string, spec: FormatSpec): string {
  const missing = spec.width - Buffer.byteLength(s, 'utf8');
  if (missing <= 0) return s;
  const fill = (spec.zeroPad ? '0' : ' ').repeat(missing);
  return spec.leftAlign ? s + fill : fill + s;
}

/** GFP flag names in the kernel's matching order (compound masks first), from linux/gfp_types.h bit numbers. */
const GFP_FLAGS: [bigint, string][] = (() => {
  const bits = ['DMA', 'HIGHMEM', 'DMA32', 'MOVABLE', 'RECLAIMABLE', 'HIGH', 'IO', 'FS', 'ZERO', 'UNUSED',
    'DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'WRITE', 'NOWARN', 'RETRY_MAYFAIL', 'NOFAIL', 'NORETRY', 'MEMALLOC', 'COMP',
    'NOMEMALLOC', 'HARDWALL', 'THISNODE', 'ACCOUNT', 'ZEROTAGS', 'SKIP_ZERO', 'SKIP_KASAN', 'NO_OBJ_EXT'];
  const or = (...names: string[]) => names.reduce((m, n) => m | (1n << BigInt(bits.indexOf(n))), 0n);
  const reclaim = or('DIRECT_RECLAIM', 'KSWAPD_RECLAIM');
  const kernel = reclaim | or('IO', 'FS');
  const nofs = reclaim | or('IO');
  const user = nofs | or('FS', 'HARDWALL');
  const highuser = user | or('HIGHMEM');
  const movable = highuser | or('MOVABLE', 'SKIP_KASAN');
  const thpLight = (movable | or('COMP', 'NOMEMALLOC', 'NOWARN')) & ~reclaim;
  const singles = bits.filter((n) => !['DMA', 'MOVABLE', 'RECLAIMABLE', 'UNUSED'].includes(n));
  return [
    [thpLight | or('DIRECT_RECLAIM'), 'GFP_TRANSHUGE'], [thpLight, 'GFP_TRANSHUGE_LIGHT'],
    [movable, 'GFP_HIGHUSER_MOVABLE'], [highuser, 'GFP_HIGHUSER'], [user, 'GFP_USER'],
    [kernel | or('ACCOUNT'), 'GFP_KERNEL_ACCOUNT'], [kernel, 'GFP_KERNEL'], [nofs, 'GFP_NOFS'],
    [or('HIGH', 'KSWAPD_RECLAIM'), 'GFP_ATOMIC'], [reclaim, 'GFP_NOIO'], [or('KSWAPD_RECLAIM', 'NOWARN'), 'GFP_NOWAIT'],
    [or('DMA'), 'GFP_DMA'],
    ...singles.map((n): [bigint, string] => [or(n), n === 'DMA32' ? 'GFP_DMA32' : `__GFP_${n}`]),
  ];
})();

/** `%gr` text of GFP flags: known masks joined by `|`, leftover bits as hex. */
export function formatGfpFlags(flags: bigint): string {
  if (flags === 0n) return '0';
  let rest = BigInt.asUintN(64, flags);
  const names: string[] = [];
  for (const [mask, name] of GFP_FLAGS) {
    if ((rest & mask) === mask) {
      names.push(name);
      rest &= ~mask;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/** One conversion, with the semantics of bpftrace's iostream formatting (padding goes outside sign and `0x`). */
function applySpec(spec: FormatSpec, v: Value): string {
  const { specifier: sp, length } = spec;
  // Unsupported specifiers (%f, %e, %n...) never get here: checkFormat rejects them at compile time.
  if (sp === 's' || printfArgKind(sp) === undefined) {
    const [head, tail] = renderParts(v);
    return pad(head, spec) + tail;
  }
  if (printfArgKind(sp) === 'buffer') {
    if (typeof v !== 'object' || v?.kind !== 'buffer') return applySpec({ ...spec, specifier: 's' }, v);
    return pad(hexFormatBuffer(v.bytes, sp === 'r', sp !== 'rh'), spec);
  }
  const n = typeof v === 'boolean' && sp === 'gr' ? undefined : numericValue(v);
  if (n === undefined) return `!{invalid ${sp === 'gr' ? 'GFP flags' : 'integer'} conversion: ${renderValue(v)}}`;
  let text: string;
  if (sp === 'gr') text = formatGfpFlags(n);
  else if (sp === 'c') text = String.fromCharCode(Number(BigInt.asUintN(8, n)));
  else if (sp === 'p') {
    const u = BigInt.asUintN(64, n);
    text = u === 0n ? '0' : `0x${u.toString(16)}`;
  } else if (sp === 'd' || sp === 'i') {
    const s = BigInt.asIntN(SIGNED_BITS[length] ?? 32, n);
    text = (spec.showSign && s >= 0n ? '+' : '') + s.toString();
  } else {
    const u = BigInt.asUintN(SIGNED_BITS[length] ?? 32, n);
    const base = sp === 'o' ? 8 : sp === 'u' ? 10 : 16;
    text = u.toString(base);
    if (spec.alternate && u !== 0n) text = (base === 8 ? '0' : base === 16 ? '0x' : '') + text;
    if (sp === 'X') text = text.toUpperCase();
  }
  return pad(text, spec);
}

/** bpftrace printf: formats `args` (one per conversion) into the text printf prints. */
export function formatPrintf(fmt: string | ParsedFormat, args: Value[]): string {
  const f = typeof fmt === 'string' ? parseFormat(fmt) : fmt;
  let out = '';
  f.specs.forEach((spec, i) => {
    out += f.fragments[i];
    out += i < args.length ? applySpec(spec, args[i] ?? null) : '';
  });
  return out + f.fragments[f.specs.length];
}

// ---------------------------------------------------------------------------------------------------------------
// time, join and status lines

/** `time(fmt)` output at `now` in local time (default format `%H:%M:%S\n`); bpftrace adds no newline of its own. */
export const formatTime = (fmt = '%H:%M:%S\n', now = new Date()): string => strftime(fmt, now);

/** `join(argv, sep)`: the strings up to the first empty one, joined, then a newline. */
export function joinText(args: string[], sep = ' '): string {
  const end = args.indexOf('');
  return (end < 0 ? args : args.slice(0, end)).join(sep);
}
/** Text output of `join()`. */
export const formatJoin = (args: string[], sep = ' '): string => `${joinText(args, sep)}\n`;

/** The stderr line after attaching: `Attached 1 probe` / `Attached N probes` (0.17 printed `Attaching N probes...`). */
export const formatAttachedProbes = (n: number): string => `Attached ${n} probe${n === 1 ? '' : 's'}\n`;

/** The stderr line when the ring buffer dropped events. */
export const formatLostEvents = (n: bigint | number): string => `Lost ${n} events\n`;

/** The final stderr warning with the total count of lost events. */
export const formatTotalLost = (n: bigint | number): string => `WARNING: Total lost event count: ${n}\n`;
