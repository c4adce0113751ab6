import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType, BPF_NOEXIST } from './map.js';
import { u32, u64, cstring } from './codec.js';
import { possibleCpus } from './cpus.js';
import { closeAll } from './resources.js';
import { SysError } from '../sys/errors.js';
import { leakCheck } from '../../test/lib/leaks.js';

test('hash map: update, lookup, delete, iterate, batch dump (kernel 5.6+ for batch)', async () => {
  const check = leakCheck();
  const m = new BpfMap({ type: MapType.HASH, key: u32, value: u64, maxEntries: 2000, name: 'test_hash' });
  for (let i = 0; i < 1500; i++) m.update(i, BigInt(i) * 3n);
  assert.equal(m.lookup(7), 21n);
  assert.equal(m.lookup(1500), undefined);
  assert.equal(m.delete(7), true);
  assert.equal(m.delete(7), false);
  assert.throws(() => m.update(8, 1n, BPF_NOEXIST), (e: unknown) => e instanceof SysError && e.code === 'EEXIST');
  const keys = [...m.keys()].sort((a, b) => a - b);
  assert.equal(keys.length, 1499);
  const dumped = new Map(m.dump());
  assert.equal(dumped.size, 1499);
  for (const [k, v] of dumped) assert.equal(v, BigInt(k) * 3n);
  assert.deepEqual(new Map(m.entries()), dumped);
  // drain: lookup-and-delete batch empties the map
  assert.equal(m.dump(true).length, 1499);
  assert.equal([...m.keys()].length, 0);
  assert.ok(m.id() > 0);
  m.close();
  await check();
});

test('per-CPU array: one value per possible CPU', async () => {
  const check = leakCheck();
  const m = new BpfMap({ type: MapType.PERCPU_ARRAY, key: u32, value: u64, maxEntries: 4 });
  m.update(2, 5n);
  const v = m.lookupPerCpu(2)!;
  assert.equal(v.length, possibleCpus());
  assert.ok(v.every((x) => x === 5n));
  const all = m.dumpPerCpu();
  assert.equal(all.length, 4);
  assert.deepEqual(all.find(([k]) => k === 2)![1], v);
  m.clear();
  assert.ok(m.lookupPerCpu(2)!.every((x) => x === 0n));
  closeAll();
  await check();
});

test('LRU hash evicts instead of failing when full; string keys round-trip', async () => {
  const check = leakCheck();
  const m = new BpfMap({ type: MapType.LRU_HASH, key: cstring(16), value: u32, maxEntries: 64 });
  for (let i = 0; i < 500; i++) m.update(`k${i}`, i);
  const n = [...m.keys()].length;
  assert.ok(n > 0 && n <= 64 + possibleCpus() * 8, `LRU holds ${n}`);
  assert.equal(m.lookup('k499'), 499);
  m.close();
  await check();
});

test('map create errors name the command and errno', () => {
  assert.throws(
    () => new BpfMap({ type: MapType.HASH, key: u32, value: u64, maxEntries: 0 }),
    (e: unknown) => e instanceof SysError && e.op === 'BPF_MAP_CREATE' && e.code === 'EINVAL' && /EINVAL/.test(e.message),
  );
});
