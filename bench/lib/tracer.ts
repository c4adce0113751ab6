/**
 * Benchmark helpers for whole tracer processes (kscope, bpftrace, libbpf-tools): a tracer run under GNU time in
 * its own process group (first output line, wall time, peak RSS), a gated load generator pinned to CPU 1, the kscope
 * bundle built into a bench folder, and markdown formatting. Used by bench/lang.ts and bench/tools.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from './pin.js';

/** A tracer command line; `args` given per run are appended to `argv`. */
export interface Tracer {
  name: string;
  argv: string[];
}

/** One finished tracer run. */
export interface Run {
  firstMs: number; // spawn to first output line (NaN when none)
  wallMs: number; // spawn to exit
  rssKiB: number;
  stdout: string; // empty when stdout went to a file
  stderr: string;
  code: number | null; // GNU time's exit code: the tracer's, null when time itself was killed (SIGKILL after the timeout)
}

/** Median of the finite values (NaN when there are none). */
export function medianOf(xs: number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length ? median(f) : NaN;
}

/** The repository root above this bench build (the folder with ./kscope and package.json). */
export function repoRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== '/'; d = dirname(d)) {
    if (existsSync(join(d, 'kscope')) && existsSync(join(d, 'package.json'))) return d;
  }
  throw new Error('kscope repository root not found above the bench file');
}

/** The node flags ./kscope and the bundle's shebang run kscope with (kept in step with the launcher). */
export const NODE_FLAGS = ['--min-semi-space-size=2', '--max-semi-space-size=2'];

/** The tsc output folder this bench file was compiled into (.build/NAME). */
export const buildDir = (): string => join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Bundles the CLI into `build` (kscope.cjs, kscope.bundle.cjs, kscope.script.cjs) with scripts/bundle.mjs run from a copy of src/,
 * scripts/ and package.json in `dir` (mtimes kept; node_modules/ linked to the repository's, dist/ to `build`), so
 * the real dist/ is left alone. Other engineers keep editing src/: the copy freezes one state of it.
 */
export function bundleCli(root: string, build: string, dir: string): void {
  mkdirSync(dir);
  execFileSync('cp', ['-a', ...['src', 'scripts', 'package.json'].map((f) => join(root, f)), dir]);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(build, join(dir, 'dist'));
  execFileSync(process.execPath, [join(dir, 'scripts/bundle.mjs')], { stdio: 'inherit' });
}

/** Compiles a C source with gcc -O2 (plus `flags`) into `dir/name` and returns the binary's path. */
export function compileC(dir: string, name: string, source: string, flags: string[] = []): string {
  const bin = join(dir, name);
  writeFileSync(`${bin}.c`, source);
  execFileSync('gcc', ['-O2', '-o', bin, `${bin}.c`, ...flags]);
  return bin;
}

/** A running tracer under GNU time in its own process group (SIGINT to the group reaches the tracer, time ignores it). */
export class Traced {
  readonly t0 = performance.now();
  firstMs = NaN;
  stdout = '';
  stderr = '';
  private readonly child: ChildProcess;
  private readonly done: Promise<Run>;
  private readonly rssFile: string;

  /** Starts `tracer.argv args`; stdout goes to `outFile` when given, else is collected. Temp files go to `tmp`. */
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
      // bpftrace announces "Attaching N probes..." before it attaches; its first real output comes after.
      if (Number.isNaN(this.firstMs) && this.stdout.split('\n').slice(0, -1).some((l) => l !== '' && !l.startsWith('Attaching'))) {
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

  /**
   * Waits until `re` appears in the output (without `re`: until the first output line on a piped stdout), then
   * `settleMs` more (bpftrace announces before attaching).
   */
  async ready(settleMs: number, re?: RegExp, timeoutMs = 20_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (re ? !re.test(this.text()) : Number.isNaN(this.firstMs)) {
      if (this.child.exitCode !== null || performance.now() > end) {
        throw new Error(`tracer not ready (exit ${this.child.exitCode}): ${this.text().slice(0, 500)}`);
      }
      await sleep(20);
    }
    await sleep(settleMs);
  }

  /** SIGINT to the tracer's process group (unless it is gone already), SIGKILL after 20 s. */
  async stop(): Promise<Run> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(-this.child.pid!, 'SIGINT');
    return this.exit();
  }

  /** Waits for the tracer to exit by itself (SIGKILL after timeoutMs). */
  async exit(timeoutMs = 20_000): Promise<Run> {
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), timeoutMs);
    const r = await this.done;
    clearTimeout(timer);
    return r;
  }
}

/**
 * Starts `bin args` pinned to CPU 1 (taskset -c 1). The program prints its pid, waits for a byte on stdin, does its
 * work and prints a line of numbers (its costs per iteration). Resolves the pid; `go()` starts the work and resolves
 * the numbers.
 */
export async function pinnedLoop(bin: string, args: string[]): Promise<{ pid: number; go(): Promise<number[]> }> {
  const child = spawn('taskset', ['-c', '1', bin, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`${bin} failed to start`);
    await sleep(5);
  }
  return {
    pid: Number(out.split('\n')[0]),
    async go() {
      child.stdin.end('g');
      await closed;
      return (out.trim().split('\n')[1] ?? '').split(' ').map(Number);
    },
  };
}

/** Events lost as the tracer reported them: its total when printed, else the sum of the `Lost N events` lines. */
export function lostEvents(text: string): number {
  const total = /Total lost event count: (\d+)/.exec(text);
  if (total) return Number(total[1]);
  return [...text.matchAll(/Lost (\d+) events/g)].reduce((s, m) => s + Number(m[1]), 0);
}

/** Waits until the output (a file's path, or a size getter) stops growing for `quietMs`, at most `maxMs`. */
export async function quiet(out: string | (() => number), quietMs: number, maxMs: number): Promise<void> {
  const end = performance.now() + maxMs;
  let size = -1;
  let since = performance.now();
  while (performance.now() < end) {
    const s = typeof out === 'string' ? statSync(out).size : out();
    if (s !== size) [size, since] = [s, performance.now()];
    else if (performance.now() - since >= quietMs) return;
    await sleep(50);
  }
}

/** `x` with `digits` decimals, or n/a. */
export const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
/** KiB as MiB with one decimal. */
export const mib = (kib: number): string => fmt(kib / 1024, 1);
/** `min..max` of the finite values. */
export const range = (xs: number[], digits = 0): string => {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length ? `${fmt(Math.min(...f), digits)}..${fmt(Math.max(...f), digits)}` : 'n/a';
};
/** A markdown table. */
export const table = (head: string[], rows: string[][]): string =>
  [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
/** Rotates the order each round so that no tracer always runs first. */
export const rotate = <T>(xs: T[], round: number): T[] => xs.map((_, i) => xs[(i + round) % xs.length]!);
