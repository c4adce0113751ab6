import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, GATE, startGated, type GatedChild } from '../lib/cc.js';
import { runTool } from '../lib/tools.js';
import { fullPath, header, row } from '../../src/tools/opensnoop.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
// /dev/shm is a tmpfs mounted on /dev: -F must cross two mount points on its way to the root
const dir = realpathSync(mkdtempSync(join('/dev/shm', 'kscope-opensnoop-')));
writeFileSync(join(dir, 'exists'), 'x');
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A thread (so its tid differs from the pid) prints its tid, waits for go, then in DIR opens: `exists` read-only,
 * `missing` (ENOENT), `created` with O_WRONLY|O_CREAT|O_TRUNC mode 0640, and `via2` through openat2() with
 * O_RDWR|O_CREAT mode 0600; it prints each result (the fd or -errno).
 */
const OPENER = `${GATE}
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
struct how { unsigned long long flags, mode, resolve; };
static void r(long fd) { printf("%ld\\n", fd < 0 ? -errno : fd); }
static void *opener(void *d) { printf("tid %d\\n", gettid()); wait_go(); if (chdir(d)) exit(4);
  r(open("exists", O_RDONLY)); r(open("missing", O_RDONLY)); r(open("created", O_WRONLY | O_CREAT | O_TRUNC, 0640));
  struct how h = { O_RDWR | O_CREAT, 0600, 0 }; r(syscall(SYS_openat2, AT_FDCWD, "via2", &h, sizeof h)); return 0; }
int main(int argc, char **argv) { setvbuf(stdout, 0, _IOLBF, 0); pthread_t t; pthread_create(&t, 0, opener, argv[1]); pthread_join(t, 0); return 0; }`;

/** The opener, started and waiting: its pid, comm, the opening thread's tid, and go() resolving with the 4 results. */
async function opener(): Promise<{ c: GatedChild; comm: string; tid: number; go(): Promise<number[]> }> {
  const bin = compileC(OPENER, ['-pthread']);
  const c = startGated(bin, [dir]);
  const tid = Number(/^tid (\d+)$/.exec(await c.line())![1]);
  return {
    c,
    comm: bin.split('/').pop()!.slice(0, 15),
    tid,
    go: async () => {
      c.go();
      const results = await Promise.all([c.line(), c.line(), c.line(), c.line()]);
      assert.equal((await c.done).code, 0);
      return results.map(Number);
    },
  };
}

const fields = (pid: number, comm: string, ret: number) => `${String(pid).padEnd(6)} ${comm.padEnd(16)} ${String(ret >= 0 ? ret : -1).padStart(4)} ${String(ret >= 0 ? 0 : -ret).padStart(3)} `;

