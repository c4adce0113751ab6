import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineTool, toolCommand, UsageError, type ToolIO } from './tool.js';

const silent: ToolIO = { out: () => undefined, err: () => undefined };

/** A tool with the shared flags whose run() records what it was given and exits 7. */
function demo() {
  const seen: { o?: Record<string, unknown>; args?: unknown[]; argv?: string[] } = {};
  const tool = defineTool<Record<string, unknown>, [number?, number?]>({
    name: 'demo',
    summary: 'A demo tool',
    examples: './demo',
    flags: (cmd) => cmd.timestampFlag().pidFlag().familyFlags().kscopeFlags('thing').intervalCountArgs(),
    async run(o, _io, args, argv) {
      Object.assign(seen, { o, args, argv });
      return 7;
    },
  });
  return { tool, seen };
}

test('defineTool parses the shared flags under their BCC spellings, then runs', async () => {
  const { tool, seen } = demo();
  const argv = ['-T', '-p', '42', '-6', '--json', '--verbose', '2', '3'];
  assert.equal(await tool.main(argv, silent), 7);
  assert.deepEqual(seen, { o: { timestamp: true, pid: 42, ipv6: true, json: true, verbose: true }, args: [2, 3], argv });
  await assert.rejects(demo().tool.main(['0'], silent), (e: Error) => e instanceof UsageError && /invalid interval value: '0'/.test(e.message));
  await assert.rejects(demo().tool.main(['--nope'], silent), { message: "demo: unknown option '--nope'" });
});

test('exclusive flags fail as argparse groups do, naming the later-declared flag', async () => {
  for (const argv of [['-4', '-6'], ['-6', '--ipv4']])
    await assert.rejects(demo().tool.main(argv, silent), (e: Error) => e instanceof UsageError && e.message === 'demo: argument -6/--ipv6: not allowed with argument -4/--ipv4');
  const long = toolCommand('x', 'x', 'x').option('--alpha').option('-b, --beta-gamma <n>').exclusive('--alpha', '--beta-gamma');
  assert.throws(() => long.read(['--alpha', '-b', '1']), { message: 'x: argument -b/--beta-gamma: not allowed with argument --alpha' });
  assert.throws(() => toolCommand('x', 'x', 'x').option('--alpha').exclusive('--alpha', '--nope'), /no flag --nope/);
});

test('kscopeFlags adds --json only when the tool says what it prints', () => {
  const help = (c: ReturnType<typeof toolCommand>) => c.helpInformation();
  assert.match(help(toolCommand('x', 'x', 'x').kscopeFlags('thing')), /--json +one JSON object per thing \(kscope addition\)\n +--verbose +print the hooks/);
  assert.doesNotMatch(help(toolCommand('x', 'x', 'x').kscopeFlags()), /--json/);
});
