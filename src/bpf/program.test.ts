import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm } from '../asm/builder.js';
import { R0, R1, R2 } from '../asm/opcodes.js';
import { Program, ProgType, VerifierError } from './program.js';
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
