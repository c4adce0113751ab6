import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leakCheck } from '../../../test/lib/leaks.js';
import { PROFILE_HZ, profileBurner } from '../../../test/lib/profile.js';

const EFAULT_ID = 0x100000000 - 14; // get_stackid's -EFAULT as u32: the sample was taken in user mode

test('99 Hz cpu-clock sampling of a busy child: bpf_get_stackid counts kernel stacks (Linux 4.9+)', async () => {
  const check = leakCheck();
  const r = await profileBurner(2);
  const expected = PROFILE_HZ * r.cpuSeconds;
  assert.ok(r.cpuSeconds > 0.5, `the child burnt only ${r.cpuSeconds} s of CPU`);
  assert.ok(r.total >= expected * 0.5 && r.total <= expected * 1.5 + 5, `${r.total} samples for ${r.cpuSeconds.toFixed(2)} s of CPU at ${PROFILE_HZ} Hz`);
  assert.equal([...r.counts.values()].reduce((a, b) => a + b, 0), r.total, 'every sample is counted under one stack id');
  for (const id of r.counts.keys()) assert.ok(id < 1024 || id === EFAULT_ID, `unexpected stack id ${id}`);
  assert.ok(r.stacks.size > 0, 'some samples interrupted the child inside its getppid() syscalls');
  for (const [id, frames] of r.stacks) {
    assert.ok(frames.length > 0 && frames.length <= 127, `stack ${id} has ${frames.length} frames`);
    for (const f of frames) assert.ok(f >= 0xffff800000000000n, `stack ${id}: 0x${f.toString(16)} is not a kernel address`);
  }
  await check();
});
