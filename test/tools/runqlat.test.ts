import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compileC, GATE, startGated } from '../lib/cc.js';
import { runTool } from '../lib/tools.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Two threads waking each other N times: a sleep/wake storm whose wake-up latencies runqlat must count. */
const PINGPONG = `${GATE}
#include <pthread.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER; static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int turn = 0, n;
static void *peer(void *arg) { int me = (int)(long)arg;
  for (int i = 0; i < n; i++) { pthread_mutex_lock(&m); while (turn != me) pthread_cond_wait(&c, &m); turn = !me; pthread_cond_signal(&c); pthread_mutex_unlock(&m); }
  return 0; }
int main(int argc, char **argv) { n = atoi(argv[1]); wait_go(); pthread_t a, b;
  pthread_create(&a, 0, peer, (void *)0L); pthread_create(&b, 0, peer, (void *)1L); pthread_join(a, 0); pthread_join(b, 0); return 0; }`;

const run = (args: string[], during: () => Promise<void>) => runTool('runqlat', args, during, { ready: 'Hit Ctrl-C to end.', settleMs: 0 });

const ROW = /^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|[*+ ]{40}\|$/;

test('runqlat prints a BCC log2 histogram with counts from a sleep/wake storm, and exits 0 on Ctrl-C', async () => {
  const bin = compileC(PINGPONG, ['-pthread']);
  const r = await run([], async () => {
    const c = startGated(bin, ['3000']);
    c.go();
    await c.done;
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing run queue latency... Hit Ctrl-C to end.');
  assert.equal(lines[1], '');
  assert.equal(lines[2], '     usecs               : count     distribution');
  const rows = lines.slice(3).filter(Boolean);
  assert.ok(rows.length > 0 && rows.every((l) => ROW.test(l)), r.out);
  assert.match(rows[0]!, /^\s+0 -> 1 /);
  const total = rows.reduce((s, l) => s + Number(ROW.exec(l)![3]), 0);
  assert.ok(total >= 3000, `only ${total} wake-ups counted for a 2 x 3000 ping-pong`);
});

test('runqlat -P sections per process; -m labels msecs; interval/count ends by itself', async () => {
  const bin = compileC(PINGPONG, ['-pthread']);
  const c = startGated(bin, ['2000']);
  const p = spawnSync(process.execPath, [cli, 'runqlat', '-P', '-m', '1', '1'], { encoding: 'utf8', timeout: 20000, input: '' });
  void c;
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^Tracing run queue latency\.\.\. Hit Ctrl-C to end\.\n\n\npid = \d+\n     msecs               : count     distribution\n/);
  c.end();
  await c.done;
});

test('runqlat rejects bad flags with one line and exit code 2', () => {
  const p = spawnSync(process.execPath, [cli, 'runqlat', '--bogus'], { encoding: 'utf8' });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /^runqlat: unknown option '--bogus'\n/);
  const q = spawnSync(process.execPath, [cli, 'runqlat', '-P', '-L'], { encoding: 'utf8' });
  assert.equal(q.status, 2);
  assert.match(q.stderr, /cannot be used together/);
});
