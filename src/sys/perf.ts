/**
 * perf_event_open(2) and the perf ioctls. A perf event is how tracepoints, kprobes, uprobes and sampling events
 * get a BPF program attached (PERF_EVENT_IOC_SET_BPF or a BPF perf link).
 */
import { addressOf, sysIoctl, sysPerfEventOpen } from './libc.js';
import { SysError } from './errors.js';

export const PERF_TYPE = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;

export const PERF_COUNT_SW = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
} as const;

export const PERF_SAMPLE_RAW = 1 << 10;
export const PERF_FLAG_FD_CLOEXEC = 8;

export const PERF_IOC = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  SET_BPF: 0x40042408,
} as const;

/** Flag bits of perf_event_attr at offset 40. */
export const PERF_ATTR_FLAG = {
  disabled: 1n << 0n,
  inherit: 1n << 1n,
  exclude_user: 1n << 4n,
  exclude_kernel: 1n << 5n,
  exclude_hv: 1n << 6n,
  freq: 1n << 10n,
  watermark: 1n << 14n,
} as const;

export interface PerfEventAttr {
  type: number;
  config?: bigint;
  /** sample_period, or sample_freq when `freq` is set */
  samplePeriod?: bigint;
  freq?: boolean;
  sampleType?: bigint;
  flags?: bigint;
  /** wakeup_events, or wakeup_watermark (bytes) when `watermark` is set */
  wakeup?: number;
  watermark?: boolean;
  /** config1; for kprobe/uprobe PMUs: the function name / path (copied by the kernel during the call) */
  config1?: bigint;
  config1String?: string;
  /** config2; for kprobe/uprobe PMUs: the offset */
  config2?: bigint;
}

export const PERF_ATTR_SIZE = 136;

export interface PerfEventOpenArgs {
  pid?: number;
  cpu?: number;
  groupFd?: number;
}

/** perf_event_open; throws a SysError naming `what` (e.g. "perf_event_open(uprobe /bin/bash:0x1234)"). */
export function perfEventOpen(a: PerfEventAttr, o: PerfEventOpenArgs = {}, what = 'perf_event_open'): number {
  const attr = Buffer.alloc(PERF_ATTR_SIZE);
  let flags = a.flags ?? 0n;
  if (a.freq) flags |= PERF_ATTR_FLAG.freq;
  if (a.watermark) flags |= PERF_ATTR_FLAG.watermark;
  const str = a.config1String !== undefined ? Buffer.from(a.config1String + '\0', 'latin1') : null;
  attr.writeUInt32LE(a.type, 0);
  attr.writeUInt32LE(PERF_ATTR_SIZE, 4);
  attr.writeBigUInt64LE(a.config ?? 0n, 8);
  attr.writeBigUInt64LE(a.samplePeriod ?? 0n, 16);
  attr.writeBigUInt64LE(a.sampleType ?? 0n, 24);
  attr.writeBigUInt64LE(flags, 40);
  attr.writeUInt32LE(a.wakeup ?? 0, 48);
  attr.writeBigUInt64LE(str ? addressOf(str) : (a.config1 ?? 0n), 56);
  attr.writeBigUInt64LE(a.config2 ?? 0n, 64);
  const fd = sysPerfEventOpen(attr, o.pid ?? -1, o.cpu ?? -1, o.groupFd ?? -1, PERF_FLAG_FD_CLOEXEC);
  void str?.length; // keep the path alive until the kernel has copied it
  if (fd < 0) throw new SysError(what, -fd);
  return fd;
}

export function perfIoctl(fd: number, req: number, arg: number, what: string): void {
  const r = sysIoctl(fd, req, arg);
  if (r < 0) throw new SysError(what, -r);
}
