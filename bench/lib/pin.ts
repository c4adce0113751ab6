/** Benchmark helpers: CPU pinning of the calling thread, medians, wall-clock and thread CPU timing. */
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const setaffinity = libc.func('int sched_setaffinity(int pid, size_t size, void *mask)');
const clockGettime = libc.func('int clock_gettime(int clk, void *ts)');
const CLOCK_THREAD_CPUTIME_ID = 3;
const ts = Buffer.alloc(16);

/** Pins the calling thread (the JS main thread) to `cpus`; throws when the kernel refuses. */
export function pinThread(cpus: number[]): void {
  const mask = Buffer.alloc(128);
  for (const c of cpus) mask[c >> 3]! |= 1 << (c & 7);
  if ((setaffinity(0, mask.length, mask) as number) !== 0) throw new Error(`sched_setaffinity(${cpus.join(',')}) failed`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** CPU time of the calling thread (ns): unlike wall time, it excludes time spent preempted by other load. */
export function threadCpuNs(): number {
  clockGettime(CLOCK_THREAD_CPUTIME_ID, ts);
  return Number(ts.readBigInt64LE(0)) * 1e9 + Number(ts.readBigInt64LE(8));
}

/** Elapsed wall-clock and CPU nanoseconds. */
export interface Cost {
  wall: number;
  cpu: number;
}

/** Runs `fn` and returns what it took, divided by `per` (e.g. per operation). */
export function measure(fn: () => void, per = 1): Cost {
  const c = threadCpuNs();
  const t = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t);
  return { wall: wall / per, cpu: (threadCpuNs() - c) / per };
}
