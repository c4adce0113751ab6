import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from '../map.js';
import { u64 } from '../codec.js';
import { Program, ProgType } from '../program.js';
import { attachKprobe } from './kprobe.js';
import { leakCheck } from '../../../test/lib/leaks.js';
import { needs } from '../../../test/vm/gate.js';
import { countCtxValues, PT_REGS, READS, readKnownFile } from '../../../test/vm/programs.js';

/** Attaches a kprobe counting one pt_regs field of vfs_read in this process, runs the known reads, returns counts. */
async function vfsRead(opts: { retprobe: boolean; legacy: boolean }): Promise<Map<bigint, bigint>> {
  const check = leakCheck();
  const hist = new BpfMap({ type: MapType.HASH, key: u64, value: u64, maxEntries: 256 });
  const prog = Program.load({ type: ProgType.KPROBE, insns: countCtxValues(hist, process.pid, opts.retprobe ? PT_REGS.ret : PT_REGS.arg2) });
  const link = attachKprobe(prog, { func: 'vfs_read', retprobe: opts.retprobe, legacy: opts.legacy });
  readKnownFile();
  const seen = new Map(hist.dump());
  link.close();
  prog.close();
  hist.close();
  await check();
  return seen;
}

for (const legacy of [false, true]) {
  const how = legacy ? 'legacy tracefs kprobe_events' : 'kprobe PMU';
  test(`kprobe:vfs_read through the ${how} sees the count argument (arg2) of each read`, { skip: needs('kprobe') }, async () => {
    const seen = await vfsRead({ retprobe: false, legacy });
    assert.equal(seen.get(BigInt(READS.count)), BigInt(READS.times), `arg2 values seen: ${[...seen.keys()].join(', ')}`);
  });
  test(`kretprobe:vfs_read through the ${how} sees each read's return value`, { skip: needs('kprobe') }, async () => {
    const seen = await vfsRead({ retprobe: true, legacy });
    assert.equal(seen.get(BigInt(READS.got)), BigInt(READS.times), `return values seen: ${[...seen.keys()].join(', ')}`);
    assert.equal(seen.get(BigInt(READS.count)), undefined, 'the return value is not the requested count');
  });
}
