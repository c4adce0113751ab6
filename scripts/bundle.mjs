// Bundles the CLI into one CommonJS file (dist/kscope.bundle.cjs) and installs the loader (dist/kscope.cjs) that
// runs it through V8's code cache. Loading one pre-compiled file instead of ~80 ESM modules is most of kscope's
// start-up time. koffi stays external (it loads a native binary next to its package).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, rmSync } from 'node:fs';
import { readdirSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url).pathname;
await build({
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: `${dist}kscope.bundle.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi'],
  minify: true,
  keepNames: true,
  logLevel: 'warning',
});
for (const f of readdirSync(dist)) if (f.startsWith('kscope.bundle.cjs.') && f.endsWith('.cache')) rmSync(`${dist}${f}`);
copyFileSync(new URL('./loader.cjs', import.meta.url).pathname, `${dist}kscope.cjs`);
chmodSync(`${dist}kscope.cjs`, 0o755);
