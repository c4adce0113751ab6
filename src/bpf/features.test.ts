import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { allFeatures, feature, pickHook } from './features.js';
import { attachKprobe } from './link/kprobe.js';
import { attachTrampoline } from './link/tracing.js';
import { Program, ProgType } from './program.js';
import { Asm } from '../asm/builder.js';
import { R0 } from '../asm/opcodes.js';
import { tracefs } from '../sys/mount.js';
import { kernelAtLeast as atLeast } from '../../test/lib/kernel.js';

test('features agree with what the kernel exposes independently', () => {
  const kprobesPresent = existsSync('/sys/bus/event_source/devices/kprobe') || existsSync(`${tracefs()}/kprobe_events`);
  assert.equal(feature('kprobe').supported, kprobesPresent, feature('kprobe').detail);
  const uprobesPresent = existsSync('/sys/bus/event_source/devices/uprobe') || existsSync(`${tracefs()}/uprobe_events`);
  assert.equal(feature('uprobe').supported, uprobesPresent);
  assert.equal(feature('btf').supported, existsSync('/sys/kernel/btf/vmlinux'));
  // introduced in: tracepoint 4.7, raw_tp 4.17, tp_btf 5.5, ringbuf 5.8, batch 5.6, perf sampling 4.9, task iterators 5.8,
  // atomic fetch ops 5.12
  for (const [f, maj, min] of [['tracepoint', 4, 7], ['raw_tracepoint', 4, 17], ['tp_btf', 5, 5], ['ringbuf', 5, 8], ['batch_ops', 5, 6], ['perf_event', 4, 9], ['bpf', 4, 4], ['iter', 5, 8], ['atomic_fetch', 5, 12]] as const)
    if (atLeast(maj, min)) assert.ok(feature(f).supported, `${f}: ${feature(f).detail}`);
  // fentry (5.5) is either there or refused by policy with the exact reason
  const fe = feature('fentry');
  assert.ok(fe.supported || /refused by kernel policy|load fails/.test(fe.detail), fe.detail);
  assert.equal(allFeatures().length, 15);
});

test('pickHook falls back to the best supported hook', () => {
  const best = pickHook(['fentry', 'kprobe', 'tracepoint'] as const);
  const expected = feature('fentry').supported ? 'fentry' : feature('kprobe').supported ? 'kprobe' : 'tracepoint';
  assert.equal(best, expected);
  assert.equal(pickHook([]), undefined);
});

test('kprobe attach without kprobes fails with one clear line', { skip: feature('kprobe').supported && 'kernel has kprobes' }, () => {
  const p = Program.load({ type: ProgType.KPROBE, insns: new Asm().mov(R0, 0).exit().assemble().bytes });
  try {
    assert.throws(() => attachKprobe(p, { func: 'vfs_read' }), /kprobe:vfs_read: kprobes are not supported here: .*CONFIG_KPROBES/);
  } finally {
    p.close();
  }
});

test('fentry/fexit without trampolines fail with one clear line (Linux 5.5+ has them)', { skip: feature('fentry').supported && 'kernel allows fentry' }, () => {
  const insns = new Asm().mov(R0, 0).exit().assemble().bytes;
  for (const exit of [false, true])
    assert.throws(() => attachTrampoline({ func: 'vfs_read', exit, insns }), (e: unknown) => {
      const m = (e as Error).message;
      assert.match(m, exit ? /^fexit:vfs_read: fexit is not supported here: / : /^fentry:vfs_read: fentry is not supported here: /);
      assert.ok(!m.includes('\n'), 'one line');
      return true;
    });
});
