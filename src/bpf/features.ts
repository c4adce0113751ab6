/**
 * Feature probes: what this kernel supports, asked once per process by loading tiny programs and creating tiny
 * maps (like libbpf-tools). Higher layers choose hooks through `pickHook`, never by catching failures ad hoc.
 *
 * Policy refusal is recognised: a TRACING program refused with EPERM and an empty verifier log was blocked before
 * the verifier ran (a kernel policy), not by a missing feature.
 */
import { existsSync } from 'node:fs';
import { Asm } from '../asm/builder.js';
import { R0, R1, R10 } from '../asm/opcodes.js';
import { Btf } from '../btf/btf.js';
import { linkCreateKprobeMulti, mapCreate, mapLookupBatch, progLoad } from '../sys/bpf.js';
import { SysError } from '../sys/errors.js';
import { errnoName, PAGE_SIZE, sysClose } from '../sys/libc.js';
import { PERF_COUNT_SW, PERF_TYPE, perfEventOpen } from '../sys/perf.js';
import { tracefs } from '../sys/mount.js';
import { MapType } from './map.js';
import { AttachType, loadRetryingSignals, ProgType } from './program.js';
import { legacyAvailable, pmuType } from './link/probe_events.js';

export type FeatureName =
  | 'bpf'
  | 'btf'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'tp_btf'
  | 'kprobe'
  | 'kprobe_multi'
  | 'fentry'
  | 'fexit'
  | 'iter'
  | 'uprobe'
  | 'perf_event'
  | 'ringbuf'
  | 'batch_ops'
  | 'atomic_fetch';

export interface Feature {
  name: FeatureName;
  supported: boolean;
  /** how it was established, or why it is missing */
  detail: string;
}

const DESCRIPTIONS: Record<FeatureName, string> = {
  bpf: 'bpf() system call',
  btf: 'kernel BTF (/sys/kernel/btf/vmlinux)',
  tracepoint: 'tracepoint programs',
  raw_tracepoint: 'raw tracepoint programs',
  tp_btf: 'BTF-typed raw tracepoints (tp_btf)',
  kprobe: 'kprobes / kretprobes',
  kprobe_multi: 'kprobe multi-attach links',
  fentry: 'fentry (BPF trampolines)',
  fexit: 'fexit (BPF trampolines)',
  iter: 'BPF iterators (iter:task)',
  uprobe: 'uprobes / uretprobes',
  perf_event: 'perf event sampling (cpu-clock)',
  ringbuf: 'BPF ring buffer',
  batch_ops: 'batched map operations',
  atomic_fetch: 'atomic fetch-and-add/xchg/cmpxchg in programs',
};

export function describeFeature(n: FeatureName): string {
  return DESCRIPTIONS[n];
}

const RET0 = new Asm().mov(R0, 0).exit().assemble().bytes;

/** `*(u64 *)(fp - 8) = 0; r1 = 1; r1 = atomic_fetch_add(*(u64 *)(fp - 8), r1); r0 = 0` (Linux 5.12+) */
const FETCH_ADD = new Asm().st(8, R10, -8, 0).mov(R1, 1).atomic(8, 'fetch_add', R10, -8, R1).mov(R0, 0).exit().assemble().bytes;

function tryLoad(progType: number, extra: { expectedAttachType?: number; attachBtfId?: number } = {}, insns = RET0): { ok: boolean; detail: string } {
  const logBuf = Buffer.alloc(4096);
  const r = loadRetryingSignals(() => progLoad({ progType, insns, logLevel: 1, logBuf, ...extra }));
  if (r.fd >= 0) {
    sysClose(r.fd);
    return { ok: true, detail: 'program loads' };
  }
  const log = logBuf.toString('utf8', 0, Math.max(0, logBuf.indexOf(0))).trim();
  const code = errnoName(-r.fd);
  if (code === 'EPERM' && !log) return { ok: false, detail: 'refused by kernel policy (EPERM before the verifier ran)' };
  return { ok: false, detail: `load fails with ${code}${log ? `: ${log.split('\n').slice(-3, -2)[0] ?? log.split('\n')[0]}` : ''}` };
}

function btfId(find: (b: Btf) => number | undefined): number | undefined {
  try {
    return find(Btf.vmlinux());
  } catch {
    return undefined;
  }
}

type Probe = () => { ok: boolean; detail: string };

