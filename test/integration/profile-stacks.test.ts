import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFunctionType, kallsyms } from '../../src/symbols/kallsyms.js';
import { leakCheck } from '../lib/leaks.js';
import { profileBurner } from '../lib/profile.js';

test('kernel stacks sampled by bpf_get_stackid resolve to kernel functions through /proc/kallsyms', async () => {
  const check = leakCheck();
  const r = await profileBurner(1.5);
  assert.ok(r.stacks.size > 0, 'no kernel stacks sampled');
  const ks = kallsyms();
  const names = new Set<string>();
  for (const [id, frames] of r.stacks)
    for (const f of frames) {
      const loc = ks.resolve(f);
      assert.ok(loc, `stack ${id}: 0x${f.toString(16)} is below every kernel symbol`);
      assert.ok(isFunctionType(ks.lookup(loc.name)!.type), `stack ${id}: ${loc.name} is not code`);
      assert.ok(loc.offset < 1 << 16, `stack ${id}: ${loc.name}+0x${loc.offset.toString(16)} is implausibly far into a function`);
      names.add(loc.name);
    }
  // the child enters the kernel through its getppid() system calls
  assert.ok(names.has('do_syscall_64'), `frames seen: ${[...names].join(', ')}`);
  await check();
});
