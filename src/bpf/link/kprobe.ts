/** kprobe:/kretprobe: on a kernel function (+offset). Needs CONFIG_KPROBES; callers check features first. */
import { KscopeError } from '../../sys/errors.js';
import type { Program } from '../program.js';
import type { Link } from './link.js';
import { attachProbe, legacyAvailable, pmuType } from './probe_events.js';

export interface KprobeSpec {
  func: string;
  offset?: bigint;
  retprobe?: boolean;
  legacy?: boolean;
}

/** Why kprobes cannot be used on this kernel, or undefined when they can. */
export function kprobeUnavailableReason(): string | undefined {
  if (pmuType('kprobe') !== undefined || legacyAvailable('kprobe')) return undefined;
  return 'the kernel has no kprobe PMU and no tracefs kprobe_events (built without CONFIG_KPROBES)';
}

export function attachKprobe(prog: Program, s: KprobeSpec): Link {
  const retprobe = s.retprobe ?? false;
  const off = s.offset ?? 0n;
  const what = `${retprobe ? 'kretprobe' : 'kprobe'}:${s.func}${off ? `+${off}` : ''}`;
  const why = kprobeUnavailableReason();
  if (why) throw new KscopeError(`${what}: kprobes are not supported here: ${why}`);
  return attachProbe(prog, {
    kind: 'kprobe',
    retprobe,
    target: s.func,
    offset: off,
    legacyDef: off ? `${s.func}+${off}` : s.func,
    what,
    legacy: s.legacy,
  });
}
