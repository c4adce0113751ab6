/**
 * Start-up is a feature (bench/lang.ts measures it): these guard the choices that keep the bundled CLI's start light,
 * by what a BEGIN one-liner loads — the script bundle only, no child_process/net/stream/zlib/os (lazy in
 * src/sys/builtins.ts, also inside commander) and no vmlinux BTF (read on first use only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loaderNodeFlags } from '../lib/loader.js';

const bundle = fileURLToPath(new URL('../../kscope.cjs', import.meta.url));
const nodeFlags = loaderNodeFlags(bundle);

/** Runs the bundle with a hook that reports the built-in modules loaded, the bundles read and whether vmlinux BTF was opened. */
function traced(args: string[]): { status: number | null; stdout: string; stderr: string; mods: string[]; bundles: string[]; btf: boolean } {
  const hook = join(tmpdir(), `kscope-startup-${process.pid}.cjs`);
  writeFileSync(hook, `const fs = require('fs'); const read = fs.readFileSync; let btf = false; const bundles = [];
fs.readFileSync = function (p, ...a) { if (String(p).includes('/sys/kernel/btf/vmlinux')) btf = true; return read.call(this, p, ...a); };
const open = fs.openSync; fs.openSync = function (p, ...a) { if (/kscope\\.[a-z]+\\.cjs$/.test(String(p))) bundles.push(String(p).split('/').pop()); return open.call(this, p, ...a); };
process.on('exit', () => fs.writeSync(2, 'LOADED ' + JSON.stringify({ mods: process.moduleLoadList, btf, bundles }) + '\\n'));\n`);
  const r = spawnSync(process.execPath, [...nodeFlags, '--require', hook, bundle, ...args], { encoding: 'utf8' });
  rmSync(hook);
  const m = /^LOADED (.*)$/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ...(JSON.parse(m[1]!) as { mods: string[]; bundles: string[]; btf: boolean }) };
}

const noBundle = !existsSync(bundle) && 'no bundle beside this compiled tree (npm run build makes dist/kscope.cjs)';

test('the bundled CLI runs a BEGIN one-liner from the script bundle without loading child_process, net, stream, zlib, os or vmlinux BTF', { skip: noBundle }, () => {
  const r = traced(['-e', 'BEGIN { printf("light\\n"); exit(); }']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^light$/m);
  assert.deepEqual(r.bundles, ['kscope.script.cjs']);
  for (const name of ['child_process', 'net', 'stream', 'zlib', 'os']) assert.ok(!r.mods.includes(`NativeModule ${name}`), `${name} was loaded`);
  assert.equal(r.btf, false, 'vmlinux BTF was opened');
});

test('the tools and `features` run from the full bundle; -l and --help from the script bundle', { skip: noBundle }, () => {
  for (const [args, want, out] of [
    [['execsnoop', '-h'], 'kscope.bundle.cjs', /usage: execsnoop/i],
    [['features'], 'kscope.bundle.cjs', /^bpf +yes/m],
    [['-l', 'tracepoint:syscalls:sys_enter_openat'], 'kscope.script.cjs', /^tracepoint:syscalls:sys_enter_openat$/m],
    [['--help'], 'kscope.script.cjs', /Usage: kscope/],
  ] as const) {
    const r = traced([...args]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, out, args.join(' '));
    assert.deepEqual(r.bundles, [want], args.join(' '));
  }
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
