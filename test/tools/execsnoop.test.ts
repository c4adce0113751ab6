import { runTool } from '../lib/tools.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argsText, header, row } from '../../src/tools/execsnoop.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kscope-execsnoop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of /bin/true under a unique name (<= 15 chars, so it is also the whole comm): lives well under 1 ms. */
function uniqueTrue(): { path: string; comm: string } {
  const comm = `ksx-${randomBytes(4).toString('hex')}`;
  const path = join(dir, comm);
  copyFileSync('/bin/true', path);
  chmodSync(path, 0o755);
  return { path, comm };
}

/** Runs a program from this process and waits for it; resolves with its pid (or -1 when exec failed). */
function exec(path: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(path, args, { stdio: 'ignore' });
    c.on('error', () => resolve(-1));
    c.on('exit', () => resolve(c.pid!));
  });
}

const run = (args: string[], during: () => Promise<void>) => runTool('execsnoop', args, during);

const lineWith = (out: string, s: string) => out.split('\n').filter((l) => l.includes(s));

test('execsnoop shows a sub-millisecond process with its pid, ppid, ret 0 and args; failed execs only with -x', async () => {
  const t = uniqueTrue();
  const tag = randomBytes(6).toString('hex');
  const noexec = join(dir, `noexec-${tag}`);
  writeFileSync(noexec, '#!/bin/sh\n', { mode: 0o644 });
  let pid = 0;
  const r = await run([], async () => {
    pid = await exec(t.path, ['first', `u-${tag}`]);
    assert.equal(await exec(noexec, ['x']), -1);
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split('\n')[0], 'COMM             PID     PPID    RET ARGS');
  const rows = lineWith(r.out, `u-${tag}`);
  assert.deepEqual(rows, [`${t.comm.padEnd(16)} ${String(pid).padEnd(7)} ${String(process.pid).padEnd(7)}   0 ${t.path} first u-${tag}`], r.out);
  assert.deepEqual(lineWith(r.out, noexec), [], 'a failed exec is printed without -x');
});

test('execsnoop -x shows a failed exec with its errno as RET', async () => {
  const tag = randomBytes(6).toString('hex');
  const noexec = join(dir, `noexec-${tag}`);
  writeFileSync(noexec, '#!/bin/sh\n', { mode: 0o644 });
  const missing = join(dir, `missing-${tag}`);
  const r = await run(['-x'], async () => {
    await exec(noexec, ['a1']);
    await exec(missing, ['a2']);
  });
  assert.equal(r.code, 0, r.err);
  const eacces = lineWith(r.out, noexec);
  assert.equal(eacces.length, 1, r.out);
  assert.match(eacces[0]!, new RegExp(`^\\S.{15} \\d+\\s+${process.pid}\\s+-13 ${noexec} a1$`));
  const enoent = lineWith(r.out, missing);
  assert.equal(enoent.length, 1, r.out);
  assert.match(enoent[0]!, new RegExp(` -2 ${missing} a2$`));
});

test('execsnoop -n filters by comm; -T -t add time columns; --max-args truncates with ...', async () => {
  const t = uniqueTrue();
  const tag = randomBytes(6).toString('hex');
  let pid = 0;
  const r = await run(['-n', t.comm, '-T', '-t', '--max-args', '3'], async () => {
    await exec('/bin/true', [`other-${tag}`]);
    pid = await exec(t.path, ['a', 'b', 'c', `d-${tag}`]);
  });
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  assert.equal(lines[0], 'TIME     TIME(s) COMM             PID     PPID    RET ARGS');
  assert.deepEqual(lineWith(r.out, `other-${tag}`), [], '-n must drop other commands');
  const mine = lines.slice(1);
  assert.equal(mine.length, 1, r.out);
  const m = /^(\d\d:\d\d:\d\d) (\d+\.\d{3})\s*(.*)$/.exec(mine[0]!);
  assert.ok(m, mine[0]);
  assert.ok(Number(m[2]) > 0 && Number(m[2]) < 30, m[2]);
  assert.equal(m[3], `${t.comm.padEnd(16)} ${String(pid).padEnd(7)} ${String(process.pid).padEnd(7)}   0 ${t.path} a b ...`);
});

test('execsnoop -U -P: the uid column, and only children of the given parent', async () => {
  const t = uniqueTrue();
  const tag = randomBytes(6).toString('hex');
  // the program runs as a grandchild (sh's child), so -P with our pid must not see it, while -P with sh's pid would
  const r = await run(['-U', '-P', String(process.pid)], async () => {
    await exec(t.path, [`direct-${tag}`]);
    await exec('/bin/sh', ['-c', `${t.path} via-sh-${tag}; exit 0`]);
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split('\n')[0], 'UID   COMM             PID     PPID    RET ARGS');
  const mine = r.out.split('\n').filter((l) => l.split(/\s+/)[1] === t.comm);
  assert.equal(mine.length, 1, r.out);
  assert.match(mine[0]!, new RegExp(`^${process.getuid!()}\\s+${t.comm}\\s+\\d+\\s+${process.pid}\\s+0 ${t.path} direct-${tag}$`));
  assert.equal(lineWith(r.out, `/bin/sh -c ${t.path} via-sh-${tag}`).length, 1, 'sh, a direct child, is shown');
});

test('execsnoop row/header layout: -q quoting, newlines, unknown ppid, optional columns', () => {
  assert.equal(argsText(['/bin/echo', 'a "b"', 'c\nd'], true), '"/bin/echo" "a \\"b\\"" "c\\nd"');
  assert.equal(argsText(['/bin/ls', 'x\ny']), '/bin/ls x\\ny');
  const e = { pid: 42, ppid: 0, uid: 1000, cpu: 1, ret: -2, comm: 'bash', pcomm: 'sshd', args: ['/x'] };
  assert.equal(row({ printPcomm: true, printCpu: true }, e, new Date(), 0), 'bash             42      sshd             ?       1     -2 /x\n');
  assert.equal(header({ printPcomm: true, printCpu: true }), 'COMM             PID     PCOMM            PPID    CPU  RET ARGS\n');
});

test('execsnoop rejects bad flags and values with one line and exit code 2', () => {
  for (const args of [['--bogus'], ['--max-args', '0'], ['-u', 'no-such-user-kscope'], ['-n', '(']]) {
    const p = spawnSync(process.execPath, [cli, 'execsnoop', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
    assert.equal(p.stderr.trim().split('\n').length <= 2, true, p.stderr);
  }
});
