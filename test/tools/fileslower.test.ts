import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, GATE, startGated } from '../lib/cc.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Two slow reads, each ~150 ms: a 100-byte read from a FIFO whose writer (a forked child) pauses before writing,
 * and a 4096-byte read from a regular file into a buffer whose page is userfaultfd-registered: the copy to user
 * space faults and the read waits until a handler thread fills the page 150 ms later.
 */
const SLOW = `${GATE}
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>
static int uffd; static char *page;
static void *handler(void *arg) { (void)arg; struct pollfd p = { uffd, POLLIN, 0 }; poll(&p, 1, -1);
  struct uffd_msg m; if (read(uffd, &m, sizeof m) != sizeof m) exit(5); usleep(150000);
  static char src[4096] __attribute__((aligned(4096))); memset(src, 'u', sizeof src);
  struct uffdio_copy c = { (unsigned long)page, (unsigned long)src, 4096, 0, 0 }; if (ioctl(uffd, UFFDIO_COPY, &c)) exit(6); return 0; }
int main(int argc, char **argv) { prctl(PR_SET_NAME, "kfslow-test"); char buf[100];
  wait_go();
  if (fork() == 0) { int w = open(argv[1], O_WRONLY); usleep(150000); if (write(w, "hello", 5) != 5) _exit(1); _exit(0); }
  int r = open(argv[1], O_RDONLY); if (read(r, buf, sizeof buf) != 5) return 1; wait(0);
  uffd = syscall(SYS_userfaultfd, O_CLOEXEC); struct uffdio_api api = { UFFD_API, 0, 0 }; if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) return 2;
  page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct uffdio_register reg = { { (unsigned long)page, 4096 }, UFFDIO_REGISTER_MODE_MISSING, 0 }; if (ioctl(uffd, UFFDIO_REGISTER, &reg)) return 4;
  pthread_t t; pthread_create(&t, 0, handler, 0);
  int f = open(argv[2], O_RDONLY); if (read(f, page, 4096) != 4096) return 7; pthread_join(t, 0);
  printf("%d\\n", getpid()); return 0; }`;

interface Row {
  time: number;
  comm: string;
  tid: number;
  dir: string;
  bytes: number;
  lat: number;
  file: string;
}
const ROW = /^(\d+\.\d{3}) +(\S.{0,13}?) +(\d+) +([RW]) (\d+) +(\d+\.\d\d) (.*)$/;

/**
 * Runs `kscope fileslower args`, runs the slow reader once the header is out (with --json, which prints no header:
 * 3 s after start), then Ctrl-C; parses the text or JSON rows.
 */
/** The FIFO's name: exactly 32 characters, BCC's longest name printed whole (DNAME_INLINE_LEN) */
const FIFO = `kscope-fifo-${process.pid}-`.padEnd(32, 'x');

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string; rows: Row[]; pid: number }> {
  const bin = compileC(SLOW, ['-pthread']);
  const fifo = join(tmpdir(), FIFO);
  const file = join(tmpdir(), `kscope-fslow-${process.pid}.dat`);
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  writeFileSync(file, Buffer.alloc(8192, 'd'));
  const c = startGated(bin, [fifo, file]);
  const p = spawn(process.execPath, [cli, 'fileslower', ...args.map((a) => (a === 'PID' ? String(c.pid) : a))], { stdio: ['ignore', 'pipe', 'pipe'] });
  const json = args.includes('--json');
  let out = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => {
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      c.go();
      void c.done.then(() => setTimeout(() => p.kill('SIGINT'), 300));
    };
    if (json) setTimeout(start, 3000);
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('FILENAME\n')) start();
    });
    p.on('close', resolve);
  });
  const done = await c.done;
  rmSync(fifo, { force: true });
  rmSync(file, { force: true });
  assert.equal(done.code, 0, `the slow reader failed (${done.code})`);
  const lines = out.split('\n').filter(Boolean);
  const rows = json
    ? lines.map((l) => {
        const j = JSON.parse(l) as { time_s: number; comm: string; tid: number; dir: string; bytes: number; lat_ms: number; filename: string };
        return { time: j.time_s, comm: j.comm, tid: j.tid, dir: j.dir, bytes: j.bytes, lat: j.lat_ms, file: j.filename };
      })
    : lines.slice(2).map((l) => {
      const m = ROW.exec(l);
      assert.ok(m, `not a fileslower row: ${JSON.stringify(l)}`);
      return { time: Number(m[1]), comm: m[2]!, tid: Number(m[3]), dir: m[4]!, bytes: Number(m[5]), lat: Number(m[6]), file: m[7]! };
    });
  return { code, out, err, rows, pid: c.pid };
}

test('fileslower -a shows the slow FIFO read and the slow regular-file read with their latency and file name', async () => {
  const r = await run(['-a', '100']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing sync read/writes slower than 100 ms');
  assert.equal(lines[1], 'TIME(s)  COMM           TID    D BYTES   LAT(ms) FILENAME');
  const mine = r.rows.filter((x) => x.tid === r.pid);
  const fifo = mine.find((x) => x.file === FIFO);
  assert.ok(fifo, r.out);
  assert.deepEqual([fifo.comm, fifo.dir, fifo.bytes], ['kfslow-test', 'R', 100]);
  // the writer's 150 ms pause starts when the reader opens the FIFO, a moment before its read(): allow 10 ms
  assert.ok(fifo.lat >= 140 && fifo.lat < 5000, `FIFO read latency ${fifo.lat} ms`);
  const reg = mine.find((x) => x.file === `kscope-fslow-${process.pid}.dat`);
  assert.ok(reg, r.out);
  assert.deepEqual([reg.comm, reg.dir, reg.bytes], ['kfslow-test', 'R', 4096]);
  assert.ok(reg.lat >= 140 && reg.lat < 5000, `file read latency ${reg.lat} ms`);
  assert.ok(reg.time >= fifo.time);
});

test('fileslower without -a skips the FIFO; -p keeps only that process', async () => {
  const r = await run(['-p', 'PID', '100']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.rows.length > 0 && r.rows.every((x) => x.tid === r.pid), r.out);
  assert.deepEqual(
    r.rows.map((x) => x.file),
    [`kscope-fslow-${process.pid}.dat`],
  );
});

test('fileslower --json prints one object per event, with the documented fields', async () => {
  const r = await run(['--json', '-a', '-p', 'PID', '100']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(
    r.rows.map((x) => [x.comm, x.tid, x.dir, x.bytes, x.file]),
    [
      ['kfslow-test', r.pid, 'R', 100, FIFO],
      ['kfslow-test', r.pid, 'R', 4096, `kscope-fslow-${process.pid}.dat`],
    ],
  );
  assert.ok(r.rows.every((x) => x.lat >= 140), r.out);
});

test('fileslower rejects bad flags with one line and exit code 2', () => {
  const p = spawnSync(process.execPath, [cli, 'fileslower', '--bogus'], { encoding: 'utf8' });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /^fileslower: unknown option '--bogus'\n/);
  const q = spawnSync(process.execPath, [cli, 'fileslower', 'ten'], { encoding: 'utf8' });
  assert.equal(q.status, 2);
  assert.match(q.stderr, /invalid min_ms value: 'ten'/);
});
