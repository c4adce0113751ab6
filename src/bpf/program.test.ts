import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm } from '../asm/builder.js';
import { R0, R1, R2, R3, R4, R10 } from '../asm/opcodes.js';
import { forEachCallbackBtf } from '../btf/writer.js';
import { progLoad, progTestRun } from '../sys/bpf.js';
import { sysClose } from '../sys/libc.js';
import { BpfMap, MapType } from './map.js';
import { loadRetryingSignals, Program, ProgType, VerifierError } from './program.js';
import { leakCheck } from '../../test/lib/leaks.js';

test('a valid program loads; wantLog reports verifier statistics', async () => {
  const check = leakCheck();
  const p = Program.load({ type: ProgType.TRACEPOINT, insns: new Asm().mov(R0, 0).exit().assemble().bytes, name: 'ok', wantLog: true });
  assert.ok(p.fd > 0);
  assert.equal(p.stats()?.processed, 2);
  assert.ok(p.id() > 0);
  p.close();
  await check();
});

test('an invalid program fails with the verifier explanation and the failing instruction', async () => {
  const check = leakCheck();
  const insns = new Asm().mov(R0, 0).mov(R1, R2).exit().assemble().bytes; // r2 is never initialised
  assert.throws(
    () => Program.load({ type: ProgType.TRACEPOINT, insns, name: 'bad' }),
    (e: unknown) => {
      assert.ok(e instanceof VerifierError);
      assert.match(e.message, /loading program bad failed: EACCES .*R2 !read_ok/);
      assert.match(e.log, /R2 !read_ok/);
      assert.equal(e.insnIndex, 1);
      return true;
    },
  );
  await check();
});

test('a large verifier log is fetched completely (ENOSPC retry)', () => {
  const a = new Asm().mov(R0, 0);
  for (let i = 0; i < 400; i++) a.add(R0, 1);
  const p = Program.load({ type: ProgType.TRACEPOINT, insns: a.exit().assemble().bytes, wantLog: true, logLevel: 2 });
  assert.match(p.log, /processed 402 insns/);
  p.close();
});

test('a bpf_for_each_map_elem callback loads with BTF func_info (and not without)', async () => {
  const check = leakCheck();
  const m = BpfMap.raw(MapType.HASH, 8, 8, 8, 'fe_test');
  for (const [k, v] of [[1n, 10n], [2n, 20n], [3n, 300n]] as const) {
    const kb = Buffer.alloc(8), vb = Buffer.alloc(8);
    kb.writeBigUInt64LE(k);
    vb.writeBigUInt64LE(v);
    m.update(kb, vb);
  }
  // main: ctx sum at fp-8 = 0; for_each(map, cb, &sum, 0); return sum. cb: *ctx += *value; return 0
  const a = new Asm().st(8, R10, -8, 0).ldMapFd(R1, m.fd).ldFunc(R2, 'cb').mov(R3, R10).add(R3, -8).mov(R4, 0);
  a.call('for_each_map_elem').ldx(8, R0, R10, -8).exit();
  const cbAt = a.pc;
  a.label('cb').ldx(8, R1, R3, 0).ldx(8, R2, R4, 0).add(R2, R1).stx(8, R4, 0, R2).mov(R0, 0).exit();
  const insns = a.assemble().bytes;
  assert.throws(() => Program.load({ type: ProgType.RAW_TRACEPOINT, insns, name: 'fe_nobtf' }), /missing btf func_info/);
  const { btf, funcInfo } = forEachCallbackBtf('fe_main', [{ name: 'cb', insn: cbAt }]);
  const p = Program.load({ type: ProgType.RAW_TRACEPOINT, insns, name: 'fe', btf, funcInfo });
  assert.equal(progTestRun(p.fd, Buffer.alloc(8)).retval, 330);
  p.close();
  m.close();
  await check();
});

test('programs load while signals keep arriving (the verifier returns EAGAIN on a pending signal)', async (t) => {
  // a shell sends SIGWINCH to this process as fast as it can; libbpf's 5 retries lose most loads to such a storm
  const check = leakCheck();
  const onWinch = (): void => {};
  process.on('SIGWINCH', onWinch);
  const storm = spawn('bash', ['-c', `while kill -WINCH ${process.pid} 2>/dev/null; do :; done`], { stdio: 'ignore' });
  const stormExit = once(storm, 'exit'); // listened for now: the shell may end before the loads do
  try {
    await new Promise((r) => setTimeout(r, 200));
    // the verifier checks for a pending signal at every instruction: a program that takes longer to verify than the
    // gap between two signals can never load under such a storm, whatever the retries; one that is over at once is
    // never interrupted. 200 instructions: interrupted often, loaded within a few dozen tries.
    const a = new Asm().mov(R0, 0);
    for (let i = 0; i < 200; i++) a.add(R0, 1);
    const insns = a.exit().assemble().bytes;
    let interrupted = 0;
    for (let i = 0; i < 20; i++) {
      let attempts = 0;
      const r = loadRetryingSignals(() => (attempts++, progLoad({ progType: ProgType.TRACEPOINT, insns, license: 'GPL' })));
      assert.ok(r.fd >= 0, `load ${i} failed after ${attempts} attempts: fd ${r.fd}`);
      sysClose(r.fd);
      if (attempts > 1) interrupted++;
      Program.load({ type: ProgType.TRACEPOINT, insns, name: 'storm' }).close();
    }
    // on a busy machine the storm may not get to run between loads: then this test shows nothing
    if (interrupted === 0) t.skip('no load was interrupted: the signal storm did not reach the loading thread');
  } finally {
    storm.kill('SIGKILL');
    await stormExit;
    process.off('SIGWINCH', onWinch);
  }
  await check();
});