test('opensnoop shows open, openat and openat2 calls as they return: pid, comm, fd or -1 and errno, the path as given', async () => {
  rmSync(join(dir, 'created'), { force: true });
  const o = await opener();
  let res: number[] = [];
  const r = await runTool('opensnoop', [], async () => {
    res = await o.go();
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'PID    COMM               FD ERR PATH');
  assert.equal(res[1], -2, 'missing is ENOENT');
  assert.ok(res[0]! >= 3 && res[2]! >= 3 && res[3]! >= 3, res.join(' '));
  const mine = lines.filter((l) => l.startsWith(`${o.c.pid} `));
  assert.deepEqual(
    mine,
    ['exists', 'missing', 'created', 'via2'].map((p, i) => fields(o.c.pid, o.comm, res[i]!) + p),
    r.out,
  );
});

test('opensnoop -T -U -e -x -p: only the failed open of that process, with time, uid, flags and mode columns', async () => {
  const o = await opener();
  const r = await runTool('opensnoop', ['-T', '-U', '-e', '-x', '-p', String(o.c.pid)], async () => {
    await o.go();
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  assert.equal(lines[0], 'TIME(s)       UID   PID    COMM               FD ERR FLAGS    MODE PATH');
  assert.equal(lines.length, 2, r.out);
  // seconds since the first event (the open of `exists`, not shown), microsecond resolution as BCC
  const m = /^(\d+\.\d{6}000) +(.*)$/.exec(lines[1]!);
  assert.ok(m, lines[1]);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) < 1, m[1]);
  assert.equal(lines[1]!.slice(14), `${String(process.getuid!()).padEnd(6)}${fields(o.c.pid, o.comm, -2)}00000000 n/a  missing`);
});

test('opensnoop -t TID -u UID -f O_CREAT -e: a TID column, and only the calls with O_CREAT, their flags and mode (openat2 from its struct open_how)', async () => {
  const o = await opener();
  let res: number[] = [];
  const r = await runTool('opensnoop', ['-t', String(o.tid), '-u', String(process.getuid!()), '-f', 'O_CREAT', '-e'], async () => {
    res = await o.go();
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  assert.equal(lines[0], 'TID    COMM               FD ERR FLAGS    MODE PATH');
  assert.notEqual(o.tid, o.c.pid);
  assert.deepEqual(lines.slice(1), [`${fields(o.tid, o.comm, res[2]!)}00001101 0640 created`, `${fields(o.tid, o.comm, res[3]!)}00000102 0600 via2`], r.out);
});

test('opensnoop -F -n: relative paths prefixed with the working directory, across mount points; only comms containing NAME', async () => {
  const o = await opener();
  let res: number[] = [];
  const r = await runTool('opensnoop', ['-F', '-n', o.comm.slice(3, 10)], async () => {
    res = await o.go();
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  assert.ok(lines.slice(1).every((l) => l.split(/ +/)[1]!.includes(o.comm.slice(3, 10))), r.out);
  assert.deepEqual(lines.filter((l) => l.startsWith(`${o.c.pid} `)), ['exists', 'missing', 'created', 'via2'].map((p, i) => fields(o.c.pid, o.comm, res[i]!) + join(dir, p)), r.out);
});

test('opensnoop --exec runs the command, traces only it, and ends when it exits', async () => {
  const file = join(dir, 'exists');
  const r = await runTool('opensnoop', ['--exec', 'head', '-c0', file], async () => undefined, { interrupt: false });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'PID    COMM               FD ERR PATH');
  const rows = lines.slice(1).filter(Boolean);
  assert.equal(new Set(rows.map((l) => l.split(/ +/)[0])).size, 1, `rows of other processes:\n${r.out}`);
  assert.ok(rows.every((l) => l.split(/ +/)[1] === 'head'), r.out);
  assert.equal(rows.filter((l) => l.endsWith(` head                3   0 ${file}`)).length, 1, r.out);
});

test('opensnoop --json -d: one object per open, and tracing ends after the duration', async () => {
  // opens `exists` every 20 ms until killed
  const bin = compileC(`${GATE}
#include <fcntl.h>
int main(int argc, char **argv) { wait_go(); for (;;) { close(open(argv[1], O_RDONLY)); usleep(20000); } }`);
  const c = startGated(bin, [join(dir, 'exists')]);
  c.go();
  const t0 = Date.now();
  try {
    const r = await runTool('opensnoop', ['--json', '-d', '2', '-p', String(c.pid)], async () => undefined, { interrupt: false });
    assert.equal(r.code, 0, r.err);
    assert.ok(Date.now() - t0 >= 2000, 'ended before the duration');
    const events = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(events.length >= 10, r.out);
    for (const e of events) {
      assert.deepEqual(Object.keys(e), ['ts', 'uid', 'pid', 'tid', 'comm', 'fd', 'err', 'flags', 'mode', 'path']);
      assert.deepEqual([e.pid, e.tid, e.comm, e.err, e.flags, e.mode, e.path], [c.pid, c.pid, bin.split('/').pop()!.slice(0, 15), 0, 0, null, join(dir, 'exists')]);
    }
    assert.equal(events[0]!.ts, 0);
    assert.ok(events.every((e, i) => i === 0 || (e.ts as number) > (events[i - 1]!.ts as number)));
  } finally {
    c.child.kill();
  }
});

test('opensnoop row and header layout, -F path joining', () => {
  const e = { tsUs: 0n, pid: 7, tid: 8, uid: 1000, ret: 3, flags: 0o2000000, mode: 0o777, comm: 'a', path: 'p' };
  assert.equal(header({ timestamp: true, printUid: true, tid: 8, extended_fields: true }), 'TIME(s)       UID   TID    COMM               FD ERR FLAGS    MODE PATH\n');
  assert.equal(row({ timestamp: true, printUid: true, extended_fields: true }, e, 1234567n), '1.234567000   1000  7      a                   3   0 02000000 n/a  p\n');
  assert.equal(row({ extended_fields: true }, { ...e, flags: 0o20200002, ret: -13 }, 0n), '7      a                  -1  13 20200002 0777 p\n');
  assert.equal(fullPath('f', ['sub', 'tmp', '/']), '/tmp/sub/f');
  assert.equal(fullPath('../f', ['/', 'shm', 'dev', '/']), '/dev/shm/../f');
  assert.equal(fullPath('/etc/x', []), '/etc/x');
});

test('opensnoop rejects bad flags and values with one line and exit code 2', () => {
  for (const [args, msg] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['-f', 'O_BOGUS'], /Bad flag: O_BOGUS/],
    [['-f', 'WRONLY'], /Bad flag: WRONLY/],
    [['-b', '3'], /power of two/],
    [['--exec'], /--exec without command/],
    [['-p', '1', '--exec', 'ls'], /can only use -p or --exec/],
    [['ls'], /unrecognized arguments: ls/],
  ] as const) {
    const p = spawnSync(process.execPath, [cli, 'opensnoop', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
    assert.match(p.stderr, msg);
  }
});

test('opensnoop -F leaves absolute paths as they are', async () => {
  const file = join(dir, 'exists');
  const r = await runTool('opensnoop', ['-F', '--exec', 'head', '-c0', file], async () => undefined, { interrupt: false });
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').slice(1).filter(Boolean);
  assert.equal(rows.filter((l) => l.endsWith(` head                3   0 ${file}`)).length, 1, r.out);
});
