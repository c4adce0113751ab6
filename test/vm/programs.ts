/**
 * Test helper for the kernel-gated probe tests: a BPF program counting the values one context slot takes in the
 * current process, and a workload whose vfs_read arguments and return values the test knows in advance.
 */
import { closeSync, openSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Asm } from '../../src/asm/builder.js';
import { R0, R1, R2, R3, R4, R6, R10 } from '../../src/asm/opcodes.js';
import type { BpfMap } from '../../src/bpf/map.js';

/** x86-64 struct pt_regs offsets of the first arguments and the return value (kprobe/kretprobe context). */
export const PT_REGS = { arg0: 112, arg1: 104, arg2: 96, ret: 80 } as const;

/**
 * hist[*(u64 *)(ctx + off)] += 1 for events of process `pid`: reads a pt_regs field (kprobes) or an fentry/fexit
 * argument slot (ctx is an array of u64 there, the return value after the arguments).
 */
export function countCtxValues(hist: BpfMap<bigint, bigint>, pid: number, off: number): Buffer {
  const a = new Asm();
  const out = a.newLabel('out');
  const first = a.newLabel('first');
  a.ldx(8, R6, R1, off).call('get_current_pid_tgid').rsh(R0, 32).jne(R0, pid, out);
  a.stx(8, R10, -8, R6).ldMapFd(R1, hist).mov(R2, R10).add(R2, -8).call('map_lookup_elem').jeq(R0, 0, first);
  a.mov(R1, 1).atomic(8, 'add', R0, 0, R1).ja(out);
  a.label(first).st(8, R10, -16, 1).ldMapFd(R1, hist).mov(R2, R10).add(R2, -8).mov(R3, R10).add(R3, -16).mov(R4, 0).call('map_update_elem');
  return a.label(out).mov(R0, 0).exit().assemble().bytes;
}

/** What `readKnownFile` does: `times` vfs_read calls asking for `count` bytes, each returning `got`. */
export const READS = { times: 3, count: 12345, got: 11 } as const;

/** Reads an 11-byte file READS.times times with a 12345-byte request, in this process. */
export function readKnownFile(): void {
  const f = join(tmpdir(), `kscope-vm-read-${process.pid}`);
  writeFileSync(f, 'x'.repeat(READS.got));
  const fd = openSync(f, 'r');
  try {
    const buf = Buffer.alloc(READS.count);
    for (let i = 0; i < READS.times; i++) readSync(fd, buf, 0, READS.count, 0);
  } finally {
    closeSync(fd);
    unlinkSync(f);
  }
}
