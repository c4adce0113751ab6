import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Program, ProgType } from '../program.js';
import { attachKprobe } from './kprobe.js';
import { vfsReadValues } from '../../../test/lib/vfs_read.js';
import { needs } from '../../../test/vm/gate.js';
import { PT_REGS, READS } from '../../../test/vm/programs.js';

/** The values a kprobe (retprobe: the return value, else arg2) on vfs_read sees of this process's known reads. */
function vfsRead(opts: { retprobe: boolean; legacy: boolean }): Promise<Map<bigint, bigint>> {
  return vfsReadValues(opts.retprobe ? PT_REGS.ret : PT_REGS.arg2, (insns) => {
    const prog = Program.load({ type: ProgType.KPROBE, insns });
    return { prog, link: attachKprobe(prog, { func: 'vfs_read', retprobe: opts.retprobe, legacy: opts.legacy }) };
  });
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
