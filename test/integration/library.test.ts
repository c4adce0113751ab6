/**
 * The public library entry (package.json "exports": dist/src/index.js) is enough for both ways of using kscope
 * from TypeScript: hand-built BPF (map + program + tracepoint link) and the language (compile + run a script).
 * Only the entry is imported, as a user would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, BpfMap, MapType, Program, ProgType, asm, attachTracepoint, compile, Runtime, u32, u64 } from '../../src/index.js';
import { compileC, GATE, startGated } from '../lib/cc.js';
import { leakCheck } from '../lib/leaks.js';

const CALLER = `${GATE}
#include <sys/syscall.h>
int main(int argc, char **argv) { int n = atoi(argv[1]); wait_go(); for (int i = 0; i < n; i++) syscall(SYS_getppid); return 0; }`;

test('library: a map, a hand-assembled program and a tracepoint link count a child\'s 500 getppid() calls', async () => {
  const check = leakCheck();
  const child = startGated(compileC(CALLER), ['500']);
  const counts = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 1 });
  const { R0, R1, R2, R10 } = asm;
  const a = new Asm();
  const out = a.newLabel('out');
  a.call('get_current_pid_tgid').rsh(R0, 32).jne(R0, child.pid, out);
  a.st(4, R10, -4, 0).ldMapFd(R1, counts).mov(R2, R10).add(R2, -4).call('map_lookup_elem').jeq(R0, 0, out);
  a.mov(R1, 1).atomic(8, 'add', R0, 0, R1).label(out).mov(R0, 0).exit();
  const prog = Program.load({ type: ProgType.TRACEPOINT, insns: a.assemble().bytes, name: 'getppid_count' });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  child.go();
  assert.equal((await child.done).code, 0);
  assert.equal(counts.lookup(0), 500n);
  link.close();
  prog.close();
  counts.close();
  await check();
});

test('library: compile a bpftrace script and run it, collecting its printf output and maps', async () => {
  let out = '';
  const rt = new Runtime(compile('BEGIN { @n = 41; @n++; printf("answer %d\\n", @n); exit(); }', { name: 'lib' }), { out: (s) => (out += s), err: () => undefined, quiet: true });
  assert.equal(await rt.run(), 0);
  assert.match(out, /^answer 42$/m);
  assert.match(out, /^@n: 42$/m);
});
