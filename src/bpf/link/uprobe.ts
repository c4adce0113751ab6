/** uprobe:/uretprobe: on a file offset in a binary or library, optionally for one process. */
import type { Program } from '../program.js';
import type { Link } from './link.js';
import { attachProbe } from './probe_events.js';

export interface UprobeSpec {
  path: string;
  /** file offset of the instruction (see src/symbols: ELF fileOffsetOf) */
  offset: bigint;
  retprobe?: boolean;
  pid?: number;
  legacy?: boolean;
}

export function attachUprobe(prog: Program, s: UprobeSpec): Link {
  const retprobe = s.retprobe ?? false;
  return attachProbe(prog, {
    kind: 'uprobe',
    retprobe,
    target: s.path,
    offset: s.offset,
    pid: s.pid,
    legacyDef: `${s.path}:0x${s.offset.toString(16)}`,
    what: `${retprobe ? 'uretprobe' : 'uprobe'}:${s.path}:0x${s.offset.toString(16)}`,
    legacy: s.legacy,
  });
}
