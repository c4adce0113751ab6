/**
 * bpftrace `-f json` output: one JSON object per line, `{"type": T, "data": ...}`, spaced exactly as current
 * bpftrace writes it (objects `", "`/`": "`, arrays without spaces).
 */
import { type Histogram, type MapOutput, type MapSnapshot, type PrintOptions, evaluateMap, isHistogram, joinText, keyText } from './bpftrace.js';
import { type Value, renderValue } from './values.js';

/** A JSON string literal (bpftrace escapes `"` `\` `\n` `\r` `\t` and other control characters as `\u00XX`). */
export function jsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c <= 0x1f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** An integer as a JSON number, or as a string when a double cannot hold it exactly. */
export const jsonInteger = (n: bigint): string => (BigInt(Number(n)) === n ? n.toString() : jsonString(n.toString()));

/** A value as bpftrace's JSON emitter writes it: pointers/enums numerically, buffers as arrays of signed bytes. */
export function jsonValue(v: Value): string {
  if (typeof v === 'bigint') return jsonInteger(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return jsonString(v);
  if (v === null) return 'null';
  switch (v.kind) {
    case 'buffer':
      return `[${Array.from(v.bytes, (b) => (b << 24) >> 24).join(',')}]`;
    case 'tuple':
    case 'array':
      return `[${v.items.map(jsonValue).join(',')}]`;
    case 'record':
      return `{${v.fields.map(([k, f]) => `${jsonString(k)}: ${jsonValue(f)}`).join(', ')}}`;
    case 'symbolic':
      return jsonInteger(BigInt.asUintN(64, v.value));
    case 'stack':
    case 'timestamp':
      return jsonString(renderValue(v));
  }
}

/** The closed upper bound bpftrace prints as `max`: one less than the row's label. */
function oneLess(label: Value): string {
  if (typeof label === 'bigint') return jsonInteger(label - 1n);
  if (typeof label === 'object' && label?.kind === 'symbolic') return jsonInteger(BigInt.asIntN(64, label.value - 1n));
  return jsonValue(label);
}

/** A histogram as `[{"min": a, "max": b, "count": n}, ...]` (no `min` on the underflow row, no `max` on overflow). */
export function jsonHistogram(h: Histogram): string {
  const rows = h.counts.map((count, i) => {
    const lo = i === 0 ? h.lowerBound : h.labels[i - 1];
    const hi = h.labels[i];
    const min = lo === undefined ? '' : `"min": ${jsonValue(lo)}, `;
    const max = hi === undefined ? '' : `"max": ${oneLess(hi)}, `;
    return `{${min}${max}"count": ${count}}`;
  });
  return `[${rows.join(',')}]`;
}

const shown = (v: Value | Histogram): string => (isHistogram(v) ? jsonHistogram(v) : jsonValue(v));

function line(type: string, data: string): string {
  return `{"type": "${type}", "data": ${data}}\n`;
}

/** JSON line for an evaluated map, or '' when bpftrace emits nothing (an empty keyed map). */
export function jsonMapOutput(name: string, out: MapOutput): string {
  if (out.shape === 'scalar') {
    const type = out.stats ? 'stats' : isHistogram(out.value) ? 'hist' : 'map';
    return line(type, `{${jsonString(name)}: ${shown(out.value)}}`);
  }
  if (out.entries.length === 0 && !out.stats) return '';
  const first = out.entries[0]?.[1];
  const type = out.stats ? 'stats' : first !== undefined && isHistogram(first) ? 'hist' : 'map';
  // Keys are the text form without tuple parentheses and without any spaces.
  const body = out.entries.map(([k, v]) => `${jsonString(keyText(k).replaceAll(' ', ''))}: ${shown(v)}`).join(', ');
  return line(type, `{${jsonString(name)}: {${body}}}`);
}

/** JSON of `print(@m, top, div)` and of a map printed at exit. */
export const jsonMap = (m: MapSnapshot, opts: PrintOptions = {}): string => jsonMapOutput(m.name, evaluateMap(m, opts));

/** JSON of the maps printed at exit (name order; no blank lines in JSON mode). */
export function jsonExit(maps: MapSnapshot[]): string {
  const sorted = [...maps].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return sorted.map((m) => jsonMap(m)).join('');
}

/** `printf` output. */
export const jsonPrintf = (text: string): string => line('printf', jsonString(text));
/** `print(value)` of a non-map value. */
export const jsonPrintValue = (v: Value): string => line('value', jsonValue(v));
/** `time()` output. */
export const jsonTime = (text: string): string => line('time', jsonString(text));
/** `join()` output (no trailing newline inside the data). */
export const jsonJoin = (args: string[], sep = ' '): string => line('join', jsonString(joinText(args, sep)));
/** `cat()` output. */
export const jsonCat = (text: string): string => line('cat', jsonString(text));
/** `system()` output. */
export const jsonSyscall = (text: string): string => line('syscall', jsonString(text));

/** Startup line with the number of attached probes. */
export const jsonAttachedProbes = (n: number): string =>
  `{"type": "attached_probes", "count": ${n}, "data": {"probes": ${n}}}\n`;
/** Event-loss line. */
export const jsonLostEvents = (n: bigint | number): string =>
  `{"type": "lost_events", "count": ${n}, "data": {"events": ${n}}}\n`;

/** Where in the script a message comes from. */
export interface SourceLocation {
  filename: string;
  line: number;
  col: number;
}
const where = (loc: SourceLocation) =>
  `"filename": ${jsonString(loc.filename)}, "line": ${loc.line}, "col": ${loc.col}}\n`;

/** `errorf()`/`warnf()` output. */
export const jsonErrorf = (severity: 'errorf' | 'warnf', msg: string, loc: SourceLocation): string =>
  `{"type": "${severity}", "msg": ${jsonString(msg)}, ${where(loc)}`;

/** A failed BPF helper reported with `-k`: `msg` is strerror(-retcode), `helper` the helper id. */
export const jsonHelperError = (msg: string, helper: number | string, retcode: number, loc: SourceLocation): string =>
  `{"type": "helper_error", "msg": ${jsonString(msg)}, "helper": ${jsonString(String(helper))}, "retcode": ${retcode}, ${where(loc)}`;

/** Any other runtime error. */
export const jsonRuntimeError = (msg: string, loc: SourceLocation): string =>
  `{"type": "runtime_error", "msg": ${jsonString(msg)}, ${where(loc)}`;
