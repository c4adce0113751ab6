import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Asm } from '../../src/asm/builder.js';
import { R0 } from '../../src/asm/opcodes.js';
import { Program, ProgType } from '../../src/bpf/program.js';
import { attachUprobe } from '../../src/bpf/link/uprobe.js';
import { leakCheck, probeEventsOf, progIds } from '../lib/leaks.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/cleanup-child.js', import.meta.url));

/** Waits (up to 3 s: the kernel frees objects after an RCU grace period) until none of `ids` is a live program. */
async function gone(ids: number[]): Promise<number[]> {
  let left = ids;
  for (let i = 0; i < 60 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const live = progIds();
    left = ids.filter((id) => live.has(id));
  }
  return left;
}

/** Starts the fixture, waits for "ready", sends `sig`; resolves with its pid and how it ended. */
async function signalFixture(sig: NodeJS.Signals) {
  const child = spawn(process.execPath, [FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  let out = '';
  const ready = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /ready ([\d ]+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    void ended.then(() => reject(new Error(`fixture exited early: ${out}`)));
  });
  const pid = child.pid!;
  const progs = ready.split(' ').map(Number);
  const live = progIds();
  const during = { progs: progs.filter((id) => live.has(id)), events: probeEventsOf(pid) };
  child.kill(sig);
  return { pid, progs, during, end: await ended };
}

for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const)
  test(`${sig}: a kscope process releases its programs, links and legacy probe events`, async () => {
    const r = await signalFixture(sig);
    assert.equal(r.during.events.length, 1, 'the fixture had its legacy uprobe event');
    assert.equal(r.during.progs.length, 2, 'the fixture had its programs loaded');
    assert.deepEqual(r.end, { code, signal: null }, 'exits through its cleanup handler with 128 + signal');
    // an attached program stays alive while any link or perf event holds it: gone means every attachment is too
    assert.deepEqual(await gone(r.progs), [], 'programs of the fixture still loaded');
    assert.deepEqual(probeEventsOf(r.pid), [], 'legacy uprobe event of the fixture left in uprobe_events');
  });

test('SIGKILL leaves a stale legacy event that the next legacy attach sweeps', async () => {
  const check = leakCheck();
  const r = await signalFixture('SIGKILL');
  assert.equal(r.end.signal, 'SIGKILL');
  assert.equal(probeEventsOf(r.pid).length, 1, 'nothing could remove the event of a killed process');
  assert.deepEqual(await gone(r.progs), [], 'the kernel frees what the fds of a killed process held');
  const prog = Program.load({ type: ProgType.KPROBE, insns: new Asm().mov(R0, 0).exit().assemble().bytes });
  const stale = probeEventsOf(r.pid)[0]!;
  const def = /^p:\S+ (\S+):(0x[0-9a-f]+)/.exec(stale)!;
  const link = attachUprobe(prog, { path: def[1]!, offset: BigInt(def[2]!), legacy: true });
  assert.deepEqual(probeEventsOf(r.pid), [], 'swept by the attach');
  link.close();
  prog.close();
  await check();
});
