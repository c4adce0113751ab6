/** uprobe:/uretprobe: on a file offset in a binary or library, optionally for one process. */
import { existsSync, readFileSync } from 'node:fs';
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
  /**
   * File offset of a USDT semaphore (a u16 reference counter): the kernel increments it in every process that maps
   * the file while the probe is attached, and decrements it on detach (Linux 4.20+, see refCtrSupported()).
   */
  refCtrOffset?: bigint;
}

const REF_CTR_FORMAT = '/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset';

/** The first config bit of the uprobe PMU's ref_ctr_offset field ("config:32-63"), or undefined without one. */
function refCtrShift(): bigint | undefined {
  if (!existsSync(REF_CTR_FORMAT)) return undefined;
  const m = /config:(\d+)/.exec(readFileSync(REF_CTR_FORMAT, 'utf8'));
  return m ? BigInt(m[1]!) : undefined;
}

/** Whether the kernel manages USDT semaphores for uprobes (the uprobe PMU has ref_ctr_offset). */
export function refCtrSupported(): boolean {
  return refCtrShift() !== undefined;
}

export function attachUprobe(prog: Program, s: UprobeSpec): Link {
  const retprobe = s.retprobe ?? false;
  const ref = s.refCtrOffset ? `(0x${s.refCtrOffset.toString(16)})` : '';
  const shift = s.refCtrOffset ? refCtrShift() : undefined;
  return attachProbe(prog, {
    kind: 'uprobe',
    retprobe,
    target: s.path,
    offset: s.offset,
    pid: s.pid,
    config: shift !== undefined ? s.refCtrOffset! << shift : undefined,
    legacyDef: `${s.path}:0x${s.offset.toString(16)}${ref}`,
    what: `${retprobe ? 'uretprobe' : 'uprobe'}:${s.path}:0x${s.offset.toString(16)}`,
    legacy: s.legacy,
  });
}
