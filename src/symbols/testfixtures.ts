/** Test fixtures: small C programs compiled on the fly (used by the *.test.ts files of this folder only). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A program with an exported function, a static one and an exported object; `loop` keeps it running. */
export const TARGET_C = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int kscope_counter = 7;
__attribute__((noinline)) int kscope_exported(int x) { kscope_counter += x; return kscope_counter * 3; }
static __attribute__((noinline)) int kscope_local(int x) { return x ^ kscope_counter; }
int main(int argc, char **argv) {
  printf("%p %p\\n", (void *)kscope_exported, (void *)kscope_local);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "loop") == 0) for (;;) { kscope_exported(1); kscope_local(2); usleep(10000); }
  return kscope_exported(argc) + kscope_local(argc) == 12345;
}
`;

/** A program with two USDT probes, one guarded by a semaphore. */
export const USDT_C = `
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short kscope_tick_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short kscope_tock_semaphore __attribute__((unused)) __attribute__((section(".probes")));
volatile long kscope_sink;
int main(int argc, char **argv) {
  long a = argc * 1000L;
  int b = argc + 2;
  if (kscope_tick_semaphore) STAP_PROBE3(kscope, tick, a, b, 5);
  STAP_PROBE1(kscope, tock, argv);
  kscope_sink = a + b;
  return 0;
}
`;

/** True when a program is on PATH. */
export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Compiles `source` with gcc into a fresh temp dir (removed at exit); returns the binary path. */
export function compileC(source: string, name: string, flags: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'kscope-sym-'));
  dirs.push(dir);
  const src = join(dir, `${name}.c`), bin = join(dir, name);
  writeFileSync(src, source);
  execFileSync('gcc', ['-O1', '-o', bin, src, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  return bin;
}

/** `nm` output as name → address (first definition). */
export function nmSymbols(bin: string, dynamic = false): Map<string, number> {
  const out = execFileSync('nm', dynamic ? ['-D', '--defined-only', bin] : ['--defined-only', bin], { encoding: 'utf8' });
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (name && !m.has(name.replace(/@.*/, ''))) m.set(name.replace(/@.*/, ''), parseInt(addr, 16));
  }
  return m;
}
