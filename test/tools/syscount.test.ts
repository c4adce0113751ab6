import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compileC, GATE, startGated, type GatedChild } from '../lib/cc.js';
import { runTool } from '../lib/tools.js';
import { listing, report, rows } from '../../src/tools/syscount.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * After "go", one of: `work` 1000 getppid(), 37 openat() of a missing file (ENOENT), 5 close(-1) (EBADF);
 * `sleep` three 100 ms sleeps; `fork` a child that calls getppid() 50 times and exits, waited for. Then it prints
 * "done" (one write) and waits for "go" again (a read that does not return while traced). It prints "ready" first, so
 * stdio and malloc have done their set-up syscalls before the test traces it.
 */
const WORKER = `${GATE}
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
int main(int argc, char **argv) { setvbuf(stdout, 0, _IOLBF, 0); printf("ready\\n"); wait_go();
  if (!strcmp(argv[1], "work")) { for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
    for (int i = 0; i < 37; i++) syscall(SYS_openat, AT_FDCWD, "/nonexistent-kscope", O_RDONLY);
    for (int i = 0; i < 5; i++) syscall(SYS_close, -1); }
  else if (!strcmp(argv[1], "sleep")) { for (int i = 0; i < 3; i++) usleep(100000); }
  else if (!fork()) { for (int i = 0; i < 50; i++) syscall(SYS_getppid); _exit(0); } else wait(0);
  printf("done\\n"); wait_go(); return 0; }`;

/** Starts the worker, runs syscount with `args(pid)` until the worker has done `mode`, then Ctrl-C. */
async function count(mode: 'work' | 'sleep' | 'fork', args: (c: GatedChild) => string[]): Promise<{ code: number | null; out: string; err: string; c: GatedChild }> {
  const c = startGated(compileC(WORKER), [mode]);
  try {
    assert.equal(await c.line(), 'ready');
    const r = await runTool('syscount', args(c), async () => {
      c.go();
      assert.equal(await c.line(), 'done');
    });
    return { ...r, c };
  } finally {
    c.end();
  }
}

/** The rows of the one report in `out` as [name, count(, time)] after checking the layout around them. */
function table(out: string, header: string): string[][] {
  const lines = out.split('\n');
  assert.match(lines[1]!, /^\[\d\d:\d\d:\d\d\]$/, out);
  assert.equal(lines[2], header);
  const end = lines.indexOf('', 3);
  assert.deepEqual(lines.slice(end), ['', 'Detaching...', ''], out);
  return lines.slice(3, end).map((l) => l.split(/ {2,}|(?<=\d) /).filter(Boolean));
}

test('syscount -p counts the syscalls of one process by name, highest first, and prints them on Ctrl-C', async () => {
  const r = await count('work', (c) => ['-p', String(c.pid)]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split('\n')[0], 'Tracing syscalls, printing top 10... Ctrl+C to quit.');
  const t = table(r.out, 'SYSCALL                   COUNT');
  // the gate's read returned and "done" was written once each, while traced
  assert.deepEqual(t.slice(0, 3), [['getppid', '1000'], ['openat', '37'], ['close', '5']], r.out);
  assert.deepEqual(t.slice(3).sort(), [['read', '1'], ['write', '1']], r.out);
  // the row layout: %-22s %8d
  assert.ok(r.out.includes(`\n${'getppid'.padEnd(22)} ${'1000'.padStart(8)}\n`), r.out);
});

test('syscount -x, -e ENOENT and --syscall filter by result and by syscall', async () => {
  const failed = await count('work', (c) => ['-x', '-p', String(c.pid)]);
  assert.equal(failed.code, 0, failed.err);
  assert.equal(failed.out.split('\n')[0], 'Tracing failed syscalls, printing top 10... Ctrl+C to quit.');
  assert.deepEqual(table(failed.out, 'SYSCALL                   COUNT'), [['openat', '37'], ['close', '5']]);
  const enoent = await count('work', (c) => ['-e', 'ENOENT', '-p', String(c.pid)]);
  assert.deepEqual(table(enoent.out, 'SYSCALL                   COUNT'), [['openat', '37']]);
  const one = await count('work', (c) => ['--syscall', 'getppid', '-p', String(c.pid)]);
  assert.equal(one.out.split('\n')[0], "Tracing syscall 'getppid'... Ctrl+C to quit.");
  assert.deepEqual(table(one.out, 'SYSCALL                   COUNT'), [['getppid', '1000']]);
});

