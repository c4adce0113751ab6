/**
 * What every tool shares (the libbpf-tools shape): BCC-style flags and help, the kernel side compiled from a kscope
 * script, hook selection through the feature probes, the interval/count report loop, Ctrl-C handling, --json.
 */
import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../sys/builtins.js';
import { Command, CommanderError, Option } from 'commander';
import { pickHook, whyUnsupported, type FeatureName } from '../bpf/features.js';
import { KscopeError, UsageError } from '../sys/errors.js';
import { writeAll, writeOut } from '../sys/stdio.js';
import { compile } from '../lang/compile.js';
import { Runtime, type RunOptions } from '../lang/runtime.js';
import type { MapSnapshot } from '../output/bpftrace.js';
import type { Value } from '../output/values.js';
import { timeLine } from '../output/bcc.js';

export interface ToolIO {
  out(s: string): void;
  err(s: string): void;
}

/** The options kscopeFlags() adds, as every tool's parsed options carry them. */
export interface KscopeOpts {
  json?: boolean;
  verbose?: boolean;
}

/** the session running now: a reader that goes away (`kscope execsnoop | head`) stops it, as Ctrl-C would */
let running: Session | undefined;
let outputClosed = false;

/** The process's stdout/stderr, written by fd (src/sys/stdio.ts); traced strings are binary strings. */
export const stdio: ToolIO = {
  out: (s) => {
    if (outputClosed || writeOut(s, 'latin1')) return;
    outputClosed = true;
    running?.stop();
  },
  err: (s) => writeAll(2, s),
};

/** A tool: `main(argv)` parses its flags, runs, and returns the exit code. */
export interface Tool {
  name: string;
  summary: string;
  main(argv: string[], io?: ToolIO): Promise<number>;
}

/** A flag-parsing error: one line on stderr, exit code 2 (as argparse). Defined in sys/errors, where the CLI's error report finds it without loading the tools. */
export { UsageError };

/**
 * A tool's command line: commander set up like BCC's argparse (see toolCommand), plus the flags and arguments
 * several tools share, each with one spelling and help text, and argparse's mutually exclusive flags.
 */
export class ToolCommand extends Command {
  readonly #exclusive: [Option, Option][] = [];

  /** `-T, --timestamp` (BCC's histogram tools) or `-t, --timestamp` (its event tools). */
  timestampFlag(short: '-T' | '-t' = '-T'): this {
    return this.option(`${short}, --timestamp`, 'include timestamp on output');
  }

  /** `-m, --milliseconds`: histograms in ms instead of µs. */
  millisecondsFlag(): this {
    return this.option('-m, --milliseconds', 'millisecond histogram');
  }

  /** `-p, --pid <pid>`: one process only. */
  pidFlag(): this {
    return this.option('-p, --pid <pid>', 'trace this PID only', positiveInt('pid'));
  }

  /** `-4, --ipv4` or `-6, --ipv6`: one address family only. */
  familyFlags(): this {
    return this.option('-4, --ipv4', 'trace IPv4 family only').option('-6, --ipv6', 'trace IPv6 family only').exclusive('--ipv4', '--ipv6');
  }

  /** kscope's additions every tool ends with: `--json` (one JSON object per `jsonPer`, when given) and `--verbose`. */
  kscopeFlags(jsonPer?: string): this {
    if (jsonPer) this.option('--json', `one JSON object per ${jsonPer} (kscope addition)`);
    return this.option('--verbose', 'print the hooks and the kernel-side script');
  }

  /** The `[interval] [count]` arguments of tools that report periodically. */
  intervalCountArgs(interval = 'output interval, in seconds'): this {
    return this.argument('[interval]', interval, positiveInt('interval')).argument('[count]', 'number of outputs', positiveInt('count'));
  }

  /**
   * BCC's `--exec CMD...` (argparse.REMAINDER): everything after `--exec` is the command to run and trace; it comes
   * to run() as the `[command...]` argument (see {@link heldCommand}).
   */
  execFlag(): this {
    return this.option('--exec', 'execute command (as the last parameter, supports multiple parameters, for example: --exec ls -l /tmp)')
      .argument('[command...]', 'with --exec: the command to run and trace, and its arguments')
      .passThroughOptions();
  }

