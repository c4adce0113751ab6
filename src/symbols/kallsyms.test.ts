import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Kallsyms, isFunctionType, kallsyms } from './kallsyms.js';

const SAMPLE = [
  'ffffffffc0a01000 t mod_helper\t[mymod]',
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T startup_64',
  'ffffffff81000100 t local_fn',
  'ffffffff82000000 D some_data',
  'ffffffffc0a01080 T mod_entry\t[mymod]',
  '',
].join('\n');

test('parse: unsorted input, aliases, modules, lookups', () => {
  const ks = Kallsyms.parse(SAMPLE);
  assert.equal(ks.size, 6);
  assert.deepEqual(ks.resolve(0xffffffff81000105n), { name: 'local_fn', offset: 5, address: 0xffffffff81000100n });
  // two names at one address: the one without leading underscores wins
  assert.equal(ks.resolve(0xffffffff81000010n)?.name, 'startup_64');
  assert.deepEqual(ks.resolve(0xffffffffc0a01090n), { name: 'mod_entry', offset: 16, address: 0xffffffffc0a01080n, module: 'mymod' });
  assert.equal(ks.resolve(0xffffffffc0a01004n)?.name, 'mod_helper');
  assert.equal(ks.resolve(0xffffffff80000000n), null);
  assert.equal(ks.address('some_data'), 0xffffffff82000000n);
  assert.equal(ks.lookup('mod_entry')?.module, 'mymod');
  assert.equal(ks.address('nope'), undefined);
  const addrs = [...ks.symbols()].map((s) => s.address);
  assert.deepEqual(addrs, [...addrs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  assert.ok(isFunctionType('T') && isFunctionType('t') && isFunctionType('W'));
  assert.ok(!isFunctionType('D') && !isFunctionType('b') && !isFunctionType('R'));
});

test('real /proc/kallsyms: vfs_read+5 and back', () => {
  const ks = kallsyms();
  assert.equal(kallsyms(), ks, 'cached per process');
  // Independent reading of the file for the expected address.
  const line = readFileSync('/proc/kallsyms', 'latin1').split('\n').find((l) => / [tT] vfs_read$/.test(l));
  assert.ok(line, 'vfs_read is in /proc/kallsyms');
  const addr = BigInt('0x' + line.split(' ')[0]);
  assert.equal(ks.address('vfs_read'), addr);
  const loc = ks.resolve(addr + 5n);
  assert.equal(`${loc?.name}+${loc?.offset}`, 'vfs_read+5');
  assert.equal(ks.lookup('vfs_read')?.type.toLowerCase(), 't');
  assert.ok(ks.size > 10000);
});
