import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapElemAttr } from '../sys/bpf.js';
import { possibleCpus } from '../bpf/cpus.js';
import { compileC, GATE, startGated } from '../../test/lib/cc.js';
import { compile } from './compile.js';
import { HEAP_NEST } from './codegen.js';
import { Runtime } from './runtime.js';

const STEPPER = `${GATE}
#include <sys/syscall.h>
int main(void) { for (;;) { wait_go(); syscall(SYS_getppid); printf("done\\n"); fflush(stdout); } }`;

test('the per-CPU scratch is taken per nesting level: a program that interrupts another on its CPU gets its own element, too deep is a lost event', async () => {
  const child = startGated(compileC(STEPPER));
  const LONG = 'nested-scratch-'.repeat(6); // 90 bytes: over the stack limit, so it lives in the scratch
  const compiled = compile(`tracepoint:syscalls:sys_enter_getppid /pid == ${child.pid}/ { $s = "${LONG}"; printf("%s\\n", $s); }`, { name: 'nest' });
  let out = '';
  let attached!: () => void;
  const ready = new Promise<void>((r) => (attached = r));
  const rt = new Runtime(compiled, { out: (s) => (out += s), err: () => undefined, quiet: true, printMapsOnExit: false, onAttached: () => attached() });
  const running = rt.run();
  await ready;
  // the scratch map: HEAP_NEST elements then the depth counter, each a per-CPU value
  const slot = Math.ceil(Math.max(8, compiled.heapSize) / 8) * 8;
  const heap = new MapElemAttr(compiled.heap!.fd, 4, slot * possibleCpus());
  const read = (i: number): Buffer => {
    heap.key.writeUInt32LE(i);
    assert.ok(heap.lookup());
    return Buffer.from(heap.value);
  };
  const write = (i: number, fill: (cpu: Buffer) => void) => {
    heap.key.writeUInt32LE(i);
    for (let c = 0; c < possibleCpus(); c++) fill(heap.value.subarray(c * slot, (c + 1) * slot));
    heap.update();
  };
  const depths = () => Array.from({ length: possibleCpus() }, (_, c) => read(HEAP_NEST).readBigUInt64LE(c * slot));
  const step = async () => {
    child.go();
    assert.equal(await child.line(), 'done');
    await new Promise((r) => setTimeout(r, 150)); // the ring buffer reader's turn
  };
  try {
    // as if HEAP_NEST programs were already running on every CPU: this firing is dropped and counted as lost
    write(HEAP_NEST, (b) => b.writeBigUInt64LE(BigInt(HEAP_NEST)));
    await step();
    assert.equal(out, '');
    assert.equal(rt.lostEvents(), 1n);
    assert.deepEqual(depths(), Array(possibleCpus()).fill(BigInt(HEAP_NEST)), 'the depth is given back');
    // as if one program were running, with its string in element 0: this one must use element 1 and leave 0 alone
    write(HEAP_NEST, (b) => b.writeBigUInt64LE(1n));
    write(0, (b) => b.fill(0xaa));
    await step();
    assert.equal(out, `${LONG}\n`);
    assert.ok(read(0).every((x) => x === 0xaa), 'element 0 (the interrupted program\'s) is untouched');
    assert.ok(read(1).includes(Buffer.from(LONG)), 'element 1 holds this program\'s string');
    assert.deepEqual(depths(), Array(possibleCpus()).fill(1n));
    // alone on its CPU again: element 0
    write(HEAP_NEST, (b) => b.writeBigUInt64LE(0n));
    await step();
    assert.equal(out, `${LONG}\n${LONG}\n`);
    assert.ok(read(0).includes(Buffer.from(LONG)));
    assert.deepEqual(depths(), Array(possibleCpus()).fill(0n));
  } finally {
    rt.stop();
    child.end();
  }
  assert.equal(await running, 0);
});
