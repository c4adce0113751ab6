/**
 * Test and benchmark helper: hand-assembled BPF programs and C load generators shared by the src/bpf tests, the
 * integration tests and bench/bpf.ts.
 */
import { Asm } from '../../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R5, R6, R7, R10 } from '../../src/asm/opcodes.js';
import type { BpfMap } from '../../src/bpf/map.js';
import { GATE } from './cc.js';

/**
 * C: `prog N [cpu]` waits for go, makes N getppid() syscalls (pinned to `cpu` if given), prints the loop's wall-clock
 * and CPU-time ns per iteration ("wall cpu"), then waits for a second go (so the test can read maps while it is alive) and makes one more call.
 */
export const GETPPID_LOOP = `#define _GNU_SOURCE
${GATE}
#include <sched.h>
#include <time.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  if (argc > 2) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(atoi(argv[2]), &s); if (sched_setaffinity(0, sizeof s, &s)) return 2; }
  wait_go();
  struct timespec a, b, ca, cb;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.3f %.3f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n,
         ((cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec)) / (double)n);
  fflush(stdout);
  wait_go();
  syscall(SYS_getppid);
  return 0;
}`;

/** Emits: if the current tgid is not `pid`, goto `out` (clobbers R0). */
function filterTgid(a: Asm, pid: number, out: ReturnType<Asm['newLabel']>): Asm {
  return a.call('get_current_pid_tgid').rsh(R0, 32).jne(R0, pid, out);
}

/** Emits: R0 = &array[slot], or goto `out` (clobbers R0-R5; uses the stack slot at fp-4). */
function arraySlot(a: Asm, map: BpfMap<number, bigint>, slot: number, out: ReturnType<Asm['newLabel']>): Asm {
  return a.st(4, R10, -4, slot).ldMapFd(R1, map).mov(R2, R10).add(R2, -4).call('map_lookup_elem').jeq(R0, 0, out);
}

/** Counts events of one process (tgid) into slot 0 of an array map. */
export function countForPid(map: BpfMap<number, bigint>, pid: number): Buffer {
  const a = new Asm();
  const out = a.newLabel('out');
  filterTgid(a, pid, out);
  arraySlot(a, map, 0, out);
  return a.mov(R1, 1).atomic(8, 'add', R0, 0, R1).label(out).mov(R0, 0).exit().assemble().bytes;
}

const BPF_RB_NO_WAKEUP = 1;
const BPF_RB_FORCE_WAKEUP = 2;
const BPF_RB_AVAIL_DATA = 0;

export interface RingProducer {
  ring: BpfMap<unknown, unknown>;
  /** array map: slot 0 = reserve failures ("lost"), slot 1 = sequence counter */
  counters: BpfMap<number, bigint>;
  pid: number;
  /**
   * submit: every record; discard: every record is reserved then discarded; odd-discard: records with an odd
   * sequence number are discarded
   */
  mode: 'submit' | 'discard' | 'odd-discard';
  /**
   * Producer-side batching: submit with BPF_RB_NO_WAKEUP unless at least this many bytes are pending, then with
   * BPF_RB_FORCE_WAKEUP. 0 = the kernel's default adaptive wake-up (flags 0).
   */
  watermark?: number;
}

/**
 * A sys_enter tracepoint program emitting a 16-byte {u64 seq, u64 ktime} record per event of one process into a
 * ring buffer; a failed reserve counts as lost.
 */
export function ringProducer(p: RingProducer): Buffer {
  const a = new Asm();
  const out = a.newLabel('out');
  const got = a.newLabel('got');
  const send = a.newLabel('send');
  const discard = a.newLabel('discard');
  filterTgid(a, p.pid, out);
  arraySlot(a, p.counters, 1, out);
  a.mov(R6, 1).atomic(8, 'fetch_add', R0, 0, R6); // R6 = seq
  a.ldMapFd(R1, p.ring).mov(R2, 16).mov(R3, 0).call('ringbuf_reserve').jne(R0, 0, got);
  arraySlot(a, p.counters, 0, out);
  a.mov(R1, 1).atomic(8, 'add', R0, 0, R1).ja(out);
  a.label(got).mov(R7, R0).stx(8, R7, 0, R6).call('ktime_get_ns').stx(8, R7, 8, R0);
  if (p.mode === 'odd-discard') a.jset(R6, 1, discard);
  if (p.mode !== 'discard') {
    if (p.watermark) {
      a.ldMapFd(R1, p.ring).mov(R2, BPF_RB_AVAIL_DATA).call('ringbuf_query');
      a.mov(R2, BPF_RB_NO_WAKEUP).jlt(R0, p.watermark, send).mov(R2, BPF_RB_FORCE_WAKEUP);
    } else a.mov(R2, 0);
    a.label(send).mov(R1, R7).call('ringbuf_submit');
  }
  if (p.mode === 'odd-discard') a.ja(out);
  if (p.mode !== 'submit') a.label(discard).mov(R1, R7).mov(R2, 0).call('ringbuf_discard');
  return a.label(out).mov(R0, 0).exit().assemble().bytes;
}

