/**
 * Hardware watchpoints (watchpoint:ADDR:LEN:MODE): a PERF_TYPE_BREAKPOINT event on one process's address, sampled
 * on every access, with a PERF_EVENT program attached. Needs a breakpoint PMU (CONFIG_HAVE_HW_BREAKPOINT).
 */
import { PERF_ATTR_SIZE, PERF_FLAG_FD_CLOEXEC, PERF_TYPE } from '../../sys/perf.js';
import { sysPerfEventOpen } from '../../sys/libc.js';
import { SysError } from '../../sys/errors.js';
import type { Program } from '../program.js';
import { attachToPerfEvent, Link } from './link.js';

/** HW_BREAKPOINT_R/W/X bits of perf_event_attr.bp_type. */
export const BP_TYPE = { r: 1, w: 2, x: 4 } as const;

export interface WatchpointSpec {
  addr: bigint;
  /** bytes watched: 1, 2, 4 or 8 (x: the kernel wants sizeof(long)) */
  len: number;
  /** BP_TYPE bits */
  type: number;
  pid: number;
}

/**
 * The perf_event_attr of a breakpoint (include/uapi/linux/perf_event.h): bp_type is the u32 at 52, bp_addr and
 * bp_len share config1 (56) and config2 (64); sample_period 1 runs the program on every hit.
 */
export function breakpointAttr(s: Omit<WatchpointSpec, 'pid'>): Buffer {
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  attr.writeUInt32LE(PERF_TYPE.BREAKPOINT, 0);
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(1n, 16);
  attr.writeUInt32LE(s.type, 52);
  attr.writeBigUInt64LE(s.addr, 56);
  attr.writeBigUInt64LE(BigInt(s.len), 64);
  return attr;
}

/** Opens the breakpoint on `pid` (any CPU) and attaches the program. */
export function attachWatchpoint(prog: Program, s: WatchpointSpec, what: string): Link {
  const fd = sysPerfEventOpen(breakpointAttr(s), s.pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) throw new SysError(`perf_event_open(${what}, pid ${s.pid})`, -fd);
  return new Link(what, attachToPerfEvent(prog, fd, what));
}
