import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from '../map.js';
import { u32, u64 } from '../codec.js';
import { Program, ProgType } from '../program.js';
import { attachTracepoint, tracepointId } from './tracepoint.js';
import { compileC, GATE, startGated } from '../../../test/lib/cc.js';
import { leakCheck } from '../../../test/lib/leaks.js';
import { countForPid } from '../../../test/lib/programs.js';

const OPENER = `${GATE}
#include <fcntl.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  wait_go();
  for (int i = 0; i < n; i++) { int fd = open("/dev/null", O_RDONLY); if (fd >= 0) close(fd); }
  return 0;
}`;

test('tracepoint syscalls:sys_enter_openat counts exactly the N opens of a child (Linux 4.7+)', async () => {
  const check = leakCheck();
  const bin = compileC(OPENER);
  const N = 137;
  const child = startGated(bin, [String(N)]);
  const map = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 1 });
  const prog = Program.load({ type: ProgType.TRACEPOINT, insns: countForPid(map, child.pid), name: 'count_openat' });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_openat');
  child.go();
  const r = await child.done;
  assert.equal(r.code, 0);
  assert.equal(map.lookup(0), BigInt(N));
  link.close();
  prog.close();
  map.close();
  await check();
});

test('an unknown tracepoint is one clear error', () => {
  assert.throws(() => tracepointId('syscalls', 'sys_enter_nonexistent'), /tracepoint not found: syscalls:sys_enter_nonexistent/);
});
