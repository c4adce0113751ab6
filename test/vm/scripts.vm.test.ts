/**
 * kscope scripts on kernels with kprobes and BPF trampolines (run by `npm run test:vm` in each kernel of the matrix):
 * kprobe/kretprobe/kfunc/kretfunc attach and deliver the arguments and return values a known workload produces, the
 * kernel-function hooks agree with the syscall tracepoints, and `kscope features` tells the truth about the kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { needs } from './gate.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** dd's reads: three vfs_read calls asking for, and getting, 12345 bytes each */
const DD = 'dd if=/dev/zero of=/dev/null bs=12345 count=3 status=none';

/** Runs `kscope ...args`; rejects after 3 minutes (the guest runs Node ~18x slower than a host). */
function kscope(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`kscope ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, 180_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a script tracing `cmd` (-c) and returns its stdout lines, asserting a clean exit. */
async function traceCommand(prog: string, cmd: string): Promise<string[]> {
  const r = await kscope(['-q', '-c', cmd, '-e', prog]);
  assert.equal(r.code, 0, `kscope -e '${prog}' exited ${r.code}: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim());
}

for (const probe of ['kprobe:vfs_read', 'kfunc:vfs_read']) {
  test(`${probe} counts reads for one second (issue 7 acceptance)`, { skip: needs(probe.startsWith('kprobe') ? 'kprobe' : 'fentry') }, async () => {
    const reader = setInterval(() => readFileSync('/proc/self/stat'), 5);
    try {
      const r = await kscope(['-e', `${probe} { @ = count(); } interval:s:1 { exit(); }`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^@: [1-9]\d*$/m);
    } finally {
      clearInterval(reader);
    }
  });
}

const CASES: { name: string; prog: string; feature: 'kprobe' | 'fentry' | 'fexit' }[] = [
  { name: 'kprobe arg2 is the requested count', prog: 'kprobe:vfs_read /pid == cpid/ { @[arg2] = count(); }', feature: 'kprobe' },
  { name: 'kretprobe retval is the byte count read', prog: 'kretprobe:vfs_read /pid == cpid/ { @[retval] = count(); }', feature: 'kprobe' },
  { name: 'kfunc args.count is the typed count argument', prog: 'kfunc:vfs_read /pid == cpid/ { @[args.count] = count(); }', feature: 'fentry' },
  { name: 'kretfunc retval is the byte count read', prog: 'kretfunc:vfs_read /pid == cpid/ { @[retval] = count(); }', feature: 'fexit' },
];
/** what the syscall tracepoint reports for DD, traced once for all cases */
let syscallBaseline: Promise<string[]> | undefined;
for (const c of CASES) {
  test(`${c.name}: the same as the read syscall tracepoint reports`, { skip: needs(c.feature) }, async () => {
    const viaSyscall = await (syscallBaseline ??= traceCommand('tracepoint:syscalls:sys_enter_read /pid == cpid/ { @[args.count] = count(); }', DD));
    assert.ok(viaSyscall.includes('@[12345]: 3'), `tracepoint output: ${viaSyscall.join(' | ')}`);
    const out = await traceCommand(c.prog, DD);
    assert.ok(out.includes('@[12345]: 3'), `${c.prog} printed: ${out.join(' | ')}`);
  });
}

test('kfunc:tcp_sendmsg sums the typed args.size of a 4000-byte send', { skip: needs('fentry') }, async () => {
  let received = 0;
  const server = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const send = `bash -c 'printf %4000s x >/dev/tcp/127.0.0.1/${port}'`; // one 4000-byte write from the traced pid
    const out = await traceCommand('kfunc:tcp_sendmsg /pid == cpid/ { @ = sum(args.size); }', send);
    assert.ok(out.includes('@: 4000'), `printed: ${out.join(' | ')}`);
    assert.equal(received, 4000);
  } finally {
    server.close();
  }
});

/** The kernel's build configuration, when the harness copied it into /boot. */
function kconfig(): Map<string, string> | undefined {
  const f = `/boot/config-${release()}`;
  if (!existsSync(f)) return undefined;
  return new Map([...readFileSync(f, 'utf8').matchAll(/^(CONFIG_\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

const noConfig = !existsSync(`/boot/config-${release()}`) && `no /boot/config-${release()}`;
let features: Promise<Map<string, boolean>> | undefined;
/** `kscope features` as name -> supported, asked once. */
async function kscopeFeatures(): Promise<Map<string, boolean>> {
  const r = await kscope(['features']);
  assert.equal(r.code, 0, r.stderr);
  return new Map(r.stdout.trim().split('\n').slice(1).map((l) => [l.split(/\s+/)[0]!, l.split(/\s+/)[1] === 'yes']));
}

test('kscope features agrees with the kernel build configuration', { skip: noConfig }, async () => {
  const cfg = kconfig()!;
  const on = (k: string) => cfg.get(k) === 'y';
  const expected: Record<string, boolean> = {
    btf: on('CONFIG_DEBUG_INFO_BTF'),
    kprobe: on('CONFIG_KPROBES') && on('CONFIG_KPROBE_EVENTS'),
    fentry: on('CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS') && on('CONFIG_DEBUG_INFO_BTF'),
    fexit: on('CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS') && on('CONFIG_DEBUG_INFO_BTF'),
    uprobe: on('CONFIG_UPROBES') && on('CONFIG_UPROBE_EVENTS'),
  };
  const rows = await (features ??= kscopeFeatures());
  for (const [name, want] of Object.entries(expected)) assert.equal(rows.get(name), want, `${name} on ${release()}`);
});

/** Loading a KPROBE_MULTI program is not enough (5.18+ accept it without CONFIG_FPROBE): the probe creates a link. */
test('kscope features: kprobe_multi is supported exactly when the kernel has CONFIG_FPROBE', { skip: noConfig }, async () => {
  const rows = await (features ??= kscopeFeatures());
  assert.equal(rows.get('kprobe_multi'), kconfig()!.get('CONFIG_FPROBE') === 'y', `kprobe_multi on ${release()}`);
});
