/**
 * Test helper: builds small C programs with gcc (cached by content hash in the system temp dir) and runs them as
 * children that wait for a "go" line on stdin, so a test can attach before the interesting work starts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = join(tmpdir(), 'kscope-test-bin');

/** Compiles `source` (C) and returns the binary's path. Extra gcc flags may follow. */
export function compileC(source: string, flags: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const h = createHash('sha1').update(source).update(flags.join(' ')).digest('hex').slice(0, 16);
  const bin = join(dir, `p-${h}`);
  if (existsSync(bin)) return bin;
  const src = `${bin}.c`;
  writeFileSync(src, source);
  execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', `${bin}.tmp`, src, ...flags], { stdio: 'pipe' });
  renameSync(`${bin}.tmp`, bin);
  return bin;
}

export interface GatedChild {
  child: ChildProcess;
  pid: number;
  /** lets the child pass its next wait_go() */
  go(): void;
  /** closes the child's stdin (a pending wait_go() then exits the child with status 3) */
  end(): void;
  /** resolves with the next complete line the child prints (without the newline) */
  line(): Promise<string>;
  /** resolves with the exit code and everything it printed */
  done: Promise<{ code: number | null; stdout: string }>;
}

/** Starts `bin args...`; the program is expected to block reading one line from stdin before its work. */
export function startGated(bin: string, args: string[] = []): GatedChild {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let stdout = '';
  let consumed = 0;
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  let closed = false;
  child.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  const line = async (): Promise<string> => {
    for (;;) {
      const nl = stdout.indexOf('\n', consumed);
      if (nl >= 0) {
        const l = stdout.slice(consumed, nl);
        consumed = nl + 1;
        return l;
      }
      if (closed) throw new Error(`child ${bin} exited before printing a line`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  return {
    child,
    pid: child.pid!,
    go: () => void child.stdin!.write('go\n'),
    end: () => void child.stdin!.end(),
    line,
    done,
  };
}

/** C prelude: `wait_go()` blocks until the test says go. */
export const GATE = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void wait_go(void) { char b[3]; if (read(0, b, sizeof b) <= 0) exit(3); }
`;
