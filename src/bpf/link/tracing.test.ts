import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Asm } from '../../asm/builder.js';
import { R0, R1, R2, R3, R6, R10 } from '../../asm/opcodes.js';
import { Btf } from '../../btf/btf.js';
import { BpfMap, MapType } from '../map.js';
import { u32, u64 } from '../codec.js';
import { AttachType, Program, ProgType } from '../program.js';
import { attachTracing, attachTrampoline } from './tracing.js';
import { attachRawTracepoint } from './raw_tracepoint.js';
import { compileC, GATE, startGated } from '../../../test/lib/cc.js';
import { leakCheck } from '../../../test/lib/leaks.js';
import { needsKernel } from '../../../test/lib/kernel.js';
import { needs } from '../../../test/vm/gate.js';
import { READS } from '../../../test/vm/programs.js';
import { vfsReadValues } from '../../../test/lib/vfs_read.js';

const SLEEPER = `${GATE}
#include <time.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  wait_go();
  struct timespec ts = { 0, 200000 };
  for (int i = 0; i < n; i++) nanosleep(&ts, 0);
  wait_go(); /* stay alive until the test has read its switch counts */
  return 0;
}`;

function switches(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)![1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)![1]);
}

/**
 * sched_switch(preempt, prev, next, prev_state): counts switches whose next->pid is `pid`. `direct` reads the field
 * with a plain load (tp_btf); otherwise through bpf_probe_read_kernel (raw_tp).
 */
function countSwitchesTo(map: BpfMap<number, bigint>, pid: number, pidOffset: number, direct: boolean): Buffer {
  const out = new Asm().newLabel('out');
  const a = new Asm().ldx(8, R6, R1, 16); // args[2] = next
  if (direct) a.ldx(4, R0, R6, pidOffset);
  else
    a.mov(R1, R10).add(R1, -8).mov(R2, 4).mov(R3, R6).add(R3, pidOffset).call('probe_read_kernel').jne(R0, 0, out).ldx(4, R0, R10, -8);
  return a
    .jne(R0, pid, out)
    .st(4, R10, -4, 0)
    .ldMapFd(R1, map)
    .mov(R2, R10)
    .add(R2, -4)
    .call('map_lookup_elem')
    .jeq(R0, 0, out)
    .mov(R1, 1)
    .atomic(8, 'add', R0, 0, R1)
    .label(out)
    .mov(R0, 0)
    .exit()
    .assemble().bytes;
}

async function run(direct: boolean): Promise<void> {
  const check = leakCheck();
  const btf = Btf.vmlinux();
  const pidOffset = btf.member(btf.findStruct('task_struct')!, 'pid').offset;
  const N = 200;
  const child = startGated(compileC(SLEEPER), [String(N)]);
  const map = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 1 });
  const insns = countSwitchesTo(map, child.pid, pidOffset, direct);
  const prog = direct
    ? Program.load({ type: ProgType.TRACING, insns, expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: btf.findTypedef('btf_trace_sched_switch')! })
    : Program.load({ type: ProgType.RAW_TRACEPOINT, insns });
  const link = direct ? attachTracing(prog, 'tp_btf:sched_switch') : attachRawTracepoint(prog, 'sched_switch');
  const before = switches(child.pid);
  child.go();
  // wait for the sleeps to finish: the child then blocks on its second read
  for (let i = 0; i < 200 && switches(child.pid) - before < N; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50));
  const seen = Number(map.lookup(0));
  const counted = switches(child.pid) - before;
  child.go();
  await child.done;
  // every switch out of the child is followed by a switch back in (which is what we count)
  assert.ok(seen >= N * 0.95 && Math.abs(seen - counted) <= 3, `saw ${seen} switches into the child; it counted ${counted}`);
  link.close();
  prog.close();
  map.close();
  await check();
}

test('tp_btf sched_switch reads next->pid directly at the BTF offset (Linux 5.5+)', { skip: needsKernel(5, 5, 'tp_btf') }, () => run(true));
test('raw tracepoint sched_switch reads next->pid with probe_read_kernel (Linux 4.17+)', { skip: needsKernel(4, 17, 'raw_tp') }, () => run(false));

/** fentry/fexit on vfs_read(file, buf, count, pos): ctx is the u64 argument array, fexit's return value follows it. */
function trampolineVfsRead(exit: boolean): Promise<Map<bigint, bigint>> {
  return vfsReadValues(exit ? 4 * 8 : 2 * 8, (insns) => attachTrampoline({ func: 'vfs_read', exit, insns }));
}

test('fentry:vfs_read reads the count argument from the typed argument array', { skip: needs('fentry') }, async () => {
  const seen = await trampolineVfsRead(false);
  assert.equal(seen.get(BigInt(READS.count)), BigInt(READS.times), `count values seen: ${[...seen.keys()].join(', ')}`);
});

test('fexit:vfs_read reads the return value after the arguments', { skip: needs('fexit') }, async () => {
  const seen = await trampolineVfsRead(true);
  assert.equal(seen.get(BigInt(READS.got)), BigInt(READS.times), `return values seen: ${[...seen.keys()].join(', ')}`);
});
