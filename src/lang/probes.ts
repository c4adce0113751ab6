/**
 * Probe expansion: an attach point as written (`t:syscalls:sys_enter_open*`, `profile:hz:99`, `BEGIN`) becomes
 * one or more concrete attach targets, checked against what this kernel offers.
 */
import { listEvents } from '../btf/tracefs.js';
import { PERF_COUNT_SW, PERF_TYPE } from '../sys/perf.js';
import { splitAttachPoint } from './parser.js';

export type Target =
  | { provider: 'begin' | 'end' }
  | { provider: 'tracepoint'; system: string; event: string }
  | { provider: 'rawtracepoint'; event: string }
  | { provider: 'profile' | 'interval' | 'software'; perfType: number; config: number; frequency?: number; period?: number }
  | { provider: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit'; func: string; offset?: number }
  | { provider: 'uprobe' | 'uretprobe'; path: string; symbol: string };

/** A concrete attach point and the name bpftrace would show for it (the `probe` builtin). */
export interface Expanded {
  name: string;
  target: Target;
}

const SOFTWARE: Record<string, [number, number]> = {
  'cpu-clock': [PERF_COUNT_SW.CPU_CLOCK, 1000000],
  cpu: [PERF_COUNT_SW.CPU_CLOCK, 1000000],
  'task-clock': [PERF_COUNT_SW.TASK_CLOCK, 1000000],
  'page-faults': [PERF_COUNT_SW.PAGE_FAULTS, 100],
  faults: [PERF_COUNT_SW.PAGE_FAULTS, 100],
  'context-switches': [PERF_COUNT_SW.CONTEXT_SWITCHES, 1000],
  cs: [PERF_COUNT_SW.CONTEXT_SWITCHES, 1000],
  'cpu-migrations': [PERF_COUNT_SW.CPU_MIGRATIONS, 1],
  'minor-faults': [PERF_COUNT_SW.PAGE_FAULTS_MIN, 100],
  'major-faults': [PERF_COUNT_SW.PAGE_FAULTS_MAJ, 1],
  'alignment-faults': [PERF_COUNT_SW.ALIGNMENT_FAULTS, 1],
  'emulation-faults': [PERF_COUNT_SW.EMULATION_FAULTS, 1],
  dummy: [PERF_COUNT_SW.DUMMY, 1],
  'bpf-output': [PERF_COUNT_SW.BPF_OUTPUT, 1],
};

export const SOFTWARE_EVENTS = Object.keys(SOFTWARE);

const UNIT_NS: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 };

/** Parses a rate/period like `hz:99`, `s:1`, `ms:10`, `99` (ns) or `1s` into frequency or period (ns). */
function timing(parts: string[]): { frequency?: number; period?: number } | string {
  if (parts.length === 2) {
    const [unit, v] = parts as [string, string];
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) return `invalid rate: ${v}`;
    if (unit === 'hz') return { frequency: n };
    if (unit in UNIT_NS) return { period: n * UNIT_NS[unit]! };
    return `invalid unit: ${unit} (use hz, s, ms, us or ns)`;
  }
  if (parts.length === 1) {
    const m = /^(\d+)(hz|s|ms|us|ns)?$/.exec(parts[0]!);
    if (!m) return `invalid rate: ${parts[0]}`;
    return m[2] === 'hz' ? { frequency: Number(m[1]) } : { period: Number(m[1]) * UNIT_NS[m[2] ?? 'ns']! };
  }
  return 'expected <unit>:<value>';
}

/**
 * Expands one attach point. Returns the concrete targets, or an error message (for a diagnostic at the attach
 * point's range).
 */
export function expandAttachPoint(raw: string, params: readonly string[] = []): Expanded[] | string {
  const ap = splitAttachPoint(raw, params);
  if (typeof ap === 'string') return ap;
  const p = ap.parts;
  switch (ap.provider) {
    case 'begin':
    case 'end':
      if (p.length) return `${ap.provider.toUpperCase()} takes no arguments`;
      return [{ name: ap.provider === 'begin' ? 'BEGIN' : 'END', target: { provider: ap.provider } }];
    case 'tracepoint': {
      if (p.length !== 2) return 'tracepoint probes are tracepoint:<category>:<event>';
      const events = listEvents(`${p[0]}:${p[1]}`);
      if (!events.length) return /[*?[]/.test(raw) ? `no tracepoints match ${p[0]}:${p[1]}` : `tracepoint not found: ${p[0]}:${p[1]}`;
      return events.map((e) => ({ name: `tracepoint:${e.system}:${e.name}`, target: { provider: 'tracepoint', system: e.system, event: e.name } }));
    }
    case 'rawtracepoint': {
      const ev = p[p.length - 1];
      if (!ev || p.length > 2) return 'rawtracepoint probes are rawtracepoint:[module:]<event>';
      return [{ name: `rawtracepoint:${ev}`, target: { provider: 'rawtracepoint', event: ev } }];
    }
    case 'profile':
    case 'interval': {
      const t = timing(p);
      if (typeof t === 'string') return `${ap.provider}: ${t}`;
      const name = `${ap.provider}:${p.join(':')}`;
      return [{ name, target: { provider: ap.provider, perfType: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, ...t } }];
    }
    case 'software': {
      const ev = SOFTWARE[p[0] ?? ''];
      if (!ev) return `unknown software event: ${p[0] ?? ''} (one of: ${SOFTWARE_EVENTS.join(', ')})`;
      const count = p[1] !== undefined ? Number(p[1]) : ev[1];
      if (!Number.isInteger(count) || count <= 0) return `invalid count: ${p[1]}`;
      return [{ name: `software:${p.join(':')}`, target: { provider: 'software', perfType: PERF_TYPE.SOFTWARE, config: ev[0], period: count } }];
    }
    case 'kprobe':
    case 'kretprobe':
    case 'fentry':
    case 'fexit': {
      const spec = p[p.length - 1] ?? '';
      const m = /^([^+]+)(?:\+(\d+|0x[0-9a-f]+))?$/i.exec(spec);
      if (!m) return `${ap.provider} probes are ${ap.provider}:<function>`;
      return [{ name: `${ap.provider}:${spec}`, target: { provider: ap.provider, func: m[1]!, offset: m[2] ? Number(m[2]) : undefined } }];
    }
    case 'uprobe':
    case 'uretprobe':
      if (p.length < 2) return `${ap.provider} probes are ${ap.provider}:<binary>:<function>`;
      return [{ name: `${ap.provider}:${p[0]}:${p.slice(1).join(':')}`, target: { provider: ap.provider, path: p[0]!, symbol: p.slice(1).join(':') } }];
    default:
      return `${ap.provider} probes are not supported yet`;
  }
}