  /** Makes two declared flags (by long name) exclusive, as an argparse group: setting both is a UsageError. */
  exclusive(first: string, second: string): this {
    const find = (long: string) => {
      const o = this.options.find((x) => x.long === long);
      if (!o) throw new Error(`${this.name()}: no flag ${long} to make exclusive`);
      return o;
    };
    this.#exclusive.push([find(first), find(second)]);
    return this;
  }

  /** Parses argv: the flags and the processed arguments, `0` when help was shown, or throws UsageError. */
  read<O, A extends unknown[]>(argv: string[]): { opts: O; args: A } | 0 {
    try {
      this.parse(argv, { from: 'user' });
    } catch (e) {
      if (e instanceof CommanderError) {
        if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
        throw new UsageError(`${this.name()}: ${e.message.replace(/^error: /, '')}`, `see: kscope ${this.name()} -h`);
      }
      throw e;
    }
    const opts = this.opts();
    const flag = (o: Option) => [o.short, o.long].filter(Boolean).join('/');
    for (const [a, b] of this.#exclusive)
      if (opts[a.attributeName()] && opts[b.attributeName()]) throw new UsageError(`${this.name()}: argument ${flag(b)}: not allowed with argument ${flag(a)}`);
    return { opts: opts as O, args: this.processedArgs as A };
  }
}

/**
 * A ToolCommand set up like BCC's argparse: `-h/--help`, examples after the options, unknown flags and bad values
 * are one-line errors (exit 2).
 */
export function toolCommand(name: string, description: string, examples: string): ToolCommand {
  return new ToolCommand(name)
    .description(description)
    .helpOption('-h, --help', 'show this help message and exit')
    .addHelpText('after', `\nexamples:\n${examples.replace(/^\n+|\n+$/g, '')}\n`)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => void writeOut(s) })
    .allowExcessArguments(false);
}

/** What a tool is made of; defineTool makes the Tool. */
export interface ToolSpec<O, A extends unknown[]> {
  name: string;
  /** one line: the tool list's entry and the first paragraph of its help */
  summary: string;
  /** help paragraphs after the summary (where kscope differs from BCC) */
  about?: string;
  /** BCC-style example lines, shown after the options */
  examples: string;
  /** declares the flags and arguments */
  flags(cmd: ToolCommand): ToolCommand;
  /** runs with the parsed flags and arguments (`argv`: as given) and resolves to the exit code */
  run(o: O, io: ToolIO, args: A, argv: string[]): Promise<number>;
}

/** A Tool whose main() parses argv with the spec's flags (help: exit 0; bad flags: UsageError), then runs it. */
export function defineTool<O, A extends unknown[] = []>(spec: ToolSpec<O, A>): Tool {
  return {
    name: spec.name,
    summary: spec.summary,
    async main(argv: string[], io: ToolIO = stdio): Promise<number> {
      const cmd = spec.flags(toolCommand(spec.name, spec.about ? `${spec.summary}\n\n${spec.about}` : spec.summary, spec.examples));
      const parsed = cmd.read<O, A>(argv);
      return parsed === 0 ? 0 : spec.run(parsed.opts, io, parsed.args, argv);
    },
  };
}

/** A positive integer flag/positional value, or a UsageError naming it. */
export function positiveInt(what: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`invalid ${what} value: '${v}'`);
    return n;
  };
}

export { Option };

/** The --exec command: started, but held until release(); its pid stays the same through its exec. */
export interface HeldCommand {
  child: ChildProcess;
  /** lets it exec the command (call once the probes are attached) */
  release(): void;
  /** resolves when it has exited */
  exited: Promise<void>;
}

/**
 * Checks a tool's `--exec`/`-p` flags and `[command...]` (see ToolCommand.execFlag) as BCC does, and with --exec
 * starts the command held by a shell that reads fd 3 first, then execs it: the probes filter on its pid, then
 * release() lets it run. Undefined without --exec.
 */
