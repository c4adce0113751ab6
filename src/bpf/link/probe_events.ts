/**
 * What kprobes and uprobes share: the dynamic PMU (perf_event_open with the probe target in config1/config2), and
 * the legacy tracefs interface (kprobe_events/uprobe_events) for kernels without that PMU. Legacy events are
 * named kscope_<pid>_<n>, removed when detached, and stale ones from dead kscope processes are swept.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { SysError } from '../../sys/errors.js';
import { tracefs } from '../../sys/mount.js';
import { PERF_TYPE, perfEventOpen } from '../../sys/perf.js';
import type { Program } from '../program.js';
import { attachToPerfEvent, Link } from './link.js';
import { tracepointId } from './tracepoint.js';

export type ProbeKind = 'kprobe' | 'uprobe';

/** The PMU type number of the kprobe/uprobe PMU, or undefined when the kernel has none. */
export function pmuType(kind: ProbeKind): number | undefined {
  const p = `/sys/bus/event_source/devices/${kind}/type`;
  return existsSync(p) ? Number(readFileSync(p, 'utf8').trim()) : undefined;
}

/** The config bit that turns a probe into a return probe ("config:0" → bit 0). */
export function retprobeBit(kind: ProbeKind): bigint {
  const p = `/sys/bus/event_source/devices/${kind}/format/retprobe`;
  const m = existsSync(p) ? /config:(\d+)/.exec(readFileSync(p, 'utf8')) : null;
  return 1n << BigInt(m ? Number(m[1]) : 0);
}

/** Whether tracefs offers the legacy <kind>_events file. */
export function legacyAvailable(kind: ProbeKind): boolean {
  try {
    return existsSync(`${tracefs()}/${kind}_events`);
  } catch {
    return false;
  }
}

let seq = 0;
const GROUP = 'kscope';

function eventsFile(kind: ProbeKind): string {
  return `${tracefs()}/${kind}_events`;
}

/** Removes kscope probe events left by processes that no longer exist (a crash or SIGKILL). */
export function sweepStaleEvents(kind: ProbeKind): number {
  const file = eventsFile(kind);
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = new RegExp(`^[pr]:${GROUP}/(kscope_(\\d+)_\\d+) `).exec(line);
    if (!m || existsSync(`/proc/${m[2]}`)) continue;
    try {
      appendFileSync(file, `-:${GROUP}/${m[1]}\n`);
      n++;
    } catch {
      // in use or already gone
    }
  }
  return n;
}

/** Attaches through a legacy tracefs probe event `def` (e.g. "vfs_read+0" or "/bin/bash:0x1234"). */
function attachLegacy(prog: Program, kind: ProbeKind, def: string, retprobe: boolean, pid: number, what: string): Link {
  const file = eventsFile(kind);
  const name = `kscope_${process.pid}_${seq++}`;
  try {
    appendFileSync(file, `${retprobe ? 'r' : 'p'}:${GROUP}/${name} ${def}\n`);
  } catch (e) {
    throw new SysError(`${what}: writing ${file}`, (e as NodeJS.ErrnoException).errno ? -(e as NodeJS.ErrnoException).errno! : 22);
  }
  const remove = () => {
    try {
      appendFileSync(file, `-:${GROUP}/${name}\n`);
    } catch {
      // already removed
    }
  };
  try {
    const fd = perfEventOpen({ type: PERF_TYPE.TRACEPOINT, config: BigInt(tracepointId(GROUP, name)), samplePeriod: 1n, wakeup: 1 }, { pid, cpu: pid >= 0 ? -1 : 0 }, what);
    return new Link(what, attachToPerfEvent(prog, fd, what), remove);
  } catch (e) {
    remove();
    throw e;
  }
}

export interface ProbeTarget {
  kind: ProbeKind;
  retprobe: boolean;
  /** kprobe: function name; uprobe: binary path */
  target: string;
  /** kprobe: offset into the function; uprobe: file offset */
  offset: bigint;
  /** uprobe: limit to one process (-1: all) */
  pid?: number;
  /** more config bits for the PMU event (uprobe: ref_ctr_offset) */
  config?: bigint;
  /** legacy tracefs definition of the same target */
  legacyDef: string;
  what: string;
  /** force the legacy interface (tests) */
  legacy?: boolean;
}

/** Attaches through the PMU when the kernel has it, else through legacy tracefs events. */
export function attachProbe(prog: Program, t: ProbeTarget): Link {
  const type = t.legacy ? undefined : pmuType(t.kind);
  const pid = t.pid ?? -1;
  if (type === undefined) {
    sweepStaleEvents(t.kind);
    return attachLegacy(prog, t.kind, t.legacyDef, t.retprobe, pid, t.what);
  }
  const fd = perfEventOpen(
    {
      type,
      config: (t.retprobe ? retprobeBit(t.kind) : 0n) | (t.config ?? 0n),
      config1String: t.target,
      config2: t.offset,
      samplePeriod: 1n,
      wakeup: 1,
    },
    { pid, cpu: pid >= 0 ? -1 : 0 },
    t.what,
  );
  return new Link(t.what, attachToPerfEvent(prog, fd, t.what));
}
