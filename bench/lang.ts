/**
 * Language runtime benchmark: `kscope -e` against bpftrace on the same one-liners, in interleaved rounds.
 *   1. start-up: wall time from spawn to the first output line (BEGIN printf; an openat tracepoint printf);
 *   2. per-event cost of `@[comm] = count()` on sys_enter_getppid, seen by a pinned getppid() loop;
 *   3. printf per event on the same loop: lines delivered, events lost, cost to the traced process;
 *   4. peak RSS (GNU time's maximum resident set size) of every tracer run above.
 * Run as root: node .build/NAME/bench/lang.js [startupRounds=10] [eventRounds=5]; it bundles the CLI into
 * .build/NAME/kscope.cjs (scripts/bundle.mjs) and stamps .build/NAME/.stamp for the launcher replica.
 * Needs gcc, taskset, /usr/bin/time and bpftrace in PATH. Prints markdown tables.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** N getppid() calls after a byte arrives on stdin; prints its pid first and ns per call at the end. */
const PPID_C = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  printf("%d\\n", getpid()); fflush(stdout);
  char c; if (read(0, &c, 1) != 1) return 1;
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
`;

/** Opens and closes a file every 200 µs forever, so an openat tracepoint fires at once. */
const OPENER_C = `#include <fcntl.h>
#include <unistd.h>
int main(void) {
  for (;;) { int fd = open("/etc/hostname", O_RDONLY); if (fd >= 0) close(fd); usleep(200); }
}
`;

const BEGIN_HI = 'BEGIN { printf("hi\\n"); exit(); }';
const OPENAT = 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); exit(); }';
const COUNT = 'tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }';
const PRINTF = 'tracepoint:syscalls:sys_enter_getppid /pid == $1/ { printf("%d\\n", pid); }';
const COMM = 'kb_getppid';

interface Tracer { name: string; argv: string[]; ready: RegExp }

interface Run {
  firstMs: number; // spawn to first output line (NaN when none)
  wallMs: number; // spawn to exit
  rssKiB: number;
  stdout: string; // empty when stdout went to a file
  stderr: string;
  code: number | null;
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function repoRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== '/'; d = dirname(d)) {
    if (existsSync(join(d, 'kscope')) && existsSync(join(d, 'package.json'))) return d;
  }
  throw new Error('kscope repository root not found above the bench file');
}

/**
 * A replica of the ./kscope launcher: the same script beside a copy of src/, scripts/ and package.json (mtimes
 * kept), with node_modules/ linked to the repository's and dist/ linked to this build, where scripts/bundle.mjs
 * writes the bundle (kscope.cjs) that the launcher runs. Other engineers keep editing src/, so the real ./kscope
 * would rebuild dist/ first; the replica runs the same launcher steps (sh, the find over src/, exec node the bundle)
 * without building. Returns the launcher's path.
 */
function launcherReplica(root: string, build: string, tmp: string): string {
  const dir = join(tmp, 'launcher');
  mkdirSync(dir);
  execFileSync('cp', ['-a', ...['kscope', 'src', 'scripts', 'package.json'].map((f) => join(root, f)), dir]);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(build, join(dir, 'dist'));
  execFileSync(process.execPath, [join(dir, 'scripts/bundle.mjs')], { stdio: 'inherit' });
  // Dated a day ahead: a file edited during the copy must not make the launcher rebuild (its find still walks src/).
  const stamp = join(build, '.stamp');
  writeFileSync(stamp, new Date().toISOString() + '\n');
  const ahead = new Date(Date.now() + 86_400_000);
  utimesSync(stamp, ahead, ahead);
  return join(dir, 'kscope');
}

/** A running tracer under GNU time in its own process group (SIGINT to the group reaches the tracer, time ignores it). */
class Traced {
  readonly t0 = performance.now();
  firstMs = NaN;
  stdout = '';
  stderr = '';
  private readonly child: ChildProcess;
  private readonly done: Promise<Run>;
  private readonly rssFile: string;

  constructor(tracer: Tracer, args: string[], tmp: string, private readonly outFile?: string) {
    this.rssFile = join(tmp, `rss-${process.hrtime.bigint()}`);
    const out = outFile === undefined ? 'pipe' : openSync(outFile, 'w');
    this.child = spawn('/usr/bin/time', ['-f', '%M', '-o', this.rssFile, ...tracer.argv, ...args], {
      stdio: ['ignore', out, 'pipe'],
      detached: true,
    });
    if (typeof out === 'number') closeSync(out);
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      if (Number.isNaN(this.firstMs) && this.stdout.split('\n').some((l) => l !== '' && !l.startsWith('Attaching'))) {
        this.firstMs = performance.now() - this.t0;
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.done = new Promise((resolve) => {
      this.child.on('close', (code) => {
        const wallMs = performance.now() - this.t0;
        let rssKiB = NaN;
        try {
          rssKiB = Number(readFileSync(this.rssFile, 'utf8').trim().split('\n').pop());
          rmSync(this.rssFile);
        } catch {
          /* time did not write the file: the run failed, reported through code and stderr */
        }
        resolve({ firstMs: this.firstMs, wallMs, rssKiB, stdout: this.stdout, stderr: this.stderr, code });
      });
    });
  }

  /** Text the tracer wrote so far on stdout (pipe or file) and stderr. */
  text(): string {
    return (this.outFile === undefined ? this.stdout : readFileSync(this.outFile, 'utf8')) + this.stderr;
  }

  /** Waits until `re` appears in the output, then `settleMs` more (bpftrace announces before attaching). */
  async ready(re: RegExp, settleMs: number, timeoutMs = 20_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!re.test(this.text())) {
      if (this.child.exitCode !== null || performance.now() > end) {
        throw new Error(`tracer not ready (exit ${this.child.exitCode}): ${this.text().slice(0, 500)}`);
      }
      await sleep(20);
    }
    await sleep(settleMs);
  }

  /** SIGINT to the tracer's process group, SIGKILL after 20 s. */
  async stop(): Promise<Run> {
    process.kill(-this.child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), 20_000);
    const r = await this.done;
    clearTimeout(timer);
    return r;
  }

  /** Waits for the tracer to exit by itself (SIGKILL after timeoutMs). */
  async exit(timeoutMs = 20_000): Promise<Run> {
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), timeoutMs);
    const r = await this.done;
    clearTimeout(timer);
    return r;
  }
}

/** Starts the getppid loop pinned to CPU 1; resolves its pid, and `go()` starts it and resolves ns per call. */
async function ppidLoop(bin: string, n: number): Promise<{ pid: number; go(): Promise<number> }> {
  const child = spawn('taskset', ['-c', '1', bin, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error('getppid loop failed to start');
    await sleep(5);
  }
  return {
    pid: Number(out.split('\n')[0]),
    async go() {
      child.stdin.end('g');
      await closed;
      return Number(out.trim().split('\n')[1]);
    },
  };
}

/** Events lost as the tracer reported them: its total when printed, else the sum of the `Lost N events` lines. */
function lostEvents(text: string): number {
  const total = /Total lost event count: (\d+)/.exec(text);
  if (total) return Number(total[1]);
  return [...text.matchAll(/Lost (\d+) events/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** Waits until a file stops growing for `quietMs` (the consumer drained its buffer), at most `maxMs`. */
async function quiet(file: string, quietMs: number, maxMs: number): Promise<void> {
  const end = performance.now() + maxMs;
  let size = -1;
  let since = performance.now();
  while (performance.now() < end) {
    const s = statSync(file).size;
    if (s !== size) [size, since] = [s, performance.now()];
    else if (performance.now() - since >= quietMs) return;
    await sleep(50);
  }
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const mib = (kib: number): string => fmt(kib / 1024, 1);
const table = (head: string[], rows: string[][]): string =>
  [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

/** Rotates the order each round so that no tracer always runs first. */
const rotate = <T>(xs: T[], round: number): T[] => xs.map((_, i) => xs[(i + round) % xs.length]);

async function main(): Promise<void> {
  const startupRounds = Math.max(1, Number(process.argv[2] ?? 10));
  const eventRounds = Math.max(1, Number(process.argv[3] ?? 5));
  const root = repoRoot();
  const tmp = mkdtempSync('/dev/shm/kscope-bench-lang-');
  try {
    writeFileSync(join(tmp, 'ppid.c'), PPID_C);
    writeFileSync(join(tmp, 'opener.c'), OPENER_C);
    const ppid = join(tmp, COMM);
    execFileSync('gcc', ['-O2', '-o', ppid, join(tmp, 'ppid.c')]);
    execFileSync('gcc', ['-O2', '-o', join(tmp, 'opener'), join(tmp, 'opener.c')]);

    const ready = /Attached \d+ probe/;
    const build = join(dirname(fileURLToPath(import.meta.url)), '..');
    const launcher: Tracer = { name: './kscope', argv: [launcherReplica(root, build, tmp)], ready };
    const kscope: Tracer = { name: 'kscope', argv: [process.execPath, join(build, 'kscope.cjs')], ready };
    const modules: Tracer = { name: 'kscope (tsc modules)', argv: [process.execPath, join(build, 'src/cli/main.js')], ready };
    const bpftrace: Tracer = { name: 'bpftrace', argv: ['bpftrace'], ready: /Attaching \d+ probe/ };
    const bpfVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
    const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    console.log(`${new Date().toISOString()}; ${cpus().length} CPUs (${cpu}); kernel ${release()}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`${bpfVersion}; node ${process.version}; kscope = ${kscope.argv.join(' ')}`);

    // 1 + 4: start-up to first output, wall time to exit, peak RSS.
    const opener = spawn('taskset', ['-c', '1', join(tmp, 'opener')], { stdio: 'ignore' });
    const startup = new Map<string, Run[]>();
    try {
      for (let round = 0; round < startupRounds; round++) {
        for (const [label, prog] of [['BEGIN', BEGIN_HI], ['openat', OPENAT]] as const) {
          for (const t of rotate([kscope, bpftrace, launcher, modules], round)) {
            const r = await new Traced(t, ['-e', prog], tmp).exit();
            if (r.code !== 0 || Number.isNaN(r.firstMs)) throw new Error(`${t.name} ${label} failed: ${r.stderr}`);
            const key = `${label}\t${t.name}`;
            startup.set(key, [...(startup.get(key) ?? []), r]);
          }
        }
      }
    } finally {
      opener.kill('SIGKILL');
    }
    const rows: string[][] = [];
    for (const label of ['BEGIN', 'openat']) {
      const get = (n: string): Run[] => startup.get(`${label}\t${n}`) ?? [];
      const b = median(get('bpftrace').map((r) => r.firstMs));
      for (const n of ['kscope', './kscope', 'kscope (tsc modules)', 'bpftrace']) {
        const rs = get(n);
        const first = median(rs.map((r) => r.firstMs));
        const firsts = rs.map((r) => r.firstMs);
        rows.push([label, n, String(rs.length), fmt(first), `${fmt(Math.min(...firsts))}..${fmt(Math.max(...firsts))}`,
          fmt(median(rs.map((r) => r.wallMs))),
          n === 'bpftrace' ? '' : fmt(first / b, 2), mib(median(rs.map((r) => r.rssKiB)))]);
      }
    }
    console.log(`\nStart-up (${startupRounds} interleaved rounds; kscope = node kscope.cjs (the bundle), ./kscope = the launcher replica running it)\n`);
    console.log(table(['one-liner', 'tracer', 'runs', 'first output ms', 'min..max', 'exit ms', 'first ratio vs bpftrace', 'peak RSS MiB'], rows));

    // 2: count() per event on the getppid loop.
    const N_COUNT = 2_000_000;
    const count = new Map<string, { ns: number[]; rss: number[] }>();
    for (let round = 0; round < eventRounds; round++) {
      for (const t of rotate([undefined, kscope, bpftrace], round)) {
        const loop = await ppidLoop(ppid, N_COUNT);
        const tr = t && new Traced(t, ['-e', COUNT], tmp);
        await tr?.ready(t!.ready, 500);
        const ns = await loop.go();
        const name = t?.name ?? 'untraced';
        const m = count.get(name) ?? { ns: [], rss: [] };
        if (tr) {
          const r = await tr.stop();
          const c = new RegExp(`@\\[${COMM}\\]: (\\d+)`).exec(r.stdout);
          if (!c || Number(c[1]) < N_COUNT) throw new Error(`${name} count wrong: ${r.stdout.slice(0, 400)} ${r.stderr}`);
          m.rss.push(r.rssKiB);
        }
        m.ns.push(ns);
        count.set(name, m);
      }
    }
    const base = median(count.get('untraced')!.ns);
    const added = (n: string): number => median(count.get(n)!.ns) - base;
    console.log(`\n@[comm] = count() on sys_enter_getppid, ${N_COUNT} getppid() pinned to CPU 1, ${eventRounds} rounds\n`);
    console.log(table(['tracer', 'ns per getppid', 'added ns per event', 'ratio vs bpftrace', 'peak RSS MiB'], [
      ['untraced', fmt(base, 1), '', '', ''],
      ...['kscope', 'bpftrace'].map((n) => [n, fmt(median(count.get(n)!.ns), 1), fmt(added(n), 1),
        n === 'kscope' ? fmt(added('kscope') / added('bpftrace'), 2) : '', mib(median(count.get(n)!.rss))]),
    ]));

    // 3: printf per event; stdout to a tmpfs file so delivered lines can be counted and bpftrace's stdout
    // "Lost N events" is kept.
    const N_PRINTF = 200_000;
    const pr = new Map<string, { ns: number[]; lines: number[]; lost: number[]; rss: number[]; drainMs: number[] }>();
    for (let round = 0; round < eventRounds; round++) {
      for (const t of rotate([undefined, kscope, bpftrace], round)) {
        const loop = await ppidLoop(ppid, N_PRINTF);
        const out = join(tmp, 'printf.out');
        const tr = t && new Traced(t, ['-e', PRINTF, String(loop.pid)], tmp, out);
        await tr?.ready(t!.ready, 500);
        const ns = await loop.go();
        const name = t?.name ?? 'untraced';
        const m = pr.get(name) ?? { ns: [], lines: [], lost: [], rss: [], drainMs: [] };
        m.ns.push(ns);
        if (tr) {
          const t1 = performance.now();
          await quiet(out, 500, 60_000);
          m.drainMs.push(performance.now() - t1 - 500);
          const r = await tr.stop();
          const text = readFileSync(out, 'utf8');
          m.lines.push(text.split('\n').filter((l) => l === String(loop.pid)).length);
          m.lost.push(lostEvents(text + r.stderr));
          m.rss.push(r.rssKiB);
        }
        pr.set(name, m);
      }
    }
    const pbase = median(pr.get('untraced')!.ns);
    const padded = (n: string): number => median(pr.get(n)!.ns) - pbase;
    console.log(`\nprintf("%d\\n", pid) per event, ${N_PRINTF} getppid() pinned to CPU 1, stdout to a tmpfs file, ${eventRounds} rounds\n`);
    console.log(table(['tracer', 'ns per getppid', 'added ns per event', 'ratio vs bpftrace', 'lines delivered (min..max)',
      'lost (min..max)', 'drain after loop ms', 'peak RSS MiB'], [
      ['untraced', fmt(pbase, 1), '', '', '', '', '', ''],
      ...['kscope', 'bpftrace'].map((n) => {
        const m = pr.get(n)!;
        const range = (xs: number[]): string => `${Math.min(...xs)}..${Math.max(...xs)}`;
        return [n, fmt(median(m.ns), 1), fmt(padded(n), 1), n === 'kscope' ? fmt(padded('kscope') / padded('bpftrace'), 2) : '',
          range(m.lines), range(m.lost), fmt(median(m.drainMs)), mib(median(m.rss))];
      }),
    ]));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
