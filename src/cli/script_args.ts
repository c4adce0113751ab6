/**
 * The command line of `kscope [options] [script.bt | -e PROGRAM] [args...]`, parsed by hand: commander (which the
 * tools use) was a sixth of the script bundle and ~2 ms of every one-liner's start. The grammar and messages are the
 * ones commander gave this command: options anywhere before `--`, short options clustered (`-qv`, `-eBEGIN...`),
 * `-l` with an optional pattern, the last of a repeated option winning.
 */
import { UsageError } from '../sys/errors.js';

export interface ScriptOptions {
  e?: string;
  /** -l: true, or the pattern given with it */
  l?: string | true;
  d?: boolean;
  v?: boolean;
  q?: boolean;
  f: 'text' | 'json';
  B: 'line' | 'full' | 'none';
  o?: string;
  c?: string;
  p?: string;
  unsafe?: boolean;
  k?: boolean;
  warnings: boolean;
  version?: boolean;
  help?: boolean;
}

interface Spec {
  short?: string;
  long?: string;
  key: keyof ScriptOptions;
  /** how the option shows in help and errors: `-e <program>` */
  flags: string;
  /** takes a value: 'required' (-e PROGRAM) or 'optional' (-l [pattern]) */
  value?: 'required' | 'optional';
  choices?: readonly string[];
  /** the value when not given (help shows it with the choices, as commander did) */
  default?: string;
  help: string;
}

const SPECS: readonly Spec[] = [
  { short: 'e', key: 'e', flags: '-e <program>', value: 'required', help: 'run PROGRAM' },
  { short: 'l', key: 'l', flags: '-l [pattern]', value: 'optional', help: 'list probes matching PATTERN (-lv: with their arguments)' },
  { short: 'd', key: 'd', flags: '-d', help: 'print the parsed program (AST) and exit' },
  { short: 'v', key: 'v', flags: '-v', help: 'verbose: print the generated instructions and verifier statistics' },
  { short: 'q', key: 'q', flags: '-q', help: 'quiet: no "Attached N probes" line' },
  { short: 'f', key: 'f', flags: '-f <format>', value: 'required', choices: ['text', 'json'], default: 'text', help: 'output format' },
  { short: 'B', key: 'B', flags: '-B <mode>', value: 'required', choices: ['line', 'full', 'none'], default: 'line', help: 'output buffering' },
  { short: 'o', key: 'o', flags: '-o <file>', value: 'required', help: 'write the program output to FILE (messages stay on stderr)' },
  { short: 'c', key: 'c', flags: '-c <command>', value: 'required', help: 'run COMMAND and trace until it exits' },
  { short: 'p', key: 'p', flags: '-p <pid>', value: 'required', help: 'trace only process PID (every probe is filtered; uprobes and USDT attach to it)' },
  { long: 'unsafe', key: 'unsafe', flags: '--unsafe', help: 'allow unsafe actions (system(), cat(), signal())' },
  { short: 'k', key: 'k', flags: '-k', help: 'warn when a helper fails at run time (memory reads, map updates); -kk is the same' },
  { long: 'no-warnings', key: 'warnings', flags: '--no-warnings', help: 'print no warnings' },
  { short: 'V', long: 'version', key: 'version', flags: '-V, --version', help: 'print the version and exit' },
  { short: 'h', long: 'help', key: 'help', flags: '-h, --help', help: 'display help for command' },
];

/** A negative number is an operand (a positional parameter), not an option. */
const NEGATIVE_NUMBER = /^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/;

const ARGUMENTS: readonly [string, string][] = [
  ['script', 'script file to run'],
  ['args', 'positional parameters ($1, $2, ...)'],
];

/** The help text (`-h`), laid out as commander lays out a command's help at 80 columns. */
export function scriptHelp(): string {
  const width = 80;
  const col = Math.max(...SPECS.map((s) => s.flags.length), ...ARGUMENTS.map(([n]) => n.length));
  const row = (term: string, text: string): string => {
    const indent = 2 + col + 2;
    const lines: string[] = [];
    let line = '';
    for (const w of text.split(' ')) {
      if (line && indent + line.length + 1 + w.length > width) lines.push(line), (line = w);
      else line = line ? `${line} ${w}` : w;
    }
    lines.push(line);
    return `  ${term.padEnd(col)}  ${lines.join(`\n${' '.repeat(indent)}`)}\n`;
  };
  return (
    'Usage: kscope [options] [script.bt | -e PROGRAM] [args...]\n\n' +
    'Linux tracing: bpftrace-compatible scripts compiled to BPF, and the BCC tools.\n\n' +
    'Tools: kscope features | kscope <tool> -h\n\n' +
    'Arguments:\n' +
    ARGUMENTS.map(([n, h]) => row(n, h)).join('') +
    '\nOptions:\n' +
    SPECS.map((s) => row(s.flags, s.choices ? `${s.help} (choices: ${s.choices.map((c) => `"${c}"`).join(', ')}, default: "${s.default}")` : s.help)).join('')
  );
}

