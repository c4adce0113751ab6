import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, toolCommand, UsageError } from './tool.js';

const cmd = () => toolCommand('demo', 'A demo tool', './demo').timestampFlag().pidFlag().familyFlags().kscopeFlags('thing').intervalCountArgs();

test('shared flags parse under their BCC spellings', () => {
  const c = cmd();
  const parsed = parseArgs<Record<string, unknown>>(c, ['-T', '-p', '42', '-6', '--json', '--verbose', '2', '3']);
  assert.notEqual(parsed, 0);
  assert.deepEqual(parsed !== 0 && parsed.opts, { timestamp: true, pid: 42, ipv6: true, json: true, verbose: true });
  assert.deepEqual(c.processedArgs, [2, 3]);
  assert.throws(() => parseArgs(cmd(), ['0']), (e: Error) => e instanceof UsageError && /invalid interval value: '0'/.test(e.message));
});

test('exclusive flags fail as argparse groups do, naming the later-declared flag', () => {
  for (const argv of [['-4', '-6'], ['-6', '--ipv4']])
    assert.throws(() => parseArgs(cmd(), argv), (e: Error) => e instanceof UsageError && e.message === 'demo: argument -6/--ipv6: not allowed with argument -4/--ipv4');
  const long = toolCommand('x', 'x', 'x').option('--alpha').option('-b, --beta-gamma <n>').exclusive('--alpha', '--beta-gamma');
  assert.throws(() => parseArgs(long, ['--alpha', '-b', '1']), { message: 'x: argument -b/--beta-gamma: not allowed with argument --alpha' });
  assert.throws(() => toolCommand('x', 'x', 'x').option('--alpha').exclusive('--alpha', '--nope'), /no flag --nope/);
});

test('kscopeFlags adds --json only when the tool says what it prints', () => {
  assert.match(cmd().helpInformation(), /--json +one JSON object per thing \(kscope addition\)\n +--verbose +print the hooks/);
  assert.doesNotMatch(toolCommand('x', 'x', 'x').kscopeFlags().helpInformation(), /--json/);
});