test('syscount -L -P -m: per process, with the total time spent in syscalls', async () => {
  const r = await count('sleep', (c) => ['-L', '-P', '-m', '-p', String(c.pid)]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[2], 'PID    COMM               COUNT        TIME (ms)');
  // three clock_nanosleep and the write of "done" (the gate's read entered before tracing: no start time, not counted)
  const comm = compileC(WORKER).split('/').pop()!.slice(0, 15);
  const m = new RegExp(`^${r.c.pid} +${comm} +4 +(\\d+\\.\\d{6})$`).exec(lines[3]!);
  assert.ok(m, r.out);
  assert.ok(Number(m[1]) >= 300 && Number(m[1]) < 1000, m[1]);
  assert.equal(lines[3]!.length, 22 + 1 + 8 + 1 + 16);
  assert.deepEqual(lines.slice(4), ['', 'Detaching...', '']);
});

test('syscount -c PPID counts only the children of that process', async () => {
  const r = await count('fork', (c) => ['-c', String(c.pid)]);
  assert.equal(r.code, 0, r.err);
  const t = table(r.out, 'SYSCALL                   COUNT');
  assert.deepEqual(t[0], ['getppid', '50'], r.out);
  assert.ok(!t.some(([name]) => name === 'wait4'), `the parent's wait4 is counted:\n${r.out}`);
});

test('syscount -i -d reports every interval and ends after the duration; --json', async () => {
  const t0 = Date.now();
  const r = await runTool('syscount', ['-i', '1', '-d', '2', '-T', '3'], async () => undefined, { interrupt: false });
  assert.equal(r.code, 0, r.err);
  assert.ok(Date.now() - t0 >= 2000);
  const reports = r.out.split('\n[').slice(1);
  assert.equal(reports.length, 2, r.out);
  for (const rep of reports) {
    const lines = rep.split('\n');
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d\]$/);
    assert.equal(lines[1], 'SYSCALL                   COUNT');
    const body = lines.slice(2, lines.indexOf(''));
    assert.ok(body.length >= 1 && body.length <= 3, rep);
  }
  assert.ok(r.out.endsWith('\n\nDetaching...\n'), r.out);
  const j = await runTool('syscount', ['--json', '-L', '-d', '1'], async () => undefined, { interrupt: false, ready: '}' });
  const objs = j.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { time: string; rows: { syscall: string; count: number; total_ns: number }[] });
  assert.equal(objs.length, 1, j.out);
  assert.ok(objs[0]!.rows.length > 0 && objs[0]!.rows.every((x) => typeof x.syscall === 'string' && x.count > 0 && x.total_ns >= 0), j.out);
});

test('syscount --exec runs the command, counts its syscalls from its exec on, and ends when it exits', async () => {
  const r = await runTool('syscount', ['-T', '100', '--exec', '/bin/true'], async () => undefined, { interrupt: false });
  assert.equal(r.code, 0, r.err);
  const t = table(r.out, 'SYSCALL                   COUNT');
  assert.ok(t.some(([n, c]) => n === 'execve' && c === '1'), r.out);
});

test('syscount -l lists the syscall names four per line; report layout', () => {
  const lines = listing().split('\n').filter(Boolean);
  assert.ok(lines.length > 80);
  assert.equal(lines[0]!.slice(0, 25), `${'_sysctl'.padEnd(22)}   `);
  assert.ok(lines.some((l) => l.split(/ +/).includes('openat2')));
  const snap = { name: '@calls', kind: 'avg' as const, entries: [{ key: 0n, value: { total: 1500n, count: 3n } }, { key: 1n, value: { total: 2500000n, count: 1n } }, { key: -1n, value: { total: 9n ** 20n, count: 1n } }] };
  const list = rows(snap, 10);
  assert.deepEqual(list.map((x) => x.key), [1, 0], 'sorted by total time; id -1 dropped');
  assert.equal(report({ latency: true }, list, new Date(0)).split('\n').slice(1).join('\n'), 'SYSCALL                   COUNT        TIME (us)\nwrite                         1         2500.000\nread                          3            1.500\n\n');
  assert.equal(report({ process: true }, [{ key: 42, count: 7, ns: 0 }], new Date(0), () => 'bash').split('\n')[2], `${'42'.padEnd(6)} ${'bash'.padEnd(15)} ${'7'.padStart(8)}`);
});

test('syscount rejects bad flags and values with one line and exit code 2', () => {
  for (const [args, msg] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['-e', 'EBOGUS'], /couldn't map EBOGUS to an errno/],
    [['--syscall', 'bogus'], /syscall 'bogus' not found/],
    [['-T', '0'], /invalid top value/],
    [['-p', '1', '--exec', 'ls'], /can only use -p or --exec/],
  ] as const) {
    const p = spawnSync(process.execPath, [cli, 'syscount', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
    assert.match(p.stderr, msg);
  }
});