export function heldCommand(tool: string, o: { exec?: boolean; pid?: number }, command: string[]): HeldCommand | undefined {
  if (command.length && !o.exec) throw new UsageError(`${tool}: unrecognized arguments: ${command.join(' ')}`);
  if (!o.exec) return undefined;
  if (!command.length) throw new UsageError(`${tool}: --exec without command`);
  if (o.pid !== undefined) throw new UsageError(`${tool}: can only use -p or --exec`);
  const child = childProcess().spawn('/bin/sh', ['-c', 'read _ <&3 && exec "$@" 3<&-', 'sh', ...command], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  const gate = child.stdio[3] as NodeJS.WritableStream;
  gate.on('error', () => undefined); // the shell is gone: its exit is reported below
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, release: () => gate.end('go\n'), exited };
}

/** Chooses the best hook from `order` (best first) or throws one clear line naming why none works. */
export function chooseHook<T extends FeatureName>(tool: string, order: readonly T[]): T {
  const h = pickHook(order);
  if (!h) throw new KscopeError(`${tool}: none of the hooks it needs is supported here: ${whyUnsupported(order)}`);
  return h;
}

export interface SessionOptions {
  io: ToolIO;
  verbose?: boolean;
  /** printf events, by format string */
  onEvent?: (format: string, args: Value[]) => void;
  /** called once attached: start timers, print headers */
  onStart?: (s: Session) => void;
  /** final report, while maps are still readable */
  onExit?: (s: Session) => void;
}

/** A running tool: its compiled script attached to the kernel. */
export class Session {
  readonly rt: Runtime;
  constructor(script: string, o: SessionOptions, extra: Partial<RunOptions> = {}) {
    if (o.verbose) o.io.err(`kscope: kernel side:\n${script}\n`);
    this.rt = new Runtime(compile(script, { name: 'tool' }), {
      quiet: true,
      printMapsOnExit: false,
      out: o.io.out,
      err: o.io.err,
      onPrintf: o.onEvent,
      onAttached: () => o.onStart?.(this),
      onExit: () => o.onExit?.(this),
      ...extra,
    });
  }
  async run(): Promise<number> {
    running = this;
    try {
      return await this.rt.run();
    } finally {
      running = undefined;
    }
  }
  snapshot(map: string): MapSnapshot | undefined {
    return this.rt.snapshot(map);
  }
  clear(map: string): void {
    this.rt.clearMap(map);
  }
  stop(): void {
    this.rt.stop();
  }
}

/**
 * BCC's interval/count loop for histogram tools: every `interval` seconds a blank line, the optional `-T` time line
 * and the report, then the maps are cleared; after `count` reports (or on Ctrl-C, with the partial interval) it ends.
 */
export function reportLoop(s: Session, o: { interval?: number; count?: number; timestamp?: boolean; io: ToolIO; report(): void; clear(): void }): { final(): void } {
  let left = o.count ?? Infinity;
  const tick = () => {
    o.io.out('\n');
    if (o.timestamp) o.io.out(timeLine());
    o.report();
    o.clear();
    if (--left <= 0) {
      clearInterval(timer);
      s.stop();
    }
  };
  const timer = o.interval ? setInterval(tick, o.interval * 1000) : undefined;
  return {
    final: () => {
      if (timer) clearInterval(timer);
      if (left > 0) tick();
    },
  };
}

/** Converts bpftrace hist() counts (index 0: negative, 1: zero, i: [2^(i-2), 2^(i-1))) to BCC log2 slots. */
export function bccSlots(counts: readonly bigint[]): bigint[] {
  const out: bigint[] = [0n];
  for (let i = 1; i < counts.length; i++) {
    const slot = Math.max(1, i - 1);
    out[slot] = (out[slot] ?? 0n) + counts[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i] ??= 0n;
  return out;
}

/** A TCP connection as the tcp tools print it: the process, the family and both endpoints. */
export interface TcpFlow {
  pid: number;
  comm: string;
  ip: 4 | 6;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
}
