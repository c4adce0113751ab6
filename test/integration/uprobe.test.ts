import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm } from '../../src/asm/builder.js';
import { R0, R1, R2, R6, R10 } from '../../src/asm/opcodes.js';
import { Btf } from '../../src/btf/btf.js';
import { BpfMap, MapType } from '../../src/bpf/map.js';
import { u32, u64 } from '../../src/bpf/codec.js';
import { Program, ProgType } from '../../src/bpf/program.js';
import { closeAll } from '../../src/bpf/resources.js';
import { attachUprobe } from '../../src/bpf/link/uprobe.js';
import { ElfFile } from '../../src/symbols/elf.js';
import { readMaps } from '../../src/symbols/procmaps.js';
import { compileC, GATE, startGated, type GatedChild } from '../lib/cc.js';
import { leakCheck, probeEventsOf } from '../lib/leaks.js';
import { countForPid } from '../lib/programs.js';

/**
 * `prog N M`: after go, N malloc/free pairs and M calls answer(i) = 3i + 1, all through volatile function pointers
 * so the compiler keeps every call; then "done" (by write(2): stdio would malloc its buffer) and a second go.
 */
const CALLER = `${GATE}
__attribute__((noinline)) int answer(int x) { return 3 * x + 1; }
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static int (*volatile do_answer)(int) = answer;
int main(int argc, char **argv) {
  int n = atoi(argv[1]), m = atoi(argv[2]);
  volatile int sink = 0;
  wait_go();
  for (int i = 0; i < n; i++) do_free(do_malloc(32));
  for (int i = 0; i < m; i++) sink += do_answer(i);
  if (write(1, "done\\n", 5) != 5) return 2;
  wait_go();
  return 0;
}`;

function fileOffset(path: string, symbol: string): bigint {
  const elf = ElfFile.open(path);
  const sym = elf.symbolByName(symbol);
  assert.ok(sym, `${symbol} not found in ${path}`);
  const off = elf.fileOffsetOf(sym.value);
  assert.ok(off !== null, `${symbol} is outside every PT_LOAD of ${path}`);
  return BigInt(off);
}

/** The C library the child has mapped. */
function libcOf(pid: number): string {
  const find = () => readMaps(pid).find((x) => /\/libc[.-][^/]*\.so[^/]*$|\/libc\.so\.\d+$/.test(x.path));
  // a child just spawned may not have finished exec and ld.so yet: wait up to 3 s for libc to be mapped
  let m = find();
  for (let i = 0; !m && i < 300; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    m = find();
  }
  assert.ok(m, `no libc in /proc/${pid}/maps`);
  return m.path;
}

/** Runs the child with n mallocs and m answer() calls while `attach` holds probes; returns after its work. */
async function withChild(n: number, m: number, attach: (c: GatedChild, bin: string) => () => void): Promise<void> {
  const bin = compileC(CALLER);
  const child = startGated(bin, [String(n), String(m)]);
  try {
    const detach = attach(child, bin);
    child.go();
    assert.equal(await child.line(), 'done');
    detach();
    child.go();
    assert.equal((await child.done).code, 0);
  } finally {
    child.child.kill();
    closeAll();
  }
}

for (const legacy of [false, true])
  test(`uprobe on libc malloc counts exactly the child's N calls${legacy ? ' (legacy tracefs uprobe_events)' : ''}`, async () => {
    const check = leakCheck();
    const N = 20_000;
    const map = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 1 });
    let count = 0n;
    await withChild(N, 0, (child) => {
      const prog = Program.load({ type: ProgType.KPROBE, insns: countForPid(map, child.pid), name: 'count_malloc' });
      const libc = libcOf(child.pid);
      // the PMU path filters by pid in the kernel; the legacy one watches every process (the program filters)
      const link = attachUprobe(prog, { path: libc, offset: fileOffset(libc, 'malloc'), pid: legacy ? undefined : child.pid, legacy });
      if (legacy) assert.equal(probeEventsOf(process.pid).length, 1, 'legacy uprobe event created');
      return () => {
        count = map.lookup(0)!;
        link.close();
        prog.close();
        map.close();
      };
    });
    assert.equal(count, BigInt(N));
    assert.deepEqual(probeEventsOf(process.pid), [], 'uprobe_events keeps no kscope_ event after close');
    await check();
  });

test('uretprobe on a function of the test program reads each return value from pt_regs.ax (BTF offset)', async () => {
  const check = leakCheck();
  const M = 5000;
  const btf = Btf.vmlinux();
  const ax = btf.member(btf.findStruct('pt_regs')!, 'ax').offset;
  const map = new BpfMap({ type: MapType.ARRAY, key: u32, value: u64, maxEntries: 2 });
  let calls = 0n;
  let sum = 0n;
  await withChild(0, M, (child, bin) => {
    // slot 0 += 1 per return, slot 1 += the returned value
    const a = new Asm();
    const out = a.newLabel('out');
    a.ldx(8, R6, R1, ax);
    a.call('get_current_pid_tgid').rsh(R0, 32).jne(R0, child.pid, out);
    for (const [slot, reg] of [[0, null], [1, R6]] as const) {
      a.st(4, R10, -4, slot).ldMapFd(R1, map).mov(R2, R10).add(R2, -4).call('map_lookup_elem').jeq(R0, 0, out);
      if (reg) a.atomic(8, 'add', R0, 0, reg);
      else a.mov(R1, 1).atomic(8, 'add', R0, 0, R1);
    }
    a.label(out).mov(R0, 0).exit();
    const prog = Program.load({ type: ProgType.KPROBE, insns: a.assemble().bytes, name: 'ret_answer' });
    const link = attachUprobe(prog, { path: bin, offset: fileOffset(bin, 'answer'), retprobe: true, pid: child.pid });
    return () => {
      calls = map.lookup(0)!;
      sum = map.lookup(1)!;
      link.close();
      prog.close();
      map.close();
    };
  });
  assert.equal(calls, BigInt(M));
  assert.equal(sum, (3n * BigInt(M) * BigInt(M - 1)) / 2n + BigInt(M), 'sum of answer(i) = 3i + 1 over i < M');
  await check();
});
