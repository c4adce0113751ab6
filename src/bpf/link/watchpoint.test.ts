import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sysClose, sysPerfEventOpen } from '../../sys/libc.js';
import { PERF_FLAG_FD_CLOEXEC } from '../../sys/perf.js';
import { BP_TYPE, breakpointAttr } from './watchpoint.js';

test('breakpoint attr: bp_type at 52, bp_addr at 56, bp_len at 64 (include/uapi/linux/perf_event.h)', () => {
  const a = breakpointAttr({ addr: 0x404028n, len: 4, type: BP_TYPE.r | BP_TYPE.w });
  assert.equal(a.readUInt32LE(0), 5); // PERF_TYPE_BREAKPOINT
  assert.equal(a.readUInt32LE(52), 3); // HW_BREAKPOINT_RW
  assert.equal(a.readBigUInt64LE(56), 0x404028n);
  assert.equal(a.readBigUInt64LE(64), 4n);
});

test('the kernel accepts a valid breakpoint on a process and checks the length and type we wrote', { skip: !existsSync('/sys/bus/event_source/devices/breakpoint') && 'no breakpoint PMU' }, async () => {
  const child = spawn('/bin/sleep', ['5'], { stdio: 'ignore' });
  try {
    const open = (len: number, type: number) => sysPerfEventOpen(breakpointAttr({ addr: 0x400000n, len, type }), child.pid!, -1, -1, PERF_FLAG_FD_CLOEXEC);
    const fd = open(8, BP_TYPE.w);
    assert.ok(fd >= 0, `perf_event_open failed with errno ${-fd}`);
    sysClose(fd);
    assert.equal(open(3, BP_TYPE.w), -22, 'length 3 is refused (EINVAL)');
    assert.equal(open(8, 0), -22, 'an empty bp_type is refused (EINVAL)');
  } finally {
    child.kill();
  }
});
