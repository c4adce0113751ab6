/** Test helper: asserts that a test left no BPF program, link, map or tracefs probe event behind. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { BPF_CMD, objIds } from '../../src/sys/bpf.js';
import { liveCount } from '../../src/bpf/resources.js';

export interface KernelObjects {
  progs: number;
  links: number;
  maps: number;
}

export function kernelObjects(): KernelObjects {
  return {
    progs: objIds(BPF_CMD.PROG_GET_NEXT_ID).length,
    links: objIds(BPF_CMD.LINK_GET_NEXT_ID).length,
    maps: objIds(BPF_CMD.MAP_GET_NEXT_ID).length,
  };
}

function ourProbeEvents(): string[] {
  const out: string[] = [];
  for (const f of ['/sys/kernel/tracing/kprobe_events', '/sys/kernel/tracing/uprobe_events'])
    if (existsSync(f)) out.push(...readFileSync(f, 'utf8').split('\n').filter((l) => l.includes(`kscope_${process.pid}_`)));
  return out;
}

/**
 * Records the kernel's objects now; the returned check asserts they are back to that after cleanup. The kernel
 * frees closed objects after an RCU grace period, so the check waits up to 3 s for the counts to settle.
 */
export function leakCheck(): () => Promise<void> {
  const before = kernelObjects();
  return async () => {
    assert.equal(liveCount(), 0, 'kscope resources still open');
    assert.deepEqual(ourProbeEvents(), [], 'tracefs probe events left behind');
    let now = kernelObjects();
    for (let i = 0; i < 60 && (now.progs > before.progs || now.links > before.links || now.maps > before.maps); i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = kernelObjects();
    }
    assert.ok(now.progs <= before.progs && now.links <= before.links && now.maps <= before.maps, `BPF objects left in the kernel: before ${JSON.stringify(before)}, after ${JSON.stringify(now)}`);
  };
}
