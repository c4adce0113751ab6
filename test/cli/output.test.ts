import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progIds } from '../lib/leaks.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('a reader that goes away (`kscope ... | head -2`) ends tracing cleanly: exit 0, no stack trace, programs unloaded', async () => {
  const before = progIds();
  const c = spawn(process.execPath, [cli, '-e', 'interval:ms:5 { printf("tick %d\\n", elapsed); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d));
  let out = '';
  let lines = 0;
  // read two lines, then close our end of the pipe as head does
  await new Promise<void>((resolve) =>
    c.stdout.on('data', (d: Buffer) => {
      out += d;
      if ((lines = out.split('\n').length - 1) >= 2) c.stdout.destroy(), resolve();
    }),
  );
  const ended = await new Promise<{ code: number | null; signal: string | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
  assert.ok(lines >= 2 && /^tick \d+$/m.test(out), out);
  assert.deepEqual(ended, { code: 0, signal: null }, err);
  assert.doesNotMatch(err, /\n\s+at |EPIPE|Error/, err);
  // the kernel frees programs after an RCU grace period
  let left: number[] = [];
  for (let i = 0; i < 60; i++) {
    left = [...progIds()].filter((id) => !before.has(id));
    if (!left.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(left, [], 'programs of the kscope run still loaded');
});

test('printf writes the bytes of the script and of traced strings unchanged (UTF-8 in, UTF-8 out)', async () => {
  const c = spawn(process.execPath, [cli, '-e', 'BEGIN { printf("grüße %s\\n", "→ok"); @["ü"] = 1; exit(); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  c.stdout.on('data', (d: Buffer) => chunks.push(d));
  const code = await new Promise<number | null>((r) => c.on('close', r));
  assert.equal(code, 0);
  const out = Buffer.concat(chunks).toString('utf8');
  assert.match(out, /^grüße →ok$/m);
  assert.match(out, /^@\[ü\]: 1$/m);
});

test('a tool whose reader goes away (`kscope execsnoop | head -3`) stops as on Ctrl-C: exit 0, no stack trace', async () => {
  const c = spawn(process.execPath, [cli, 'execsnoop'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d));
  let out = '';
  let closed = false;
  const ended = new Promise<{ code: number | null; signal: string | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
  c.stdout.on('data', (d: Buffer) => {
    out += d;
    if (!closed && out.split('\n').length > 3) (closed = true), c.stdout.destroy();
  });
  // execs until the header and two rows came and kscope noticed the closed pipe (or 10 s)
  let done = false;
  void ended.then(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    spawn('/bin/true').on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = await ended;
  assert.ok(closed, `execsnoop printed:\n${out}\n${err}`);
  assert.deepEqual(r, { code: 0, signal: null }, err);
  assert.doesNotMatch(err, /\n\s+at |EPIPE|Error/, err);
});

test("a tool's help into a reader that goes away (`kscope execsnoop -h | head -1`): exit 0, no stack trace", async () => {
  const c = spawn(process.execPath, [cli, 'execsnoop', '-h'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d));
  c.stdout.destroy(); // gone before the first byte, as head -1 is after its line
  const ended = await new Promise<{ code: number | null; signal: string | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
  assert.deepEqual(ended, { code: 0, signal: null }, err);
  assert.doesNotMatch(err, /\n\s+at |EPIPE|Error/, err);
});
