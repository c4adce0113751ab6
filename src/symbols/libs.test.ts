import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { findLibrary, ldCache, libraryDirs, resolveBinary, which } from './libs.js';

test('ld.so.cache: libc resolves to an existing libc.so.6', () => {
  assert.ok(ldCache().length > 0, '/etc/ld.so.cache has entries');
  const libc = findLibrary('libc');
  assert.ok(libc?.endsWith('/libc.so.6'), String(libc));
  assert.ok(existsSync(libc!));
  assert.equal(findLibrary('c'), libc);
  assert.equal(findLibrary('libc.so.6'), libc);
  assert.equal(findLibrary('no_such_library_kscope'), undefined);
});

test('ld.so.cache agrees with ldconfig -p', (t) => {
  let out: string;
  try {
    out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
  } catch {
    t.skip('ldconfig not available');
    return;
  }
  const expected = new Map<string, string>();
  for (const m of out.matchAll(/^\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)$/gm)) if (!expected.has(m[1])) expected.set(m[1], m[2]);
  const ours = new Map<string, string>();
  for (const e of ldCache()) if (!ours.has(e.name)) ours.set(e.name, e.path);
  assert.ok(expected.size > 0);
  for (const [name, path] of expected) assert.equal(ours.get(name), path, name);
});

test('which and resolveBinary', () => {
  const sh = which('sh');
  assert.ok(sh && existsSync(sh));
  assert.equal(which('kscope-no-such-program'), undefined);
  assert.equal(realpathSync(resolveBinary('libc')), realpathSync(findLibrary('libc')!));
  assert.equal(resolveBinary('/bin/sh'), '/bin/sh');
  assert.throws(() => resolveBinary('kscope-no-such-thing'), /cannot find a program or library/);
  assert.ok(libraryDirs().includes('/usr/lib'));
});
