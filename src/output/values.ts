/**
 * The value model the runtime produces from BPF data, and its text rendering as bpftrace prints values in maps,
 * `print()` and `printf("%s")`.
 *
 * How bpftrace types map onto it:
 * - integers of any width/sign: `bigint`, already interpreted with the type's signedness;
 * - `bool`: `boolean`; none/void: `null`;
 * - strings: `string` (the runtime appends the `..` truncation trailer when the string filled its buffer); so are
 *   ksym/usym (symbol name or `0x…` fallback), `ntop()` inet text, usernames, cgroup paths and mac addresses;
 * - pointers and enums: {@link Symbolic} (text `0x1f00` / enum name, numeric value for JSON and printf `%d`);
 * - `buf()`: {@link BufferValue}; tuples, arrays, records and structs: {@link TupleValue}, {@link ArrayValue},
 *   {@link RecordValue};
 * - kstack/ustack: {@link StackValue} with already-symbolised frames;
 * - `strftime()` results: {@link TimestampValue} (wall-clock nanoseconds and the format).
 */
import { formatTimestamp } from './strftime.js';

export interface BufferValue {
  kind: 'buffer';
  bytes: Uint8Array;
}
export interface TupleValue {
  kind: 'tuple';
  items: Value[];
}
export interface ArrayValue {
  kind: 'array';
  items: Value[];
}
export interface RecordValue {
  kind: 'record';
  fields: [string, Value][];
}
export interface Symbolic {
  kind: 'symbolic';
  text: string;
  value: bigint;
}
/** A stack: `frames` leaf first. `perf` mode prints `addrs[i]` before each frame, `raw` mode prints only `addrs`. */
export interface StackValue {
  kind: 'stack';
  frames: string[];
  mode?: 'bpftrace' | 'perf' | 'raw';
  addrs?: bigint[];
}
/** A `strftime(fmt, t)` value: `wallNs` is nanoseconds since the epoch (boot time already converted). */
export interface TimestampValue {
  kind: 'timestamp';
  format: string;
  wallNs: bigint;
}

export type Value =
  | bigint
  | boolean
  | string
  | null
  | BufferValue
  | TupleValue
  | ArrayValue
  | RecordValue
  | Symbolic
  | StackValue
  | TimestampValue;

/** A tuple value (also the key of a multi-key map `@m[a, b]`). */
export const tuple = (...items: Value[]): TupleValue => ({ kind: 'tuple', items });
/** A pointer value: prints as lowercase hex `0x…`. */
export const pointer = (addr: bigint): Symbolic => ({ kind: 'symbolic', text: `0x${addr.toString(16)}`, value: addr });
/** An enum value printed by name. */
export const enumValue = (name: string, value: bigint): Symbolic => ({ kind: 'symbolic', text: name, value });
/** A byte buffer (`buf()`). */
export const buffer = (bytes: Uint8Array | number[]): BufferValue => ({ kind: 'buffer', bytes: Uint8Array.from(bytes) });
/** A kstack/ustack value in bpftrace's default mode. */
export const stack = (frames: string[]): StackValue => ({ kind: 'stack', frames });

/**
 * Buffer text as bpftrace's hex formatter: printable ASCII kept when `keepAscii`, other bytes `\xNN` when `escapeHex`,
 * else space-separated `NN NN` (`%r` = both true, `%rx` = escape all, `%rh` = spaced hex).
 */
export function hexFormatBuffer(bytes: Uint8Array, keepAscii = true, escapeHex = true): string {
  let s = '';
  bytes.forEach((b, i) => {
    const hex = b.toString(16).padStart(2, '0');
    if (keepAscii && b >= 32 && b <= 126) s += String.fromCharCode(b);
    else if (escapeHex) s += `\\x${hex}`;
    else s += i === bytes.length - 1 ? hex : `${hex} `;
  });
  return s;
}

function renderStack(s: StackValue): string {
  const mode = s.mode ?? 'bpftrace';
  let out = '\n';
  s.frames.forEach((frame, i) => {
    const addr = (s.addrs?.[i] ?? 0n).toString(16);
    out += mode === 'raw' ? `${addr}\n` : mode === 'perf' ? `\t${addr} ${frame}\n` : `        ${frame}\n`;
  });
  return out;
}

/**
 * A value's text split into the first piece bpftrace streams and the rest. A printf width pads only the first
 * piece (so `%10s` of a tuple pads the `(`), which matters for byte-exact output.
 */
export function renderParts(v: Value): [head: string, tail: string] {
  if (typeof v === 'bigint') return [v.toString(), ''];
  if (typeof v === 'boolean') return [v ? 'true' : 'false', ''];
  if (typeof v === 'string') return [v, ''];
  if (v === null) return ['null', ''];
  switch (v.kind) {
    case 'buffer':
      return [hexFormatBuffer(v.bytes), ''];
    case 'tuple':
      return ['(', `${v.items.map(renderValue).join(', ')})`];
    case 'array':
      return ['[', `${v.items.map(renderValue).join(',')}]`];
    case 'record':
      if (v.fields.length === 0) return ['{}', ''];
      return ['{ ', `${v.fields.map(([k, f]) => `.${k} = ${renderValue(f)}`).join(', ')} }`];
    case 'symbolic':
      return [v.text, ''];
    case 'stack':
      return [renderStack(v), ''];
    case 'timestamp':
      return [formatTimestamp(v.format, v.wallNs), ''];
  }
}

/** A value's text as bpftrace prints it in maps, `print(value)` and `%s`. */
export function renderValue(v: Value): string {
  const [head, tail] = renderParts(v);
  return head + tail;
}

/** A value's numeric meaning for integer conversions, or undefined when it has none. */
export function numericValue(v: Value): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (v !== null && typeof v === 'object' && v.kind === 'symbolic') return v.value;
  return undefined;
}
