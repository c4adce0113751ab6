/**
 * BCC tools benchmark: `kscope <tool>` against Debian's libbpf-tools and bpftrace's tool scripts (execsnoop, runqlat,
 * biolatency; kscope has no opensnoop yet), in interleaved rounds:
 *   1. time to first output: spawn to the tool's first header line (bpftrace's "Attaching N probes..." skipped);
 *   2. overhead on a workload pinned to CPU 1, per iteration, untraced vs traced by each tool, with a check that the
 *      tool reported the activity: execsnoop — fork + exec of a copy of /bin/true (lines naming it); runqlat — a
 *      two-thread cond-var ping-pong (histogram count); biolatency — 4 KiB O_DIRECT writes in /var/tmp (histogram count);
 *   3. peak RSS (GNU time) of every tool run above.
 * libbpf-tools run under `stdbuf -oL`: through a pipe their stdio is block-buffered and the header would only show at
 * exit. bpftrace scripts that do not run here are run with the smallest edit that makes them run, and say so.
 * Run as root: node .build/NAME/bench/tools.js [rounds=9]; it bundles the CLI into .build/NAME/kscope.cjs.
 * Needs gcc, taskset, stdbuf, /usr/bin/time, bpftrace and libbpf-tools. Prints markdown tables.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import {
  buildDir, bundleCli, compileC, fmt, lostEvents, medianOf, mib, pinnedLoop, quiet, range, repoRoot, rotate, table, Traced,
  type Run, type Tracer,
} from './lib/tracer.js';

/**
 * Shared head of the load generators: `gate()` prints the pid, waits for a byte on stdin and takes the start time;
 * `report(n, scale)` prints wall and CPU time (this process and its waited-for children, user + system) per
 * iteration, divided by `scale`. CPU time leaves out time spent preempted by other load on the shared machine.
 */
const GATE = `#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
static struct timespec t0;
static double cpu0;
static double cpu_ns(void) {
  struct rusage s, c;
  getrusage(RUSAGE_SELF, &s);
  getrusage(RUSAGE_CHILDREN, &c);
  return ((s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec + c.ru_stime.tv_sec) * 1e6 +
          s.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_utime.tv_usec + c.ru_stime.tv_usec) * 1e3;
}
static void gate(void) {
  printf("%d\\n", getpid()); fflush(stdout);
  char c; if (read(0, &c, 1) != 1) exit(1);
  cpu0 = cpu_ns();
  clock_gettime(CLOCK_MONOTONIC, &t0);
}
static void report(long n, double scale) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec), cpu = cpu_ns() - cpu0;
  printf("%.2f %.2f\\n", wall / n / scale, cpu / n / scale);
}
`;

/** N × fork + exec of argv[2] (a copy of /bin/true), waiting for each; µs per iteration. */
const EXEC_C = `${GATE}
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  gate();
  for (long i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) { execl(argv[2], argv[2], (char *)0); _exit(127); }
    int st;
    if (p < 0 || waitpid(p, &st, 0) != p || st != 0) return 2;
  }
  report(n, 1e3);
  return 0;
}
`;

/** N round trips between two threads through one mutex + cond var (both on the CPU taskset gives); ns per round trip. */
const PINGPONG_C = `${GATE}
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static long n;
static void *peer(void *x) {
  pthread_mutex_lock(&m);
  for (long i = 0; i < n; i++) {
    while (turn != 1) pthread_cond_wait(&cv, &m);
    turn = 0;
    pthread_cond_signal(&cv);
  }
  pthread_mutex_unlock(&m);
  return x;
}
int main(int argc, char **argv) {
  n = atol(argv[1]);
  pthread_t th;
  if (pthread_create(&th, 0, peer, 0)) return 2;
  gate();
  pthread_mutex_lock(&m);
  for (long i = 0; i < n; i++) {
    turn = 1;
    pthread_cond_signal(&cv);
    while (turn != 0) pthread_cond_wait(&cv, &m);
  }
  pthread_mutex_unlock(&m);
  pthread_join(th, 0);
  report(n, 1);
  return 0;
}
`;

