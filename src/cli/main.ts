#!/usr/bin/env node
/**
 * The kscope command: bpftrace-compatible scripts (`kscope -e PROGRAM`, `kscope script.bt`; script.ts), listings
 * (`-l`), `kscope features`, and the BCC tools (`kscope execsnoop ...`). dist/kscope.bundle.cjs is built from here;
 * the loader sends everything but the tools and `features` to the smaller script bundle (script_main.ts).
 */
import { allFeatures, describeFeature } from '../bpf/features.js';
import { TOOLS } from '../tools/index.js';
import { out, reportError, runCli, scriptCommand } from './script.js';

export { reportError } from './script.js';

function featuresCommand(): number {
  const rows = allFeatures();
  const w = Math.max(...rows.map((r) => describeFeature(r.name).length));
  out(`${'FEATURE'.padEnd(16)} ${'SUPPORTED'.padEnd(9)} ${'WHAT'.padEnd(w)}  DETAIL\n`);
  for (const r of rows) out(`${r.name.padEnd(16)} ${(r.supported ? 'yes' : 'no').padEnd(9)} ${describeFeature(r.name).padEnd(w)}  ${r.detail}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'features') return featuresCommand();
    const tool = argv[0] !== undefined ? TOOLS.get(argv[0]) : undefined;
    if (tool) return await tool.main(argv.slice(1));
    return await scriptCommand(argv);
  } catch (e) {
    return reportError(e);
  }
}

runCli(main);
