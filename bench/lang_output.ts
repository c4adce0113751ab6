/**
 * Output throughput of `kscope -e` with one printf per event: a getppid() loop (N calls, pinned to CPU 1) fires
 * `tracepoint:syscalls:sys_enter_getppid /pid == $1/ { printf("%d\n", pid); }`; the tracer's stdout is a pipe read
 * here. Reports lines delivered per second (first to last line), the lag from the end of the loop to the last line,
 * and lost events. Run as root: node .build/NAME/bench/lang_output.js [events=200000] [rounds=3] [cli=.../main.js].
 * Needs gcc and taskset. No assertions: numbers for bench/RESULTS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const LOOP_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  printf("%d\\n", getpid()); fflush(stdout);
  char c; if (read(0, &c, 1) != 1) return 1;
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  printf("done\\n"); fflush(stdout);
  return 0;
}
`;

interface Round { lines: number; linesPerSec: number; lagMs: number; lost: number }

async function round(cli: string, bin: string, n: number): Promise<Round> {
  const loop = spawn('taskset', ['-c', '1', bin, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let loopOut = '';
  let loopDone = 0;
  loop.stdout.on('data', (d: Buffer) => {
    loopOut += d.toString();
    if (loopOut.includes('done')) loopDone ||= performance.now();
  });
  while (!loopOut.includes('\n')) await sleep(10);
  const pid = loopOut.split('\n')[0]!;
  const prog = 'tracepoint:syscalls:sys_enter_getppid /pid == $1/ { printf("%d\\n", pid); }';
  const tracer = spawn(process.execPath, [cli, '-e', prog, pid], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let lines = 0;
  let first = 0;
  let last = 0;
  tracer.stdout.on('data', (d: Buffer) => {
    const now = performance.now();
    first ||= now;
    last = now;
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
  });
  const attached = new Promise<void>((res) => tracer.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), /Attached/.test(stderr) && res())));
  await attached;
  loop.stdin.end('x');
  await new Promise((res) => loop.on('exit', res));
  // wait until the output has been quiet for a second, then stop the tracer
  while (lines < n && performance.now() - Math.max(last, loopDone) < 1000) await sleep(50);
  tracer.kill('SIGINT');
  await new Promise((res) => tracer.on('exit', res));
  const lost = Number(/Lost (\d+) events/.exec(stderr)?.[1] ?? 0);
  return { lines, linesPerSec: lines / ((last - first) / 1000), lagMs: last - loopDone, lost };
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const n = Number(process.argv[2] ?? 200000);
  const rounds = Number(process.argv[3] ?? 3);
  const cli = resolve(process.argv[4] ?? join(here, '../src/cli/main.js'));
  const dir = mkdtempSync('/tmp/kscope-bench-');
  writeFileSync(join(dir, 'loop.c'), LOOP_C);
  execFileSync('gcc', ['-O2', '-o', join(dir, 'loop'), join(dir, 'loop.c')]);
  process.stdout.write(`| round | events | lines | lines/s | lag after burst (ms) | lost |\n|---|---|---|---|---|---|\n`);
  for (let i = 0; i < rounds; i++) {
    const r = await round(cli, join(dir, 'loop'), n);
    process.stdout.write(`| ${i + 1} | ${n} | ${r.lines} | ${Math.round(r.linesPerSec)} | ${Math.round(r.lagMs)} | ${r.lost} |\n`);
  }
}

await main();
