// Bundles the CLI into one ESM file (dist/kscope.mjs): loading one file instead of ~80 modules is most of
// kscope's start-up time. koffi stays external (it loads a native binary next to its package).
import { build } from 'esbuild';
await build({
  entryPoints: [new URL('../src/cli/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/kscope.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  // CommonJS dependencies (commander) call require() for Node built-ins
  banner: { js: "import { createRequire as __kscopeRequire } from 'node:module'; const require = __kscopeRequire(import.meta.url);" },
  logLevel: 'warning',
});
