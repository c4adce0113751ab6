/**
 * Test helper: profiles a CPU-burning gated C child (BURNER) with a 99 Hz cpu-clock sampling program that counts
 * kernel stacks by stack id, and returns what the maps hold.
 */
import { BpfMap, MapType } from '../../src/bpf/map.js';
import { u32, u64 } from '../../src/bpf/codec.js';
import { Program, ProgType } from '../../src/bpf/program.js';
import { closeAll } from '../../src/bpf/resources.js';
import { attachPerfEvent, PERF_TYPE } from '../../src/bpf/link/perf_event.js';
import { PERF_COUNT_SW } from '../../src/sys/perf.js';
import { compileC, startGated } from './cc.js';
import { BURNER, stackSampler } from './programs.js';

export const PROFILE_HZ = 99;
const MAX_DEPTH = 127; // PERF_MAX_STACK_DEPTH: a STACK_TRACE value is 127 u64 frames

export interface ProfileResult {
  /** samples of the child the program saw */
  total: number;
  /** the child's CPU time over the burn (seconds) */
  cpuSeconds: number;
  /** stack id (as u32; negative errors wrap) → samples */
  counts: Map<number, number>;
  /** stack id → frames (innermost first, zero padding dropped) for the valid ids */
  stacks: Map<number, bigint[]>;
}

/** Runs the child for `seconds` under the sampler and collects counts and kernel stacks. */
export async function profileBurner(seconds: number): Promise<ProfileResult> {
  const child = startGated(compileC(BURNER), [String(seconds)]);
  try {
    const stacks = BpfMap.raw(MapType.STACK_TRACE, 4, MAX_DEPTH * 8, 1024, 'test_stacks');
    const counts = new BpfMap({ type: MapType.HASH, key: u32, value: u64, maxEntries: 1024 });
    const total = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 1 });
    const prog = Program.load({ type: ProgType.PERF_EVENT, insns: stackSampler(stacks, counts, total, child.pid), name: 'test_profile' });
    const link = attachPerfEvent(prog, { type: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, frequency: PROFILE_HZ }, 'profile:hz:99');
    child.go();
    const cpuSeconds = Number(await child.line());
    link.close();
    const result: ProfileResult = { total: Number(total.lookup(0)), cpuSeconds, counts: new Map(), stacks: new Map() };
    for (const [id, n] of counts.dump()) result.counts.set(id, Number(n));
    const key = Buffer.alloc(4);
    for (const id of result.counts.keys()) {
      if (id >= 0x80000000) continue;
      key.writeUInt32LE(id);
      const v = stacks.lookup(key);
      if (!v) continue;
      const frames: bigint[] = [];
      for (let i = 0; i < MAX_DEPTH && v.readBigUInt64LE(i * 8) !== 0n; i++) frames.push(v.readBigUInt64LE(i * 8));
      result.stacks.set(id, frames);
    }
    child.go();
    await child.done;
    prog.close();
    for (const m of [stacks, counts, total]) m.close();
    return result;
  } finally {
    child.child.kill();
    closeAll();
  }
}
