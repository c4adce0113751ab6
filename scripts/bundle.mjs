// Bundles the CLI into one CommonJS file (dist/kscope.bundle.cjs) and installs the loader (dist/kscope.cjs) that
// runs it through V8's code cache. Loading one pre-compiled file instead of ~80 ESM modules is most of kscope's
// start-up time. koffi stays external (it loads a native binary next to its package; see koffi-binary below).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;

// koffi's loader resolves two packages and reads its own ELF header to pick the binary (~10 ms of a ~170 ms
// start here); the bundle loads the binary koffi picks on this machine directly, and falls back to the package
// when that file is gone or is another version.
const req = createRequire(import.meta.url);
const koffi = req('koffi');
const native = Object.keys(req.cache).find((f) => f.endsWith('.node') && f.includes('koffi'));
const koffiShim = native
  ? `const { join } = require('node:path');
let native;
try {
  // process.dlopen: no module resolution (~1 ms of package.json lookups for an absolute path)
  const m = { exports: {} };
  process.dlopen(m, join(__dirname, ${JSON.stringify(relative(dist, native))}));
  native = m.exports;
} catch {}
module.exports = native && native.version === ${JSON.stringify(koffi.version)} ? native : require('koffi');`
  : undefined;
await build({
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: `${dist}kscope.bundle.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi'],
  minify: true,
  // nothing reads a function's or class's .name (errors set theirs); keeping names cost ~3 ms of start-up in
  // __name calls and a bigger code cache
  keepNames: false,
  logLevel: 'warning',
  plugins: [
    {
      name: 'koffi-binary',
      setup(b) {
        if (!koffiShim) return;
        b.onResolve({ filter: /^koffi$/ }, (a) => (a.namespace === 'koffi-shim' ? { path: 'koffi', external: true } : { path: 'koffi', namespace: 'koffi-shim' }));
        b.onLoad({ filter: /.*/, namespace: 'koffi-shim' }, () => ({ contents: koffiShim, loader: 'js', resolveDir: dist }));
      },
    },
    {
      // src/sys/builtins.ts gets a require through node:module, which is ~1-2 ms of start-up to load (it pulls in
      // the ES module loader); in this CommonJS bundle the module's own require does the same
      name: 'builtins-require',
      setup(b) {
        b.onLoad({ filter: /[\\/]src[\\/]sys[\\/]builtins\.ts$/ }, ({ path }) => {
          const text = readFileSync(path, 'utf8');
          const eager = "import { createRequire } from 'node:module';";
          const make = "const load = createRequire('/');";
          if (!text.includes(eager) || !text.includes(make)) throw new Error(`${path}: the builtins-require plugin no longer matches`);
          return { contents: text.replace(eager, '').replace(make, 'const load = require;'), loader: 'ts' };
        });
      },
    },
    {
      // commander loads node:child_process (and with it net and streams, ~8 ms here) for executable subcommands,
      // which kscope has none of: load it on first use instead
      name: 'lazy-child-process',
      setup(b) {
        b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, ({ path }) => {
          const eager = "const childProcess = require('node:child_process');";
          const text = readFileSync(path, 'utf8');
          if (!text.includes(eager)) return undefined;
          const lazy = "const childProcess = new Proxy({}, { get: (_, k) => require('node:child_process')[k] });";
          return { contents: text.replace(eager, lazy), loader: 'js' };
        });
      },
    },
  ],
});
// the loader wraps the bundle in a function, where a #! line is a syntax error: drop it here, once
const bundled = readFileSync(`${dist}kscope.bundle.cjs`, 'latin1');
if (bundled.startsWith('#!')) writeFileSync(`${dist}kscope.bundle.cjs`, bundled.replace(/^#!.*\n/, ''), 'latin1');
for (const f of readdirSync(dist)) if (f.startsWith('kscope.bundle.cjs.') && f.endsWith('.cache')) rmSync(`${dist}${f}`);
copyFileSync(new URL('./loader.cjs', import.meta.url).pathname, `${dist}kscope.cjs`);
chmodSync(`${dist}kscope.cjs`, 0o755);
