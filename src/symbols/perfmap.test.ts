import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { PerfMap, perfMapPath, readPerfMap } from './perfmap.js';
import { findMapping, isFileMapping, readMaps } from './procmaps.js';
import { Symbolizer } from './symbolizer.js';

test('parse: sorted lookup, sizes, replaced entries', () => {
  const pm = PerfMap.parse(['3000 10 LazyCompile:*b /x.js:2', '1000 20 Builtin:A', '2000 0x8 JS:~c with spaces', '1000 30 Builtin:A2', 'junk', ''].join('\n'));
  assert.equal(pm.size, 3);
  assert.deepEqual(pm.resolve(0x1005), { name: 'Builtin:A2', offset: 5 });
  assert.deepEqual(pm.resolve(0x2007), { name: 'JS:~c with spaces', offset: 7 });
  assert.equal(pm.resolve(0x2008), null);
  assert.equal(pm.resolve(0x3010), null);
  assert.equal(pm.resolve(0x500), null);
  assert.deepEqual(pm.entries().map((e) => e.start), [0x1000, 0x2000, 0x3000]);
});

test('node --perf-basic-prof: a hot JS function resolves through the perf map', async (t) => {
  const fn = `kscopeHot_${process.pid}`;
  const child = spawn(process.execPath, ['--perf-basic-prof', '-e',
    `function ${fn}(n){let s=0;for(let i=0;i<n;i++)s+=(i*i)%7;return s}let x=0;for(;;)x+=${fn}(20000);`], { stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(perfMapPath(child.pid!), { force: true });
  });
  let entry: { start: number; size: number; name: string } | undefined;
  for (let i = 0; i < 100 && !entry; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (existsSync(perfMapPath(child.pid!))) entry = readPerfMap(child.pid!)?.entries().find((e) => e.name.includes(fn));
  }
  assert.ok(entry, `perf map of the child mentions ${fn}`);
  const addr = entry.start + Math.floor(entry.size / 2);
  const mapping = findMapping(readMaps(child.pid!), addr);
  assert.ok(mapping && !isFileMapping(mapping), 'JIT code lives in an anonymous mapping');
  const loc = new Symbolizer().userSymbol(child.pid!, addr);
  assert.ok(loc?.name.includes(fn), String(loc?.name));
  assert.equal(loc?.offset, Math.floor(entry.size / 2));
});