/** `\n(Did you mean --unsafe?)` for a long option a few edits away from a real one (as commander suggests). */
function suggestLong(word: string): string {
  let best = 3;
  let similar: string[] = [];
  for (const c of SPECS.flatMap((x) => (x.long ? [x.long] : []))) {
    const d = editDistance(word, c);
    if ((Math.max(word.length, c.length) - d) / Math.max(word.length, c.length) <= 0.4) continue;
    if (d < best) (best = d), (similar = [c]);
    else if (d === best) similar.push(c);
  }
  similar = similar.sort().map((c) => `--${c}`);
  if (similar.length > 1) return `\n(Did you mean one of ${similar.join(', ')}?)`;
  return similar.length ? `\n(Did you mean ${similar[0]}?)` : '';
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b; more than 3 apart in length counts as far. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.max(a.length, b.length);
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Parses the arguments after `kscope`: the options and the operands (script file or, with -e, the first positional
 * parameter, then the rest). Throws UsageError with commander's wording on a bad command line.
 */
export function parseScriptArgs(argv: readonly string[]): { opts: ScriptOptions; args: string[] } {
  const opts = { warnings: true, ...Object.fromEntries(SPECS.filter((s) => s.default !== undefined).map((s) => [s.key, s.default])) } as ScriptOptions;
  // commander's rule: arguments after the first that is no option of ours (-h and --help are none) are still parsed
  // as options, but operands among them are kept with the unknown; -h or --help there means help, else the first
  // unknown is the error
  const unknown: string[] = [];
  let dest: string[] = [];
  const args = dest;
  const set = opts as unknown as Record<string, unknown>;
  const take = (s: Spec, value: string): void => {
    if (s.choices && !s.choices.includes(value)) {
      throw new UsageError(`error: option '${s.flags}' argument '${value}' is invalid. Allowed choices are ${s.choices.join(', ')}.`);
    }
    set[s.key] = value;
  };
  const isOption = (a: string): boolean => a.length > 1 && a.startsWith('-');
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === '--') {
      if (dest === unknown) dest.push(a);
      dest.push(...argv.slice(i + 1));
      break;
    }
    const long = a.startsWith('--') ? SPECS.find((x) => x.long === a.slice(2) && x.key !== 'help') : undefined;
    if (long) {
      set[long.key] = long.key !== 'warnings';
      continue;
    }
    // a cluster of short options; one that takes a value takes the rest of the cluster, or the next argument
    for (;;) {
      const s = !a.startsWith('--') && isOption(a) ? SPECS.find((x) => x.short === a[1] && x.key !== 'help') : undefined;
      if (!s) break;
      if (!s.value) {
        set[s.key] = true;
        a = a.length > 2 ? `-${a.slice(2)}` : '';
        if (!a) break;
        continue;
      }
      const rest = a.slice(2);
      const next = argv[i + 1];
      if (rest) take(s, rest);
      else if (s.value === 'required') {
        if (next === undefined) throw new UsageError(`error: option '${s.flags}' argument missing`);
        take(s, next);
        i++;
      } else if (next !== undefined && (!isOption(next) || NEGATIVE_NUMBER.test(next))) {
        take(s, next);
        i++;
      } else set[s.key] = true;
      a = '';
      break;
    }
    if (!a) continue;
    // not an option of ours: an operand (also a negative number), or an unknown option from here on
    if (dest === args && isOption(a) && !NEGATIVE_NUMBER.test(a)) dest = unknown;
    dest.push(a);
  }
  if (unknown.some((a) => a === '-h' || a === '--help')) return { opts: { ...opts, help: true }, args };
  const u = unknown[0];
  if (u !== undefined) throw new UsageError(`error: unknown option '${u}'${u.startsWith('--') ? suggestLong(u.slice(2)) : ''}`);
  return { opts, args };
}
