import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm } from '../../asm/builder.js';
import { R0, R1, R2, R10 } from '../../asm/opcodes.js';
import { BpfMap, MapType } from '../map.js';
import { u32, u64 } from '../codec.js';
import { Program, ProgType } from '../program.js';
import { attachTracepoint, tracepointId } from './tracepoint.js';
import { compileC, GATE, startGated } from '../../../test/lib/cc.js';
import { leakCheck } from '../../../test/lib/leaks.js';

const OPENER = `${GATE}
#include <fcntl.h>
int main(int argc, char **argv) {
  int n = atoi(argv[1]);
  wait_go();
  for (int i = 0; i < n; i++) { int fd = open("/dev/null", O_RDONLY); if (fd >= 0) close(fd); }
  return 0;
}`;

/** Counts events of one process (tgid) into slot 0 of an array map. */
export function countForPid(map: BpfMap<number, bigint>, pid: number): Buffer {
  const out = new Asm().newLabel('out');
  return new Asm()
    .call('get_current_pid_tgid')
    .rsh(R0, 32)
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
