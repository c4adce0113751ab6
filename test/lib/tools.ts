/** Test helper: runs `kscope <tool>` while a test causes the activity it should see. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ToolRun {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Starts `kscope <tool> args`, runs `during` once `o.ready` (default: any first line) is on stdout, waits
 * `o.settleMs` (default 300 ms) for the last events to be consumed, then sends Ctrl-C — unless `o.interrupt` is false
 * (the tool ends by itself). Resolves with its exit code and output; rejects if `during` failed.
 */
export function runTool(tool: string, args: string[], during: () => Promise<unknown>, o: { ready?: string; interrupt?: boolean; settleMs?: number } = {}): Promise<ToolRun> {
  const p = spawn(process.execPath, [cli, tool, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let started = false;
  let failure: unknown;
  const stop = () => o.interrupt !== false && p.kill('SIGINT');
  p.stderr.on('data', (d: Buffer) => (err += d));
  p.stdout.on('data', (d: Buffer) => {
    out += d;
    if (!started && (o.ready ? out.includes(o.ready) : out.includes('\n'))) {
      started = true;
      during()
        .then(() => new Promise((r) => setTimeout(r, o.settleMs ?? 300)))
        .then(stop, (e: unknown) => {
          failure = e;
          p.kill('SIGINT');
        });
    }
  });
  return new Promise((resolve, reject) => p.on('close', (code) => (failure ? reject(failure) : resolve({ code, out, err }))));
}
