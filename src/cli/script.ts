/**
 * `kscope [options] script.bt | -e PROGRAM`: bpftrace-compatible scripts, listings (`-l`) and the error reporting
 * every kscope command shares. The script bundle (dist/kscope.script.cjs, see script_main.ts) holds only this path,
 * so a one-liner does not load the tools.
 */
import { childProcess } from '../sys/builtins.js';
import { closeSync, existsSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { KscopeError, UsageError } from '../sys/errors.js';
import { writeAll, writeOut } from '../sys/stdio.js';
import { compile, parseProgram } from '../lang/compile.js';
import { printAst } from '../lang/print_ast.js';
import { printResources } from '../lang/print_resources.js';
import { Runtime } from '../lang/runtime.js';
import { CompileError, formatDiagnostic } from '../lang/diagnostics.js';
import { listProbes } from './list.js';
import { parseScriptArgs, scriptHelp } from './script_args.js';

/** stdout by fd (see src/sys/stdio.ts); a reader that went away (`kscope -l | head`) just ends the output */
export function out(s: string): void {
  writeOut(s);
}
export function errOut(s: string): void {
  try {
    writeAll(2, s);
  } catch {
    // nowhere left to report it
  }
}

/** kscope's version, from the package.json above the running script (dist/ → repo root). */
function version(): string {
  for (let d = dirname(realpathSync(process.argv[1] ?? '.')); d !== '/'; d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(`${d}/package.json`, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kscope') return pkg.version ?? '0.0.0';
    } catch {
      // keep walking up
    }
  }
  return '0.0.0';
}

/** Prints an error a person can act on (no stack trace) and returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof UsageError) {
    errOut(`${e.message}\n${e.hint ? `${e.hint}\n` : ''}`);
    return 2;
  }
  if (e instanceof CompileError) {
    errOut(e.message + '\n');
    return 1;
  }
  if (e instanceof KscopeError) {
    errOut(`ERROR: ${e.message}\n${e.hint ? `HINT: ${e.hint}\n` : ''}`);
    return 1;
  }
  const err = e as Error;
  errOut(`kscope: internal error: ${err?.message ?? String(e)}\n${process.env.KSCOPE_DEBUG ? `${err?.stack}\n` : 'set KSCOPE_DEBUG=1 for a stack trace\n'}`);
  return 2;
}

export async function scriptCommand(argv: string[]): Promise<number> {
  // -lv is -l plus -v (not -l with pattern "v"); -kk is -k
  argv = argv.flatMap((a) => (a === '-lv' || a === '-vl' ? ['-v', '-l'] : a === '-kk' ? ['-k'] : [a]));
  let parsed: ReturnType<typeof parseScriptArgs>;
  try {
    parsed = parseScriptArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    errOut(`${e.message}\n`);
    return 1;
  }
  const o = parsed.opts;
  if (o.help) {
    out(scriptHelp());
    return 0;
  }
  if (o.version) {
    out(`kscope v${version()}\n`);
    return 0;
  }
  let [script, ...params] = parsed.args;
  if (o.l !== undefined) {
    out(listProbes(typeof o.l === 'string' ? o.l : script ?? '*', o.v).map((l) => l + '\n').join(''));
    return 0;
  }
  let text: string;
  let name = 'stdin';
  if (o.e !== undefined) {
    text = o.e;
    if (script !== undefined) params = [script, ...params];
  } else if (script !== undefined) {
    name = script;
    try {
      text = readFileSync(script, 'utf8');
    } catch (e) {
      // bpftrace's wording: failed to open file 'PATH': No such file or directory
      const why = /^[A-Z]+: ([^,]+)/.exec((e as Error).message)?.[1] ?? (e as Error).message;
      throw new KscopeError(`failed to open file '${script}': ${why.charAt(0).toUpperCase()}${why.slice(1)}`);
    }
  } else {
    out(scriptHelp());
    return 1;
  }
  if (o.d) {
    out(printAst(parseProgram(text, name).ast) + '\n');
    out(printResources(compile(text, { name, params, env: process.env })));
    return 0;
  }
  const pid = o.p !== undefined ? targetPid(o.p) : undefined;
  const outFd = o.o !== undefined ? openOutput(o.o) : undefined;
  const child = o.c !== undefined ? startCommand(o.c) : undefined;
  try {
    const compiled = compile(text, { name, params, config: { cpid: child?.pid ?? 0, pid, helperWarnings: !!o.k, unsafe: !!o.unsafe }, env: process.env });
    if (o.warnings) for (const w of compiled.info.warnings) errOut(formatDiagnostic(w, compiled.info.source) + '\n');
    const rt = new Runtime(compiled, {
      json: o.f === 'json',
      quiet: o.q,
      verbose: o.v,
      until: child?.exited ?? (pid ? processExit(pid) : undefined),
      onAttached: child?.release,
      pid: pid ?? child?.pid,
      buffering: o.B,
      noWarnings: !o.warnings,
      out: outFd !== undefined ? (s) => void writeSync(outFd, s) : undefined,
    });
    return await rt.run();
  } finally {
    child?.kill();
    if (outFd !== undefined) closeSync(outFd);
  }
}

/** Opens (creates, truncates) the -o output file. */
function openOutput(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new KscopeError(`-o: cannot open ${path}: ${(e as Error).message}`);
  }
}

/** Checks `-p PID` names a running process. */
function targetPid(arg: string): number {
  const pid = Number(arg);
  if (!Number.isInteger(pid) || pid <= 0) throw new KscopeError(`-p: invalid pid '${arg}'`);
  if (!existsSync(`/proc/${pid}`)) throw new KscopeError(`-p: no process with pid ${pid}`);
  return pid;
}

/** Resolves when process `pid` has exited (polled: it is not our child). */
function processExit(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (!existsSync(`/proc/${pid}`)) clearInterval(t), resolve();
    }, 200);
    t.unref();
  });
}

/**
 * Starts `-c COMMAND` under /bin/sh, held at a read from a pipe until every probe is attached; the shell then
 * execs the command, so `cpid` is the command's pid from its first instruction.
 */
function startCommand(cmd: string): { pid: number; exited: Promise<unknown>; release: () => void; kill: () => void } {
  // a simple command is exec'd by the gate shell itself (cpid is the command; uprobes for -c attach to it); shell
  // syntax (;, |, &&, ...) still runs under /bin/sh -c, whose children are not cpid
  const unquoted = cmd.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '');
  const run = /[;&|<>()`\n]/.test(unquoted) ? 'exec /bin/sh -c "$0"' : 'eval "exec $0"';
  const child = childProcess().spawn('/bin/sh', ['-c', `read -r _ <&3; exec 3<&-; ${run}`, cmd], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  if (child.pid === undefined) throw new KscopeError(`cannot run ${cmd}`);
  let running = true;
  const exited = new Promise((resolve) => child.on('exit', () => resolve((running = false))));
  const gate = child.stdio[3] as Writable;
  return {
    pid: child.pid,
    exited,
    release: () => gate.end('\n'),
    kill: () => {
      if (running) child.kill('SIGTERM');
    },
  };
}

/** Runs a CLI entry point and sets the exit code it returns (an escaped error is reported, never thrown). */
export function runCli(command: (argv: string[]) => Promise<number> | number): void {
  Promise.resolve()
    .then(() => command(process.argv.slice(2)))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e) => {
        process.exitCode = reportError(e);
      },
    );
}
