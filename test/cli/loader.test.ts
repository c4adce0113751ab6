/**
 * The loader (dist/kscope.cjs): it rebuilds a checkout before running when a file the bundle it runs was made of is
 * newer than the last build (checked in a copy of the built dist/ beside a fake checkout whose `npm` only records
 * that it was called), and it keeps a code cache that holds the compiler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loaderNodeFlags } from '../lib/loader.js';

const dist = fileURLToPath(new URL('../..', import.meta.url));
const repo = join(dist, '..');
const loader = join(dist, 'kscope.cjs');

/** The file lists bundle.mjs wrote into the loader. */
function sources(): Record<string, string[]> {
  const m = /^const SOURCES = (.*);$/m.exec(readFileSync(loader, 'utf8'));
  assert.ok(m, 'no SOURCES line in dist/kscope.cjs');
  return JSON.parse(m[1]!) as Record<string, string[]>;
}

test('the loader rebuilds when a file of the bundle it runs changed, and only then', { skip: !existsSync(loader) && 'no dist/kscope.cjs (npm run build makes it)' }, () => {
  const lists = sources();
  const script = lists['kscope.script.cjs']!;
  const full = lists['kscope.bundle.cjs']!;
  assert.ok(script.includes('src/cli/script.ts') && script.includes('src/lang/codegen.ts') && script.includes('package.json'), 'script bundle list');
  assert.ok(!script.includes('src/tools/execsnoop.ts'), 'the script bundle does not contain the tools');
  assert.ok(full.includes('src/tools/execsnoop.ts'), 'the full bundle does');

  const tmp = mkdtempSync(join(tmpdir(), 'kscope-loader-'));
  try {
    // a fake checkout: every listed file (empty), dist/ with the real bundles, node_modules linked for koffi
    const co = join(tmp, 'co');
    for (const f of new Set([...script, ...full])) {
      mkdirSync(dirname(join(co, f)), { recursive: true });
      writeFileSync(join(co, f), '');
    }
    mkdirSync(join(co, 'dist'));
    for (const f of ['kscope.cjs', 'kscope.script.cjs', 'kscope.bundle.cjs']) cpSync(join(dist, f), join(co, 'dist', f));
    symlinkSync(join(repo, 'node_modules'), join(co, 'node_modules'));
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    const calls = join(tmp, 'npm-calls');
    writeFileSync(join(bin, 'npm'), `#!/bin/sh\necho "$*" >> ${calls}\n`);
    chmodSync(join(bin, 'npm'), 0o755);
    const past = new Date(Date.now() - 3600_000);
    for (const f of new Set([...script, ...full])) utimesSync(join(co, f), past, past);
    const stamp = join(co, 'dist', '.stamp');
    writeFileSync(stamp, 'built\n');

    const rebuilt = (args: string[]): boolean => {
      rmSync(calls, { force: true });
      const r = spawnSync(process.execPath, [join(co, 'dist', 'kscope.cjs'), ...args], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(r.status, 0, r.stderr);
      return existsSync(calls) && readFileSync(calls, 'utf8').includes('run --silent build');
    };
    const touch = (f: string): void => utimesSync(join(co, f), new Date(), new Date());
    const fresh = (): void => utimesSync(stamp, new Date(Date.now() - 1800_000), new Date(Date.now() - 1800_000)); // after `past`, before a touch

    fresh();
    assert.equal(rebuilt(['--version']), false, 'nothing changed');
    touch('src/tools/execsnoop.ts');
    assert.equal(rebuilt(['--version']), false, 'a tool changed: not part of the script bundle');
    assert.equal(rebuilt(['execsnoop', '-h']), true, 'a tool changed: part of the full bundle');
    fresh();
    touch('src/lang/codegen.ts');
    assert.equal(rebuilt(['--version']), true, 'the compiler changed');
    fresh();
    touch('scripts/loader.cjs');
    assert.equal(rebuilt(['--version']), true, 'the loader changed');
    fresh();
    rmSync(join(co, 'src/lang/parser.ts'));
    assert.equal(rebuilt(['--version']), true, 'a source went away');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("a code cache made by a run that compiled no program is made again by the next one-liner's run, once", { skip: !existsSync(loader) && 'no dist/kscope.cjs (npm run build makes it)' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kscope-cache-'));
  try {
    // an installed layout (no src/ beside dist/): the bundles, node_modules linked for koffi
    mkdirSync(join(tmp, 'dist'));
    for (const f of ['kscope.cjs', 'kscope.script.cjs']) cpSync(join(dist, f), join(tmp, 'dist', f));
    symlinkSync(join(repo, 'node_modules'), join(tmp, 'node_modules'));
    const nodeFlags = loaderNodeFlags(loader);
    const cache = join(tmp, 'dist', `kscope.script.cjs.${process.version}.cache`);
    const run = (args: string[]): { size: number; mtimeMs: number } => {
      const r = spawnSync(process.execPath, [...nodeFlags, join(tmp, 'dist', 'kscope.cjs'), ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const st = statSync(cache);
      return { size: st.size, mtimeMs: st.mtimeMs };
    };
    const source = statSync(join(tmp, 'dist', 'kscope.script.cjs')).size;
    const help = run(['--help']);
    assert.ok(help.size < source, `a --help run caches less than the bundle's size (${help.size} of ${source})`);
    const begin = run(['-e', 'BEGIN { printf("hi\\n"); exit(); }']);
    assert.ok(begin.size > source, `the one-liner made it again, with the compiler (${begin.size})`);
    const again = run(['--help']);
    assert.equal(again.mtimeMs, begin.mtimeMs, 'a later --help leaves the bigger cache alone');
    const begin2 = run(['-e', 'BEGIN { printf("hi\\n"); exit(); }']);
    assert.equal(begin2.mtimeMs, begin.mtimeMs, 'so does a later one-liner');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
