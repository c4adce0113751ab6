/**
 * Start-up is a feature (bench/lang.ts measures it): these guard the choices that keep the bundled CLI's start light,
 * by what a BEGIN one-liner loads — no child_process/net/stream/zlib (lazy in src/sys/builtins.ts, also inside
 * commander) and no vmlinux BTF (read on first use only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../../kscope.cjs', import.meta.url));

test('the bundled CLI runs a BEGIN one-liner without loading child_process, net, stream, zlib or vmlinux BTF', { skip: !existsSync(bundle) && 'no bundle beside this compiled tree (npm run build makes dist/kscope.cjs)' }, () => {
  const hook = join(tmpdir(), `kscope-startup-${process.pid}.cjs`);
  // reports, at exit, the built-in modules loaded and whether vmlinux BTF was opened
  writeFileSync(hook, `const fs = require('fs'); const read = fs.readFileSync; let btf = false;
fs.readFileSync = function (p, ...a) { if (String(p).includes('/sys/kernel/btf/vmlinux')) btf = true; return read.call(this, p, ...a); };
process.on('exit', () => fs.writeSync(2, 'LOADED ' + JSON.stringify({ mods: process.moduleLoadList, btf }) + '\\n'));\n`);
  const r = spawnSync(process.execPath, ['--require', hook, bundle, '-e', 'BEGIN { printf("light\\n"); exit(); }'], { encoding: 'utf8' });
  rmSync(hook);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^light$/m);
  const m = /^LOADED (.*)$/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  const { mods, btf } = JSON.parse(m[1]!) as { mods: string[]; btf: boolean };
  for (const name of ['child_process', 'net', 'stream', 'zlib']) assert.ok(!mods.includes(`NativeModule ${name}`), `${name} was loaded`);
  assert.equal(btf, false, 'vmlinux BTF was opened');
});

const launcher = fileURLToPath(new URL('../../../kscope', import.meta.url));

for (const [how, argv0] of [['./kscope', launcher], ["the bundle's shebang (npm's bin link)", bundle]] as const) {
  test(`${how} starts Node without NODE_EXTRA_CA_CERTS and gives it back to the commands kscope runs`, { skip: !existsSync(argv0) && `no ${argv0}` }, () => {
    // Node parses that bundle before any JavaScript (~40 ms here); a file that does not exist makes Node warn
    // "Ignoring extra certs from ..." at start-up, so the warning's absence shows Node never saw the variable.
    const certs = join(tmpdir(), `kscope-no-such-certs-${process.pid}.pem`);
    const r = spawnSync(argv0, ['--unsafe', '-e', 'BEGIN { system("echo child has [$NODE_EXTRA_CA_CERTS] [${KSCOPE_CA_CERTS-unset}]"); exit(); }'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /extra certs/i);
    assert.match(r.stdout, new RegExp(`^child has \\[${certs.replace(/[.]/g, '\\.')}\\] \\[unset\\]$`, 'm'));
  });
}

test('Node itself does warn about a missing NODE_EXTRA_CA_CERTS file (what the test above relies on)', () => {
  const r = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/kscope.pem' } });
  assert.match(r.stderr, /Ignoring extra certs from `\/nonexistent\/kscope\.pem`/);
});
