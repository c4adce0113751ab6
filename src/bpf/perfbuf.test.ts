import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from './map.js';
import { u32, u64 } from './codec.js';
import { possibleCpus } from './cpus.js';
import { Program, ProgType } from './program.js';
import { PerfBufferReader, type PerfBufferOptions } from './perfbuf.js';
import { closeAll } from './resources.js';
import { attachTracepoint } from './link/tracepoint.js';
import { compileC, startGated } from '../../test/lib/cc.js';
import { leakCheck } from '../../test/lib/leaks.js';
import { GETPPID_LOOP, perfProducer } from '../../test/lib/programs.js';

/**
 * The getppid child makes n-1 calls, then (after the reader had a chance to drain) one more, so a ring that
 * overflowed during the burst gets the kernel's LOST record written before that last sample.
 */
async function run(n: number, opts: PerfBufferOptions, consume: boolean, cpu?: number) {
  const child = startGated(compileC(GETPPID_LOOP), cpu === undefined ? [String(n - 1)] : [String(n - 1), String(cpu)]);
  try {
    const perf = BpfMap.raw(MapType.PERF_EVENT_ARRAY, 4, 4, possibleCpus(), 'test_perf');
    const counters = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 2 });
    const prog = Program.load({ type: ProgType.TRACEPOINT, insns: perfProducer(perf, counters, child.pid), name: 'perf_getppid' });
    const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
    const seqs = new Uint8Array(n);
    const reader = new PerfBufferReader(perf, (d) => void seqs[d.readUInt32LE(0)]++, opts);
    if (consume) reader.start();
    child.go();
    await child.line(); // the burst is done
    reader.drain();
    const afterBurst = { delivered: reader.delivered, lost: reader.lost };
    child.go();
    assert.equal((await child.done).code, 0);
    reader.stop();
    reader.drain();
    const errors = counters.lookup(0)!;
    const produced = counters.lookup(1)!;
    link.close();
    reader.close();
    prog.close();
    perf.close();
    counters.close();
    return { delivered: reader.delivered, lost: reader.lost, afterBurst, errors, produced, seqs };
  } finally {
    child.child.kill();
    closeAll();
  }
}

test('perf buffer delivers exactly N events from bpf_perf_event_output on the current CPU (Linux 4.4+)', async () => {
  const check = leakCheck();
  const N = 100_000;
  const r = await run(N, { pages: 256, wakeupEvents: 64, timerMs: 5 }, true);
  assert.equal(r.produced, BigInt(N));
  assert.equal(r.errors, 0n, 'perf_event_output failed (BPF_F_CURRENT_CPU must be a zero-extended 0xffffffff)');
  assert.equal(r.lost, 0);
  assert.equal(r.delivered, N);
  assert.ok(r.seqs.every((c) => c === 1), 'every sequence number arrives exactly once');
  await check();
});

test('a one-page perf ring overrun by a burst reports the lost records', async () => {
  const check = leakCheck();
  const N = 5000;
  // pinned to CPU 0 so the burst and the final event share one ring; nothing drains during the burst
  const r = await run(N, { pages: 1 }, false, 0);
  assert.equal(r.afterBurst.lost, 0, 'the kernel writes the LOST record only once there is room again');
  assert.ok(r.afterBurst.delivered > 0 && r.afterBurst.delivered < 4096 / 24, `burst delivered ${r.afterBurst.delivered}`);
  assert.ok(r.lost > 0);
  assert.equal(r.delivered + r.lost, N);
  assert.equal(r.errors, BigInt(r.lost), 'the program saw the same failures as the reader');
  assert.equal(r.seqs[N - 1], 1, 'the last event arrives after the LOST record');
  await check();
});
