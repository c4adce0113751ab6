/**
 * Sampling perf events (profile:, software:, hardware:): one event per online CPU (or one for a pid), each with
 * the program attached.
 */
import { PERF_TYPE, perfEventOpen } from '../../sys/perf.js';
import { onlineCpus } from '../cpus.js';
import type { Program } from '../program.js';
import type { Fd } from '../resources.js';
import { attachToPerfEvent, Link } from './link.js';

export interface SamplingSpec {
  /** PERF_TYPE_* (SOFTWARE for cpu-clock etc.) */
  type: number;
  config: number;
  /** samples per second (mutually exclusive with period) */
  frequency?: number;
  /** events per sample (ns for cpu-clock/task-clock) */
  period?: number;
  /** limit to one process (all its threads on any CPU); default: every process on every CPU */
  pid?: number;
  cpus?: number[];
}

export function attachPerfEvent(prog: Program, spec: SamplingSpec, what = `perf_event:${spec.type}:${spec.config}`): Link {
  const fds: Fd[] = [];
  const cpus = spec.pid !== undefined && spec.pid >= 0 ? [-1] : (spec.cpus ?? onlineCpus());
  try {
    for (const cpu of cpus) {
      const fd = perfEventOpen(
        {
          type: spec.type,
          config: BigInt(spec.config),
          samplePeriod: BigInt(spec.frequency ?? spec.period ?? 1),
          freq: spec.frequency !== undefined,
        },
        { pid: spec.pid ?? -1, cpu },
        `${what} (cpu ${cpu})`,
      );
      fds.push(...attachToPerfEvent(prog, fd, what));
    }
  } catch (e) {
    for (const f of fds) f.close();
    throw e;
  }
  return new Link(what, fds);
}

export { PERF_TYPE };