/** N × 4 KiB O_DIRECT pwrite over a 1 MiB file (argv[2]) written and fsynced first (no allocation in the loop); µs per write. */
const DIO_C = `${GATE}
int main(int argc, char **argv) {
  long n = atol(argv[1]), blocks = 256;
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
  void *buf;
  if (fd < 0 || posix_memalign(&buf, 4096, 4096)) return 2;
  memset(buf, 'k', 4096);
  for (long i = 0; i < blocks; i++) if (pwrite(fd, buf, 4096, i * 4096) != 4096) return 2;
  if (fsync(fd)) return 2;
  gate();
  for (long i = 0; i < n; i++) if (pwrite(fd, buf, 4096, (i % blocks) * 4096) != 4096) return 3;
  report(n, 1e3);
  close(fd);
  unlink(argv[2]);
  return 0;
}
`;

/** Debian's biolatency.bt hooks kprobes (CONFIG_KPROBES is off here): the same script on the block_io tracepoints. */
const bioTracepoints = (bt: string): string =>
  bt
    .replace(/kprobe:blk_account_io_start,\s*kprobe:__blk_account_io_start/, 'tracepoint:block:block_io_start')
    .replace(/kprobe:blk_account_io_done,\s*kprobe:__blk_account_io_done/, 'tracepoint:block:block_io_done')
    .replaceAll('arg0', 'args->dev, args->sector');

/** Debian's runqlat.bt includes <linux/sched.h>, which bpftrace 0.17's clang rejects here: TASK_RUNNING is 0. */
const runqlatNoInclude = (bt: string): string => bt.replace('#include <linux/sched.h>\n', '').replace('TASK_RUNNING', '0');

/** Sum of the counts in a log2 histogram, BCC style (`0 -> 1 : 12 |**|`) or bpftrace style (`[2, 4)  12 |@@|`). */
function histogramCount(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/^\s*(?:\d+ -> \d+\s*:|\[[^\])]*[\])])\s+(\d+)\s+\|/gm)) n += Number(m[1]);
  return n;
}

interface Bench {
  tool: 'execsnoop' | 'runqlat' | 'biolatency';
  bin: string; // the load generator
  args: string[]; // its arguments (N first)
  n: number;
  unit: string; // what the generator's number means
  bpftrace: string; // the bpftrace script run
  bpftraceNote: string; // empty when it is Debian's script unmodified
  /** events the tool reported for the load, and how many it should have reported at least */
  seen(out: string): number;
  expected: number;
}

/** Runs the unmodified bpftrace script for up to 5 s: '' when it runs cleanly, else its first error or attach failure. */
function scriptError(script: string): string {
  const r = spawnSync('timeout', ['--preserve-status', '-s', 'INT', '5', 'bpftrace', script], { encoding: 'utf8' });
  const bad = (r.stderr + r.stdout).split('\n').find((l) => /error|could not attach/i.test(l) && !/RLIMIT_MEMLOCK/.test(l));
  return bad ?? (r.status === 0 ? '' : `exit ${r.status}`);
}

/** Reports a tracer run that did not end normally (the shared machine: killed, or stuck past the stop timeout); the run is left out. */
function failure(t: Tracer, r: Run, why: string): void {
  console.error(`run left out: ${t.argv.join(' ')}: exit ${r.code} after ${fmt(r.wallMs)} ms ${why} ${r.stderr.replace(/.*RLIMIT_MEMLOCK.*\n/, '').trim()}`);
}

