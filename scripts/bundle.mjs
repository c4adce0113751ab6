// Bundles the CLI into CommonJS files (dist/kscope.bundle.cjs, all of it; dist/kscope.script.cjs, the script path)
// and installs the loader (dist/kscope.cjs) that runs one of them through V8's code cache. Loading one pre-compiled
// file instead of ~80 ESM modules is most of kscope's start-up time. koffi stays external (it loads a native binary next to its package; see koffi-binary below).
import { build, transform } from 'esbuild';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
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
const src = new URL('../src/', import.meta.url).pathname;
// two self-contained bundles: everything (main.ts: tools, features, scripts) and the script path alone, which the
// loader runs for one-liners and script files (a third less code to read, deserialise and run at every start)
const BUNDLES = ['kscope.bundle.cjs', 'kscope.script.cjs'];
const built = await build({
  entryPoints: { 'kscope.bundle': `${src}cli/main.ts`, 'kscope.script': `${src}cli/script_main.ts` },
  // the files each bundle is made of: the loader checks just those for a rebuild in a checkout
  metafile: true,
  absWorkingDir: new URL('..', import.meta.url).pathname,
  outdir: dist,
  outExtension: { '.js': '.cjs' },
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
// the loader compiles a bundle as the body of a CommonJS module function: wrap it here, once, so the loader does not
// build (and V8 flatten) a second copy of ~260 KB at every start; a #! line would be a syntax error inside it
for (const b of BUNDLES) {
  const bundled = readFileSync(`${dist}${b}`, 'latin1').replace(/^#!.*\n/, '');
  writeFileSync(`${dist}${b}`, Module.wrap(bundled), 'latin1');
}
for (const f of readdirSync(dist)) if (BUNDLES.some((b) => f.startsWith(`${b}.`)) && f.endsWith('.cache')) rmSync(`${dist}${f}`);
// the loader runs the full bundle for the tools (and `features`), the script bundle for everything else
const names = await transform(readFileSync(`${src}tools/names.ts`, 'utf8'), { loader: 'ts', format: 'cjs' });
const m = { exports: {} };
new Function('module', 'exports', names.code)(m, m.exports);
const full = ['features', ...m.exports.TOOL_NAMES];
const loader = readFileSync(new URL('./loader.cjs', import.meta.url), 'utf8');
const sources = {};
for (const [out, { inputs }] of Object.entries(built.metafile.outputs)) {
  const b = BUNDLES.find((n) => out.endsWith(`/${n}`));
  if (b) sources[b] = ['package.json', 'scripts/bundle.mjs', 'scripts/loader.cjs', ...Object.keys(inputs).filter((f) => f.startsWith('src/'))];
}
if (!BUNDLES.every((b) => sources[b]?.length > 3)) throw new Error(`no source list for the bundles in esbuild's metafile: ${Object.keys(built.metafile.outputs)}`);
let filled = loader;
for (const [slot, value] of [
  ['const FULL_BUNDLE_COMMANDS = [];', full],
  ['const SOURCES = {};', sources],
]) {
  if (!filled.includes(slot)) throw new Error(`scripts/loader.cjs: no "${slot}" line to fill in`);
  filled = filled.replace(slot, slot.replace(/\[\]|\{\}/, JSON.stringify(value)));
}
writeFileSync(`${dist}kscope.cjs`, filled);
chmodSync(`${dist}kscope.cjs`, 0o755);
