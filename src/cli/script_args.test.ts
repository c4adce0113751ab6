import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from 'commander';
import { UsageError } from '../sys/errors.js';
import { parseScriptArgs, scriptHelp } from './script_args.js';

/** The commander program this command line used to be parsed by: the hand-written parser must agree with it. */
function commanderProgram(): Command {
  return new Command('kscope')
    .description('Linux tracing: bpftrace-compatible scripts compiled to BPF, and the BCC tools.\n\nTools: kscope features | kscope <tool> -h')
    .usage('[options] [script.bt | -e PROGRAM] [args...]')
    .argument('[script]', 'script file to run')
    .argument('[args...]', 'positional parameters ($1, $2, ...)')
    .option('-e <program>', 'run PROGRAM')
    .option('-l [pattern]', 'list probes matching PATTERN (-lv: with their arguments)')
    .option('-d', 'print the parsed program (AST) and exit')
    .option('-v', 'verbose: print the generated instructions and verifier statistics')
    .option('-q', 'quiet: no "Attached N probes" line')
    .addOption(new Option('-f <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('-B <mode>', 'output buffering').choices(['line', 'full', 'none']).default('line'))
    .option('-o <file>', 'write the program output to FILE (messages stay on stderr)')
    .option('-c <command>', 'run COMMAND and trace until it exits')
    .option('-p <pid>', 'trace only process PID (every probe is filtered; uprobes and USDT attach to it)')
    .option('--unsafe', 'allow unsafe actions (system(), cat(), signal())')
    .option('-k', 'warn when a helper fails at run time (memory reads, map updates); -kk is the same')
    .option('--no-warnings', 'print no warnings')
    .option('-V, --version', 'print the version and exit')
    .helpOption('-h, --help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {}, getOutHelpWidth: () => 80, getErrHelpWidth: () => 80 });
}

type Outcome = { help: true } | { error: string } | { opts: Record<string, unknown>; args: string[] };

function viaCommander(argv: string[]): Outcome {
  const p = commanderProgram();
  let err = '';
  p.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
  try {
    p.parse(argv, { from: 'user' });
  } catch (e) {
    const ce = e as { code?: string };
    if (ce.code === 'commander.helpDisplayed') return { help: true };
    return { error: err.trim() };
  }
  return { opts: { ...p.opts() }, args: p.args };
}

function viaParser(argv: string[]): Outcome {
  try {
    const { opts, args } = parseScriptArgs(argv);
    if (opts.help) return { help: true };
    return { opts: Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)), args };
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return { error: e.message };
  }
}

test('the script command line parses as commander parsed it: options, clusters, values, operands, errors, help', () => {
  const P = 'BEGIN { exit(); }';
  const cases: string[][] = [
    [],
    ['-e', P],
    ['-e', P, '1', 'two'],
    [`-e${P}`],
    ['-qve', P],
    ['-q', '-v', '-e', P],
    ['script.bt'],
    ['script.bt', 'a', 'b'],
    ['script.bt', '-q', 'a'],
    ['-q', 'script.bt', '--', '-5', '-q'],
    ['-e', P, '--', '-x'],
    ['-e', '-q'],
    ['-l'],
    ['-l', 'tracepoint:syscalls:*'],
    ['-ltracepoint:*'],
    ['-l', '-v'],
    ['-v', '-l', 'x'],
    ['-l', '-'],
    ['-f', 'json', '-e', P],
    ['-fjson', '-e', P],
    ['-f', 'xml', '-e', P],
    ['-B', 'full', '-e', P],
    ['-B', 'all', '-e', P],
    ['-o', '/tmp/out', '-c', 'ls -l', '-p', '42', '-e', P],
    ['--unsafe', '-k', '--no-warnings', '-e', P],
    ['-e', P, '-e', 'END {}'],
    ['-V'],
    ['--version'],
    ['-h'],
    ['--help'],
    ['-qh'],
    ['-eh'],
    ['-x'],
    ['-qx'],
    ['-xq'],
    ['--bogus'],
    ['--unsafe=1'],
    ['--unsaf'],
    ['--verison'],
    ['--no-warning'],
    ['--warnings'],
    ['--hlep'],
    ['--zzzzzzzz'],
    ['-e'],
    ['-q', '-e'],
    ['-5'],
    ['-e', P, '-5', '-1.5', '-.5e3'],
    ['-q5'],
    ['-qxy'],
    ['-l', '-5'],
    ['-l-5'],
    ['-'],
    ['-d', 'script.bt'],
    ['-x', '-h'],
    ['--', '-h'],
    ['-e', '-h'],
    ['-h', '-e'],
    ['-h', '-f', 'xml'],
    ['-f', 'xml', '-h'],
    ['-hq'],
    ['script.bt', '-h'],
    ['-x', '--', '-h'],
    ['--bogus', 'a', '-h'],
    ['-x', '-q', 'script.bt'],
    ['-x', '-e'],
    ['--bogus', '-f', 'xml'],
    ['a', '-x', 'b', '-h', '--', 'c'],
    ['-lq'],
    ['-ql', 'p'],
  ];
  for (const argv of cases) assert.deepEqual(viaParser(argv), viaCommander(argv), JSON.stringify(argv));
});

test('the help text is the one commander printed for this command', () => {
  assert.equal(scriptHelp(), commanderProgram().helpInformation());
});
