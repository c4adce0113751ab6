/** tracepoint:<system>:<event> — a perf event of type TRACEPOINT with the program attached. */
import { readFileSync } from 'node:fs';
import { KscopeError } from '../../sys/errors.js';
import { tracefs } from '../../sys/mount.js';
import { PERF_TYPE, perfEventOpen } from '../../sys/perf.js';
import type { Program } from '../program.js';
import { attachToPerfEvent, Link } from './link.js';

/** The numeric id of a tracefs event (also used for kprobe/uprobe events created through tracefs). */
export function tracepointId(system: string, event: string): number {
  const path = `${tracefs()}/events/${system}/${event}/id`;
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    throw new KscopeError(`tracepoint not found: ${system}:${event}`, `list tracepoints with: kscope -l 'tracepoint:${system}:*'`);
  }
}

export function attachTracepoint(prog: Program, system: string, event: string): Link {
  const what = `tracepoint:${system}:${event}`;
  const fd = perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: BigInt(tracepointId(system, event)), samplePeriod: 1n, wakeup: 1 }, { pid: -1, cpu: 0 }, what);
  return new Link(what, attachToPerfEvent(prog, fd, what));
}
