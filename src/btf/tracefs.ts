/**
 * Tracepoint formats from tracefs: events/<system>/<event>/format, and event listing with wildcards.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tracefs } from '../sys/mount.js';
import { KscopeError } from '../sys/errors.js';

/** One field of a tracepoint's raw record. */
export interface TraceField {
  name: string;
  /** C type without the name, arrays included: `const char *`, `char[16]`, `char[]` (for __data_loc). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  isArray: boolean;
  arrayLen?: number;
  /** `__data_loc`: the field is a u32, low 16 bits = offset of the data in the record, high 16 = its length. */
  dataLoc: boolean;
  /** `__rel_loc`: like dataLoc, but the offset counts from the end of this field. */
  relLoc: boolean;
  /** One of the common_* fields every event starts with. */
  common: boolean;
}

export interface TraceFormat {
  id: number;
  name: string;
  system: string;
  fields: TraceField[];
  printFmt: string;
}

export interface TraceEvent { system: string; name: string }

const FIELD = /^\s*field:(.+?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/;
const DECL = /^(.*?)\s*([A-Za-z_]\w*)\s*(?:\[([^\]]*)\])?$/;

/** Parses the text of a tracefs `format` file. */
export function parseFormat(text: string, system: string): TraceFormat {
  const lines = text.split('\n');
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
  if (!name || !id) throw new KscopeError(`malformed tracepoint format for ${system} (no name or ID)`);
  const fields: TraceField[] = [];
  let common = true, inFormat = false;
  for (const line of lines) {
    if (line.startsWith('format:')) inFormat = true;
    else if (inFormat && line.trim() === '' && fields.length) common = false;
    const m = FIELD.exec(line);
    if (m) fields.push(parseField(m[1], +m[2], +m[3], m[4] === '1', common));
  }
  const printFmt = /^print fmt:\s*(.*)$/m.exec(text)?.[1] ?? '';
  return { id: +id, name, system, fields, printFmt };
}

function parseField(declText: string, offset: number, size: number, signed: boolean, common: boolean): TraceField {
  let decl = declText.trim();
  const loc = /^__(data|rel)_loc\s+/.exec(decl);
  if (loc) decl = decl.slice(loc[0].length);
  const d = DECL.exec(decl);
  if (!d) throw new KscopeError(`cannot parse tracepoint field '${declText}'`);
  const [, base, name, dim] = d;
  const type = dim === undefined ? base : `${base}[${dim}]`;
  const len = dim !== undefined && /^\d+$/.test(dim) ? +dim : undefined;
  return {
    name, type, offset, size, signed, common,
    isArray: type.endsWith(']'),
    ...(len !== undefined ? { arrayLen: len } : {}),
    dataLoc: loc?.[1] === 'data', relLoc: loc?.[1] === 'rel',
  };
}

/** Splits a __data_loc / __rel_loc u32 into the data's offset and length. */
export function decodeDataLoc(v: number): { offset: number; length: number } {
  return { offset: v & 0xffff, length: v >>> 16 };
}

const formats = new Map<string, TraceFormat>();

/** The format of tracepoint `system:name` (read once per process). */
export function tracepointFormat(system: string, name: string): TraceFormat {
  const key = `${system}:${name}`;
  let f = formats.get(key);
  if (!f) {
    if (!/^[\w.-]+$/.test(system) || !/^[\w.-]+$/.test(name)) throw new KscopeError(`invalid tracepoint name '${key}'`);
    let text: string;
    try {
      text = readFileSync(`${tracefs()}/events/${system}/${name}/format`, 'utf8');
    } catch (e) {
      throw new KscopeError(`tracepoint ${key} not found (${(e as NodeJS.ErrnoException).code})`, `list tracepoints with: kscope -l 'tracepoint:${system}:*'`);
    }
    formats.set(key, (f = parseFormat(text, system)));
  }
  return f;
}

let events: TraceEvent[] | undefined;

/** All tracepoints (tracefs available_events), read once per process. */
export function allEvents(): TraceEvent[] {
  return (events ??= readFileSync(`${tracefs()}/available_events`, 'utf8')
    .split('\n')
    .filter((l) => l.includes(':'))
    .map((l) => {
      const i = l.indexOf(':');
      return { system: l.slice(0, i), name: l.slice(i + 1).trim() };
    }));
}

/** A bpftrace-style wildcard (`*`, `?`) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const src = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${src}$`);
}

/**
 * Tracepoints matching `system:event` with wildcards (`syscalls:sys_enter_open*`, `sched:*`, `*:*sched_switch`);
 * a pattern without ':' matches the event name in every system. Sorted by system, then name.
 */
export function listEvents(pattern: string): TraceEvent[] {
  const i = pattern.indexOf(':');
  if (/^\w[\w.-]*:\w[\w.-]*$/.test(pattern)) {
    // one exact event: its folder says whether it exists, without reading the ~2 000-line list (~5 ms at start-up).
    // The list leaves out ftrace's own events (ftrace:print, ...), which have a format but no `enable` file.
    const system = pattern.slice(0, i);
    const name = pattern.slice(i + 1);
    return existsSync(`${tracefs()}/events/${system}/${name}/enable`) ? [{ system, name }] : [];
  }
  const sys = globToRegExp(i < 0 ? '*' : pattern.slice(0, i));
  const ev = globToRegExp(pattern.slice(i + 1));
  return allEvents()
    .filter((e) => sys.test(e.system) && ev.test(e.name))
    .sort((a, b) => (a.system === b.system ? (a.name < b.name ? -1 : 1) : a.system < b.system ? -1 : 1));
}