const PROBES: Record<FeatureName, Probe> = {
  bpf: () => {
    try {
      sysClose(mapCreate({ mapType: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
      return { ok: true, detail: 'map create works' };
    } catch (e) {
      return { ok: false, detail: e instanceof SysError ? e.message : String(e) };
    }
  },
  btf: () => (existsSync('/sys/kernel/btf/vmlinux') ? { ok: true, detail: '/sys/kernel/btf/vmlinux' } : { ok: false, detail: 'no /sys/kernel/btf/vmlinux (kernel built without CONFIG_DEBUG_INFO_BTF)' }),
  tracepoint: () => {
    const t = tryLoad(ProgType.TRACEPOINT);
    if (!t.ok) return t;
    try {
      return existsSync(`${tracefs()}/events`) ? t : { ok: false, detail: 'tracefs has no events/' };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  },
  raw_tracepoint: () => tryLoad(ProgType.RAW_TRACEPOINT),
  tp_btf: () => {
    const id = btfId((b) => b.findTypedef('btf_trace_sched_switch'));
    if (id === undefined) return { ok: false, detail: 'no BTF for btf_trace_sched_switch' };
    return tryLoad(ProgType.TRACING, { expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: id });
  },
  kprobe: () => {
    if (pmuType('kprobe') === undefined && !legacyAvailable('kprobe'))
      return { ok: false, detail: 'no kprobe PMU and no tracefs kprobe_events (kernel built without CONFIG_KPROBES)' };
    const t = tryLoad(ProgType.KPROBE);
    return t.ok ? { ok: true, detail: pmuType('kprobe') !== undefined ? 'kprobe PMU' : 'legacy tracefs kprobe_events' } : t;
  },
  kprobe_multi: () => {
    if (pmuType('kprobe') === undefined && !legacyAvailable('kprobe')) return { ok: false, detail: 'no kprobes on this kernel' };
    // loading is not enough (kernels without CONFIG_FPROBE accept the program): create a real link
    const r = loadRetryingSignals(() => progLoad({ progType: ProgType.KPROBE, insns: RET0, expectedAttachType: AttachType.TRACE_KPROBE_MULTI }));
    if (r.fd < 0) return { ok: false, detail: `load fails with ${errnoName(-r.fd)}` };
    const l = linkCreateKprobeMulti(r.fd, ['vfs_read']);
    sysClose(r.fd);
    if (l < 0) return { ok: false, detail: `link create fails with ${errnoName(-l)} (kernel built without CONFIG_FPROBE?)` };
    sysClose(l);
    return { ok: true, detail: 'kprobe_multi link attaches' };
  },
  fentry: () => trampoline(AttachType.TRACE_FENTRY),
  fexit: () => trampoline(AttachType.TRACE_FEXIT),
  iter: () => {
    const id = btfId((b) => b.findFunc('bpf_iter_task'));
    if (id === undefined) return { ok: false, detail: 'no bpf_iter_task in kernel BTF (kernel before 5.8?)' };
    return tryLoad(ProgType.TRACING, { expectedAttachType: AttachType.TRACE_ITER, attachBtfId: id });
  },
  uprobe: () => {
    if (pmuType('uprobe') === undefined && !legacyAvailable('uprobe'))
      return { ok: false, detail: 'no uprobe PMU and no tracefs uprobe_events (kernel built without CONFIG_UPROBES)' };
    const t = tryLoad(ProgType.KPROBE);
    return t.ok ? { ok: true, detail: pmuType('uprobe') !== undefined ? 'uprobe PMU' : 'legacy tracefs uprobe_events' } : t;
  },
  perf_event: () => {
    try {
      const fd = perfEventOpen({ type: PERF_TYPE.SOFTWARE, config: BigInt(PERF_COUNT_SW.CPU_CLOCK), samplePeriod: 99n, freq: true, flags: 1n }, { pid: -1, cpu: 0 });
      sysClose(fd);
      const t = tryLoad(ProgType.PERF_EVENT);
      return t.ok ? { ok: true, detail: 'software cpu-clock event opens' } : t;
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  },
  ringbuf: () => {
    try {
      sysClose(mapCreate({ mapType: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE_SIZE }));
      return { ok: true, detail: 'ring buffer map creates' };
    } catch (e) {
      return { ok: false, detail: `${(e as Error).message} (kernel before 5.8?)` };
    }
  },
  atomic_fetch: () => tryLoad(ProgType.RAW_TRACEPOINT, {}, FETCH_ADD),
  batch_ops: () => {
    let fd = -1;
    try {
      fd = mapCreate({ mapType: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      const r = mapLookupBatch(fd, null, Buffer.alloc(8), Buffer.alloc(16), Buffer.alloc(16), 4, false);
      return r ? { ok: true, detail: 'BPF_MAP_LOOKUP_BATCH works' } : { ok: false, detail: 'BPF_MAP_LOOKUP_BATCH not supported (kernel before 5.6)' };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    } finally {
      if (fd >= 0) sysClose(fd);
    }
  },
};

function trampoline(attachType: number): { ok: boolean; detail: string } {
  const id = btfId((b) => b.findFunc('bpf_fentry_test1') ?? b.findFunc('vfs_read'));
  if (id === undefined) return { ok: false, detail: 'no kernel BTF for the probe function' };
  return tryLoad(ProgType.TRACING, { expectedAttachType: attachType, attachBtfId: id });
}

const cache = new Map<FeatureName, Feature>();

/** Whether the kernel supports a feature (probed once per process). */
export function feature(name: FeatureName): Feature {
  let f = cache.get(name);
  if (!f) {
    const r = PROBES[name]();
    f = { name, supported: r.ok, detail: r.detail };
    cache.set(name, f);
  }
  return f;
}

export function has(name: FeatureName): boolean {
  return feature(name).supported;
}

/** Every feature, probed. */
export function allFeatures(): Feature[] {
  return (Object.keys(PROBES) as FeatureName[]).map(feature);
}

/**
 * The first hook in `order` this kernel supports, or undefined. `order` lists features best first, e.g.
 * ['fentry', 'kprobe'] for a function entry hook.
 */
export function pickHook<T extends FeatureName>(order: readonly T[]): T | undefined {
  return order.find((n) => has(n));
}

/** One line saying why none of `order` works here. */
export function whyUnsupported(order: readonly FeatureName[]): string {
  return order.map((n) => `${n}: ${feature(n).detail}`).join('; ');
}
