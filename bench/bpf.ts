/**
 * Core (src/bpf) benchmark, in interleaved rounds on a noisy 2-CPU machine (medians reported):
 *   1. map lookups/s on a 1000-entry u32 → u64 hash: BpfMap.lookup, the raw MapElemAttr path, and a C loop doing
 *      bpf(BPF_MAP_LOOKUP_ELEM) on the same map (fd inherited); all pinned to CPU 1;
 *   2. dumping a 10k-entry hash: BpfMap.dumpRaw (BPF_MAP_LOOKUP_BATCH) vs entries() (get_next_key + lookup);
 *   3. ring buffer: ns per iteration of a getppid() loop pinned to CPU 1 with (a) no program, (b) a program that
 *      reserves and discards a 16-byte record, (c) a program that submits it with NO_WAKEUP/FORCE_WAKEUP batching
 *      and a RingBufferReader (timer 5 ms) consuming on CPU 0, (d) the same with the kernel's default wake-ups and
 *      the epoll-driven reader; events delivered and lost.
 * Every cost is measured both as wall-clock time and as CPU time of the measured thread/process; CPU time is the
 * robust figure on a loaded machine (it excludes time spent preempted). Ratios are medians of per-round ratios.
 * Run as root: node .build/NAME/bench/bpf.js [rounds=5]. Needs gcc and taskset.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { MapElemAttr } from '../src/sys/bpf.js';
import { BpfMap, MapType } from '../src/bpf/map.js';
import { none, u32, u64 } from '../src/bpf/codec.js';
import { Program, ProgType } from '../src/bpf/program.js';
import { RingBufferReader } from '../src/bpf/ringbuf.js';
import { attachTracepoint } from '../src/bpf/link/tracepoint.js';
import { compileC, startGated } from '../test/lib/cc.js';
import { GETPPID_LOOP, ringProducer, type RingProducer } from '../test/lib/programs.js';
import { kernelObjects } from '../test/lib/leaks.js';
import { type Cost, measure, median, pinThread } from './lib/pin.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const PIN = 1;

/** `prog ITERS` looks up keys i % 1000 in the map on fd 3, prints wall-clock and CPU ns per lookup. */
const LOOKUP_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
static double ns(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  unsigned int key; unsigned long long value;
  union bpf_attr attr; memset(&attr, 0, sizeof attr);
  attr.map_fd = 3; attr.key = (unsigned long)&key; attr.value = (unsigned long)&value;
  double w = ns(CLOCK_MONOTONIC), c = ns(CLOCK_THREAD_CPUTIME_ID);
  for (long i = 0; i < n; i++) { key = i % 1000; if (syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, 32)) return 1; }
  c = ns(CLOCK_THREAD_CPUTIME_ID) - c; w = ns(CLOCK_MONOTONIC) - w;
  printf("%.1f %.1f\\n", w / n, c / n);
  return 0;
}`;

function parseCost(line: string): Cost {
  const [wall, cpu] = line.trim().split(' ').map(Number);
  return { wall: wall!, cpu: cpu! };
}

function runC(bin: string, args: string[], fd: number): Promise<Cost> {
  return new Promise((resolve, reject) => {
    const c = spawn('taskset', ['-c', String(PIN), bin, ...args], { stdio: ['ignore', 'pipe', 'inherit', fd] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d));
    c.on('close', (code) => (code === 0 ? resolve(parseCost(out)) : reject(new Error(`${bin} exited with ${code}`))));
  });
}

function table(head: string[], rows: (string | number)[][]): void {
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log();
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const med = (xs: Cost[], k: keyof Cost) => median(xs.map((x) => x[k]));
/** Median over rounds of a / b (adjacent runs of one round see similar machine load). */
const ratio = (a: Cost[], b: Cost[], k: keyof Cost) => median(a.map((x, i) => x[k] / b[i]![k]));
const pct = (x: number) => `${x >= 0 ? '+' : ''}${fmt(100 * x, 1)} %`;

async function mapLookups(): Promise<void> {
  const ITERS = 300_000;
  const map = new BpfMap({ type: MapType.HASH, key: u32, value: u64, maxEntries: 1000 });
  for (let i = 0; i < 1000; i++) map.update(i, BigInt(i));
  const raw = new MapElemAttr(map.fd, 4, 8);
  const bin = compileC(LOOKUP_C, ['-O2']);
  const js: Cost[] = [], rawc: Cost[] = [], c: Cost[] = [];
  pinThread([PIN]);
  let sum = 0n;
  for (let r = 0; r < ROUNDS; r++) {
    js.push(measure(() => { for (let i = 0; i < ITERS; i++) sum += map.lookup(i % 1000)!; }, ITERS));
    rawc.push(measure(() => { for (let i = 0; i < ITERS; i++) (raw.key.writeUInt32LE(i % 1000, 0), raw.lookup()); }, ITERS));
    c.push(await runC(bin, [String(ITERS)], map.fd));
  }
  pinThread([0, 1]);
  map.close();
  if (sum !== BigInt(ROUNDS) * (BigInt(ITERS) / 1000n) * 499500n) throw new Error('lookups returned wrong values');
  const row = (name: string, xs: Cost[]) => [
    name, fmt(med(xs, 'cpu')), fmt(1e3 / med(xs, 'cpu'), 2), fmt(100 / ratio(xs, c, 'cpu')), fmt(med(xs, 'wall')), fmt(100 / ratio(xs, c, 'wall')),
  ];
  table(['map lookup, 1000-entry hash, pinned to CPU 1', 'CPU ns/op', 'M ops/CPU-s', '% of C (CPU)', 'wall ns/op', '% of C (wall)'], [
    row('BpfMap.lookup (codec, returns bigint)', js),
    row('MapElemAttr.lookup (raw buffers)', rawc),
    row('C, syscall(SYS_bpf) on the same map fd', c),
  ]);
  console.log(`rounds, CPU ns/op: js ${js.map((x) => fmt(x.cpu)).join(' ')}; raw ${rawc.map((x) => fmt(x.cpu)).join(' ')}; C ${c.map((x) => fmt(x.cpu)).join(' ')}\n`);
}

function dumps(): void {
  const N = 10_000;
  const map = new BpfMap({ type: MapType.HASH, key: u32, value: u64, maxEntries: N });
  for (let i = 0; i < N; i++) map.update(i, BigInt(i));
  const batch: Cost[] = [], walk: Cost[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    batch.push(measure(() => (n = map.dumpRaw().count)));
    if (n !== N) throw new Error(`dumpRaw returned ${n}`);
    walk.push(measure(() => (n = [...map.entries()].length)));
    if (n !== N) throw new Error(`entries() returned ${n}`);
  }
  map.close();
  const row = (name: string, xs: Cost[]) => [name, fmt(med(xs, 'cpu') / 1e6, 2), fmt((N * 1e3) / med(xs, 'cpu'), 2), fmt(ratio(walk, xs, 'cpu'), 1) + 'x', fmt(med(xs, 'wall') / 1e6, 2), fmt(ratio(walk, xs, 'wall'), 1) + 'x'];
  table(['dump of a 10k-entry u32 → u64 hash', 'CPU ms', 'M entries/CPU-s', 'speed-up (CPU)', 'wall ms', 'speed-up (wall)'], [
    row('BpfMap.dumpRaw (LOOKUP_BATCH, chunks of 1024)', batch),
    row('BpfMap.entries (get_next_key + lookup)', walk),
  ]);
}

type Variant = 'none' | 'discard' | 'batched' | 'default';

interface RingRun extends Cost {
  delivered: number;
  lost: number;
}

async function ringRun(v: Variant, iters: number): Promise<RingRun> {
  const child = startGated(compileC(GETPPID_LOOP), [String(iters), String(PIN)]);
  const RING = 32 << 20;
  const ring = new BpfMap({ type: MapType.RINGBUF, key: none, value: none, maxEntries: RING });
  const counters = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 2 });
  const opts: Record<Exclude<Variant, 'none'>, Omit<RingProducer, 'ring' | 'counters' | 'pid'>> = {
    discard: { mode: 'discard' },
    batched: { mode: 'submit', watermark: RING / 16 },
    default: { mode: 'submit' },
  };
  const prog = v === 'none' ? undefined : Program.load({ type: ProgType.TRACEPOINT, insns: ringProducer({ ring, counters, pid: child.pid, ...opts[v] }) });
  const link = prog && attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  const reader = v === 'batched' || v === 'default' ? new RingBufferReader(ring, () => undefined, v === 'batched' ? { timerMs: 5 } : {}) : undefined;
  reader?.start();
  child.go();
  const cost = parseCost(await child.line());
  for (let i = 0; i < 100 && reader && reader.available() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  reader?.stop();
  reader?.drain();
  const lost = Number(counters.lookup(0));
  const delivered = reader?.delivered ?? 0;
  child.go();
  await child.done;
  link?.close();
  reader?.close();
  prog?.close();
  ring.close();
  counters.close();
  return { ...cost, delivered, lost };
}

async function ringBuffer(): Promise<void> {
  const ITERS = 1_000_000;
  pinThread([0]); // the consumer; the traced loop runs on CPU 1
  const variants: Variant[] = ['none', 'discard', 'batched', 'default'];
  const runs = new Map<Variant, RingRun[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) runs.get(v)!.push(await ringRun(v, ITERS));
  pinThread([0, 1]);
  const label: Record<Variant, string> = {
    none: '(a) no program',
    discard: '(b) reserve + discard in the kernel',
    batched: '(c) submit, NO_WAKEUP below 2 MiB pending else FORCE_WAKEUP; JS reader, 5 ms timer',
    default: '(d) submit, default adaptive wake-ups; JS reader on epoll, 1 ms coalescing',
  };
  const b = runs.get('discard')!;
  table(['getppid loop pinned to CPU 1, 1M iterations', 'CPU ns/iter', 'vs (b), CPU', 'wall ns/iter', 'vs (b), wall', 'events/s (wall)', 'delivered', 'lost'], variants.map((v) => {
    const rs = runs.get(v)!;
    const traced = v === 'batched' || v === 'default';
    return [
      label[v], fmt(med(rs, 'cpu')), pct(ratio(rs, b, 'cpu') - 1), fmt(med(rs, 'wall')), pct(ratio(rs, b, 'wall') - 1),
      traced ? fmt(1e9 / med(rs, 'wall')) : '', traced ? fmt(rs.reduce((s, x) => s + x.delivered, 0)) : '', v === 'none' ? '' : fmt(rs.reduce((s, x) => s + x.lost, 0)),
    ];
  }));
  for (const v of variants) console.log(`rounds ${v}, CPU ns/iter: ${runs.get(v)!.map((x) => fmt(x.cpu)).join(' ')}`);
}

const machine = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${kernelObjects().progs} BPF programs loaded system-wide`;
console.log(`start: ${machine()}\n`);
await mapLookups();
dumps();
await ringBuffer();
console.log(`\nend: ${machine()}`);
