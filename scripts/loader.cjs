#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS KSCOPE_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --min-semi-space-size=2 --max-semi-space-size=2
'use strict';
// Runs the bundled kscope CLI (kscope.bundle.cjs, or kscope.script.cjs for scripts) through V8's code cache:
// compiling the bundle is most of kscope's start-up, and a cache written after the first run lets later runs skip
// it. A stale or foreign cache is rejected by V8 and simply rewritten.
// The launcher (and the line above, for npm's bin link) start Node without NODE_EXTRA_CA_CERTS, which would make it
// parse a certificate bundle before anything else (~40 ms); put it back for the commands kscope runs.
if (process.env.KSCOPE_CA_CERTS !== undefined) {
  if (process.env.KSCOPE_CA_CERTS !== '') process.env.NODE_EXTRA_CA_CERTS = process.env.KSCOPE_CA_CERTS;
  delete process.env.KSCOPE_CA_CERTS;
}
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// the CommonJS Module class, without loading node:module (which pulls in the ES module loader)
const Module = module.constructor;

if (Number(process.versions.node.split('.')[0]) < 20) {
  process.stderr.write(`kscope: needs Node.js >= 20; this is ${process.version}\n`);
  process.exit(1);
}
const root = path.join(__dirname, '..');
// bundle.mjs fills in the commands of the full bundle (the tools, `features`); scripts, one-liners and -l run the
// script bundle, a third smaller
const FULL_BUNDLE_COMMANDS = [];
const bundle = FULL_BUNDLE_COMMANDS.includes(process.argv[2]) ? 'kscope.bundle.cjs' : 'kscope.script.cjs';
const file = path.join(__dirname, bundle);
const cacheFile = `${file}.${process.version}.cache`;

// In a checkout (src/ beside dist/), rebuild first when a file the bundle was made of (bundle.mjs lists them here,
// with package.json and the build scripts) is newer than the last build: ~70 stats, ~1.5 ms.
const SOURCES = {};
if (fs.existsSync(`${root}/src`) && staleSince(`${__dirname}/.stamp`, SOURCES[bundle] ?? [])) rebuild();

function staleSince(stamp, files) {
  let built;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
  for (const f of files) {
    const st = fs.statSync(`${root}/${f}`, { throwIfNoEntry: false });
    if (st === undefined || st.mtimeMs > built) return true;
  }
  return false;
}

function rebuild() {
  const { spawnSync } = require('node:child_process');
  const npm = (args) => spawnSync('npm', args, { cwd: root, stdio: ['ignore', 2, 2] }).status === 0;
  const have = (dep) => fs.existsSync(path.join(root, 'node_modules', dep));
  if (!['koffi', 'typescript', 'esbuild', 'commander'].every(have)) {
    process.stderr.write('kscope: installing npm dependencies...\n');
    if (!npm(['install', '--no-audit', '--no-fund', '--loglevel=error'])) fail();
  }
  process.stderr.write('kscope: building...\n');
  if (!npm(['run', '--silent', 'build'])) fail();
}

function fail() {
  process.stderr.write('kscope: build failed\n');
  process.exit(1);
}

// One buffer for both files, the cache read over the bundle once its text is a string: fresh memory costs a page
// fault per 4 KiB, dear on small VMs. esbuild writes ASCII (it escapes the rest), so latin1 reads it exactly and skips
// UTF-8 decoding; bundle.mjs, which writes this loader too, wrapped the bundle in the module function.
const [source, cachedData] = readBoth(file, cacheFile);

function readBoth(a, b) {
  const fa = fs.openSync(a, 'r');
  let fb;
  try {
    fb = fs.openSync(b, 'r');
  } catch {
    // first run
  }
  const sa = fs.fstatSync(fa).size;
  const sb = fb === undefined ? 0 : fs.fstatSync(fb).size;
  const buf = Buffer.allocUnsafeSlow(Math.max(sa, sb));
  const text = buf.latin1Slice(0, readAll(fa, sa, buf));
  if (fb === undefined) return [text, undefined];
  return [text, buf.subarray(0, readAll(fb, sb, buf))];
}

function readAll(fd, size, buf) {
  let n = 0;
  for (let r; n < size && (r = fs.readSync(fd, buf, n, size - n, n)) > 0; ) n += r;
  fs.closeSync(fd);
  return n;
}

const script = new vm.Script(source, { filename: file, cachedData, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
// V8 caches the functions a run compiled: a cache smaller than the bundle's text was made by a run that compiled no
// program (--help, -l) and would leave every later one-liner compiling its compiler (~10 ms): make it again, once.
// (Writing one costs ~20 ms here, after the output; a run that hits the cache never pays it.)
if (!cachedData || script.cachedDataRejected || cachedData.length < source.length) {
  process.once('exit', () => {
    try {
      fs.writeFileSync(cacheFile, script.createCachedData());
    } catch {
      // read-only install: run without a cache
    }
  });
}
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, __dirname);