/**
 * A sys_enter tracepoint program sending a 16-byte {u64 seq, u64 ktime} sample per event of one process through
 * bpf_perf_event_output on the current CPU; `counters` slot 1 is the sequence counter, slot 0 counts output errors.
 */
export function perfProducer(perfMap: BpfMap<unknown, unknown>, counters: BpfMap<number, bigint>, pid: number): Buffer {
  const a = new Asm();
  const out = a.newLabel('out');
  a.mov(R6, R1); // ctx
  filterTgid(a, pid, out);
  arraySlot(a, counters, 1, out);
  a.mov(R7, 1).atomic(8, 'fetch_add', R0, 0, R7).stx(8, R10, -24, R7);
  a.call('ktime_get_ns').stx(8, R10, -16, R0);
  // BPF_F_CURRENT_CPU is 0xffffffff: a 64-bit mov would sign-extend it into an invalid flags value
  a.mov(R1, R6).ldMapFd(R2, perfMap).mov32(R3, 0xffffffff).mov(R4, R10).add(R4, -24).mov(R5, 16);
  a.call('perf_event_output').jeq(R0, 0, out);
  arraySlot(a, counters, 0, out);
  a.mov(R1, 1).atomic(8, 'add', R0, 0, R1);
  return a.label(out).mov(R0, 0).exit().assemble().bytes;
}

/** C: `prog SECONDS` waits for go, burns CPU making getppid() calls for SECONDS, prints its CPU time in seconds. */
export const BURNER = `${GATE}
#include <time.h>
#include <sys/syscall.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  double secs = atof(argv[1]);
  wait_go();
  double cpu0 = now(CLOCK_PROCESS_CPUTIME_ID), end = now(CLOCK_MONOTONIC) + secs;
  volatile unsigned long x = 0;
  while (now(CLOCK_MONOTONIC) < end) { for (int i = 0; i < 1000; i++) x += i * i; syscall(SYS_getppid); }
  printf("%.6f\\n", now(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
  fflush(stdout);
  wait_go();
  return 0;
}`;

/**
 * A PERF_EVENT program for samples of one process: bpf_get_stackid(ctx, stacks, 0) (kernel stack) and
 * counts[stackid] += 1 in a u32 → u64 hash (a negative stackid, e.g. -EFAULT for a sample taken in user mode, is
 * counted under its u32 value); `total` slot 0 counts every sample of the process.
 */
export function stackSampler(stacks: BpfMap<unknown, unknown>, counts: BpfMap<number, bigint>, total: BpfMap<number, bigint>, pid: number): Buffer {
  const a = new Asm();
  const out = a.newLabel('out');
  const add = a.newLabel('add');
  a.mov(R6, R1);
  filterTgid(a, pid, out);
  arraySlot(a, total, 0, out);
  a.mov(R1, 1).atomic(8, 'add', R0, 0, R1);
  a.mov(R1, R6).ldMapFd(R2, stacks).mov(R3, 0).call('get_stackid').stx(4, R10, -8, R0);
  a.ldMapFd(R1, counts).mov(R2, R10).add(R2, -8).call('map_lookup_elem').jne(R0, 0, add);
  // first sample of this stack: insert 1 (BPF_NOEXIST)
  a.st(8, R10, -16, 1).ldMapFd(R1, counts).mov(R2, R10).add(R2, -8).mov(R3, R10).add(R3, -16).mov(R4, 1);
  a.call('map_update_elem').ja(out);
  a.label(add).mov(R1, 1).atomic(8, 'add', R0, 0, R1);
  return a.label(out).mov(R0, 0).exit().assemble().bytes;
}