async function main(): Promise<void> {
  const rounds = Math.max(1, Number(process.argv[2] ?? 9));
  const root = repoRoot();
  const build = buildDir();
  const tmp = mkdtempSync('/dev/shm/kscope-bench-tools-');
  try {
    bundleCli(root, build, join(tmp, 'cli'));
    const truePath = join(tmp, 'kb_true');
    copyFileSync('/bin/true', truePath);
    const nExec = 500;
    const nPing = 100_000;
    const nDio = 3000;

    const bts = new Map<string, { script: string; note: string }>();
    for (const [tool, patch, what] of [
      ['execsnoop', undefined, ''],
      ['runqlat', runqlatNoInclude, '`#include <linux/sched.h>` dropped, TASK_RUNNING → 0'],
      ['biolatency', bioTracepoints, 'kprobes blk_account_io_start/done → tracepoints block:block_io_start/done keyed by (dev, sector)'],
    ] as const) {
      const orig = `/usr/sbin/${tool}.bt`;
      const err = patch ? scriptError(orig) : '';
      if (!err) {
        bts.set(tool, { script: orig, note: '' });
        continue;
      }
      const script = join(tmp, `${tool}.bt`);
      writeFileSync(script, patch!(readFileSync(orig, 'utf8')));
      bts.set(tool, { script, note: `Debian's ${tool}.bt fails here (${err.trim()}); run with ${what}` });
    }

    const benches: Bench[] = [
      {
        tool: 'execsnoop', bin: compileC(tmp, 'kb_exec', EXEC_C), args: [String(nExec), truePath], n: nExec, unit: 'µs per fork+exec',
        bpftrace: bts.get('execsnoop')!.script, bpftraceNote: bts.get('execsnoop')!.note,
        seen: (out) => out.split('\n').filter((l) => l.includes('kb_true') && !l.includes('kb_exec')).length, expected: nExec,
      },
      {
        tool: 'runqlat', bin: compileC(tmp, 'kb_pingpong', PINGPONG_C, ['-pthread']), args: [String(nPing)], n: nPing,
        unit: 'ns per round trip', bpftrace: bts.get('runqlat')!.script, bpftraceNote: bts.get('runqlat')!.note,
        seen: histogramCount, expected: 2 * nPing,
      },
      {
        tool: 'biolatency', bin: compileC(tmp, 'kb_dio', DIO_C), args: [String(nDio), `/var/tmp/kscope-bench-dio-${process.pid}`], n: nDio,
        unit: 'µs per 4 KiB O_DIRECT write', bpftrace: bts.get('biolatency')!.script, bpftraceNote: bts.get('biolatency')!.note,
        seen: histogramCount, expected: nDio,
      },
    ];
    const tracers = (b: Bench): Tracer[] => [
      { name: 'kscope', argv: [join(build, 'kscope.cjs'), b.tool] },
      { name: 'libbpf-tools', argv: ['stdbuf', '-oL', `/usr/sbin/${b.tool}`] },
      { name: 'bpftrace', argv: ['bpftrace', b.bpftrace] },
    ];

    const git = (...a: string[]): string => execFileSync('git', ['-C', root, ...a], { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'scripts').split('\n').filter(Boolean).length;
    const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    console.log(`${new Date().toISOString()}; ${cpus().length} CPUs (${cpu}); kernel ${release()}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`kscope ${git('rev-parse', '--short', 'HEAD')} (+${dirty} uncommitted files in src/ scripts/), bundle run as node kscope.cjs; ` +
      `libbpf-tools ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libbpf-tools'], { encoding: 'utf8' })}; ` +
      `${execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim()}; node ${process.version}`);
    for (const b of benches) if (b.bpftraceNote) console.log(`- ${b.bpftraceNote}`);

    // 1: time to first output (one warm-up pass first: page cache, kscope's V8 code cache).
    const startup = new Map<string, Run[]>();
    for (let round = -1; round < rounds; round++) {
      for (const b of rotate(benches, Math.max(round, 0))) {
        for (const t of rotate(tracers(b), Math.max(round, 0))) {
          const tr = new Traced(t, [], tmp);
          let failed = '';
          // 100 ms after the header: libbpf-tools' runqlat prints it before it installs its SIGINT handler.
          await tr.ready(100).catch((e: Error) => (failed = e.message));
          const r = await tr.stop();
          if (failed || Number.isNaN(r.firstMs) || r.code !== 0) failure(t, r, failed);
          else if (round >= 0) startup.set(`${b.tool}\t${t.name}`, [...(startup.get(`${b.tool}\t${t.name}`) ?? []), r]);
        }
      }
    }
    const rows: string[][] = [];
    for (const b of benches) {
      const runs = (n: string): Run[] => startup.get(`${b.tool}\t${n}`)!;
      const first = (n: string): number => medianOf(runs(n).map((r) => r.firstMs));
      for (const t of tracers(b)) {
        const rs = runs(t.name);
        rows.push([b.tool, t.name, String(rs.length), fmt(first(t.name)), range(rs.map((r) => r.firstMs)),
          t.name === 'kscope' ? `${fmt(first('kscope') / first('bpftrace'), 2)} / ${fmt(first('kscope') / first('libbpf-tools'), 2)}` : '',
          mib(medianOf(rs.map((r) => r.rssKiB)))]);
      }
    }
    console.log(`\nTime to first output (${rounds} interleaved rounds after one warm-up)\n`);
    console.log(table(['tool', 'tracer', 'runs', 'first output ms (median)', 'min..max', 'kscope ratio vs bpftrace / libbpf-tools',
      'peak RSS MiB (idle)'], rows));

    // 2 + 3: overhead on the pinned workload, events reported, peak RSS under load.
    for (const b of benches) {
      const names = ['untraced', ...tracers(b).map((t) => t.name)];
      const m = new Map(names.map((n) => [n, { wall: [] as number[], cpu: [] as number[], seen: [] as number[], lost: [] as number[], rss: [] as number[], failed: 0 }]));
      for (let round = 0; round < rounds; round++) {
        for (const t of rotate([undefined, ...tracers(b)], round)) {
          const loop = await pinnedLoop(b.bin, b.args);
          const tr = t && new Traced(t, [], tmp);
          await tr?.ready(300);
          const [wall, cpu] = await loop.go();
          if (!Number.isFinite(wall) || !Number.isFinite(cpu)) throw new Error(`${b.bin} failed`);
          const s = m.get(t?.name ?? 'untraced')!;
          if (!tr) {
            s.cpu.push(cpu);
            s.wall.push(wall);
          } else {
            await quiet(() => tr.stdout.length, 300, 20_000); // execsnoop: lines still on their way
            const r = await tr.stop();
            if (r.code !== 0) {
              failure(t!, r, '');
              s.failed++;
              continue;
            }
            s.cpu.push(cpu);
            s.wall.push(wall);
            s.seen.push(b.seen(r.stdout));
            s.lost.push(lostEvents(r.stdout + r.stderr));
            s.rss.push(r.rssKiB);
          }
        }
      }
      const med = (n: string, k: 'wall' | 'cpu'): number => medianOf(m.get(n)![k]);
      const added = (n: string, k: 'wall' | 'cpu'): number => med(n, k) - med('untraced', k);
      const vsLibbpf = (n: string, k: 'wall' | 'cpu'): string => (added('libbpf-tools', k) > 0 ? fmt(added(n, k) / added('libbpf-tools', k), 2) : 'n/a');
      console.log(`\n${b.tool}: ${b.n} iterations of ${b.bin.split('/').pop()} pinned to CPU 1, ${b.unit}, ${rounds} interleaved rounds\n`);
      console.log(table(['tool', 'tracer', 'wall (median)', 'min..max', 'added', 'CPU (median)', 'min..max', 'added',
        'added vs libbpf-tools (wall / CPU)', `events reported (expected ≥ ${b.expected})`, 'lost', 'peak RSS MiB',
        'failed runs'], names.map((n) => {
        const s = m.get(n)!;
        const traced = n !== 'untraced';
        return [b.tool, n, fmt(med(n, 'wall'), 1), range(s.wall, 1), traced ? fmt(added(n, 'wall'), 1) : '',
          fmt(med(n, 'cpu'), 1), range(s.cpu, 1), traced ? fmt(added(n, 'cpu'), 1) : '',
          traced ? `${vsLibbpf(n, 'wall')} / ${vsLibbpf(n, 'cpu')}` : '', traced ? range(s.seen) : '', traced ? range(s.lost) : '',
          traced ? mib(medianOf(s.rss)) : '', traced ? String(s.failed) : ''];
      })));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
