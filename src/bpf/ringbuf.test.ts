import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from './map.js';
import { none, u32, u64 } from './codec.js';
import { Program, ProgType } from './program.js';
import { RingBufferReader, type RingOptions } from './ringbuf.js';
import { closeAll } from './resources.js';
import { attachTracepoint } from './link/tracepoint.js';
import { compileC, startGated } from '../../test/lib/cc.js';
import { leakCheck } from '../../test/lib/leaks.js';
import { GETPPID_LOOP, ringProducer, type RingProducer } from '../../test/lib/programs.js';
import { needsKernel } from '../../test/lib/kernel.js';

const skip = needsKernel(5, 8, 'BPF ring buffer');

type Producer = Omit<RingProducer, 'ring' | 'counters' | 'pid'> & { reader: RingOptions };

/** Runs the getppid child under a ring producer program; returns the reader's count and the kernel counters. */
async function run(n: number, ringBytes: number, prod: Producer, onSeq: (seq: number, ktime: bigint) => void) {
  const child = startGated(compileC(GETPPID_LOOP), [String(n)]);
  try {
    const ring = new BpfMap({ type: MapType.RINGBUF, key: none, value: none, maxEntries: ringBytes, name: 'test_ring' });
    const counters = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 2 });
    const prog = Program.load({ type: ProgType.TRACEPOINT, insns: ringProducer({ ring, counters, pid: child.pid, mode: prod.mode, watermark: prod.watermark }), name: 'ring_getppid' });
    const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
    const reader = new RingBufferReader(ring, (d) => onSeq(d.readUInt32LE(0) + d.readUInt32LE(4) * 2 ** 32, d.readBigUInt64LE(8)), prod.reader);
    reader.start();
    child.go();
    await child.line(); // the loop is done
    // the tail (below the wake-up watermark, or behind the coalescing delay) arrives within a few ms
    for (let i = 0; i < 100 && reader.available() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    reader.stop();
    const live = reader.delivered;
    reader.drain();
    const lost = counters.lookup(0)!;
    const produced = counters.lookup(1)!;
    child.go();
    assert.equal((await child.done).code, 0);
    link.close();
    reader.close();
    prog.close();
    ring.close();
    counters.close();
    return { delivered: reader.delivered, live, lost, produced };
  } finally {
    child.child.kill();
    closeAll();
  }
}

test('ring buffer carries 1,000,000 events of a tight syscall loop to JS with none lost (Linux 5.8+)', { skip }, async () => {
  const check = leakCheck();
  const N = 1_000_000;
  const RING = 16 << 20; // holds ~700k 24-byte records: no loss means the reader kept up while the child ran
  let next = 0;
  let last = 0n;
  let outOfOrder = 0;
  const r = await run(N, RING, { mode: 'submit', watermark: RING / 8, reader: { timerMs: 5 } }, (seq, t) => {
    if (seq !== next || t < last) outOfOrder++;
    next = seq + 1;
    last = t;
  });
  assert.equal(r.produced, BigInt(N));
  assert.equal(r.lost, 0n);
  assert.equal(r.live, N, 'every record was consumed from the event loop');
  assert.equal(r.delivered, N);
  assert.equal(outOfOrder, 0, 'records arrive once each, in sequence, with non-decreasing timestamps');
  await check();
});

test('discarded ring buffer records are skipped (Linux 5.8+)', { skip }, async () => {
  const check = leakCheck();
  const N = 10_000;
  const seen: number[] = [];
  // default adaptive wake-ups and no timer: epoll readiness alone drives the reader
  const r = await run(N, 1 << 20, { mode: 'odd-discard', reader: { coalesceMs: 1 } }, (seq) => seen.push(seq));
  assert.equal(r.lost, 0n);
  assert.equal(r.live, N / 2, 'every record was consumed from the event loop');
  assert.equal(r.delivered, N / 2);
  assert.deepEqual(seen, Array.from({ length: N / 2 }, (_, i) => 2 * i));
  await check();
});
