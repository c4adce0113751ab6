/**
 * syscount: count system calls (by syscall, or by process with -P), optionally their total latency (-L), printed
 * every interval or at the end, top N first. Hooks: the raw_syscalls:sys_enter/sys_exit tracepoints on every kernel,
 * as BCC (they see every system call of every ABI entry point with its number and return value).
 */
import { readFileSync } from 'node:fs';
import { sprintf } from '../output/bcc.js';
import { strftime } from '../output/strftime.js';
import type { MapSnapshot } from '../output/bpftrace.js';
import { E } from '../sys/libc.js';
import { syscallName, syscallNames, syscallNumber } from './syscalls.js';
import { chooseHook, defineTool, heldCommand, Option, positiveInt, Session, UsageError, type ToolIO, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  pid?: number;
  tid?: number;
  ppid?: number;
  interval?: number;
  duration?: number;
  top: number;
  failures?: boolean;
  errno?: number;
  latency?: boolean;
  milliseconds?: boolean;
  process?: boolean;
  list?: boolean;
  syscall?: string;
  exec?: boolean;
  ebpf?: boolean;
}

const EXAMPLES = `
    ./syscount                   # count syscalls system-wide, print the top 10 on Ctrl-C
    ./syscount -P                # count by process instead of by syscall
    ./syscount -L                # also total the time spent in each syscall
    ./syscount -p 181 -i 1       # only PID 181, print every second
    ./syscount -x                # only failed syscalls
    ./syscount -e ENOENT         # only syscalls failing with ENOENT
    ./syscount --syscall openat  # only openat
    ./syscount -l                # list the syscall names
    ./syscount --exec ls -l      # run a command and count its syscalls`;

/** BCC's `-e`: a number or an errno name such as ENOENT. */
function errnoArg(v: string): number {
  const n = /^-?\d+$/.test(v) ? Math.abs(Number(v)) : E[v];
  if (n === undefined) throw new UsageError(`syscount: argument -e/--errno: couldn't map ${v} to an errno`);
  return n;
}

/** The kernel side, in kscope's language; `pid` is the --exec command's when given. */
export function script(o: Opts, pid = o.pid): string {
  const nr = o.syscall !== undefined ? syscallNumber(o.syscall) : undefined;
  // one task filter, in BCC's order of precedence
  const who = pid !== undefined ? `pid == ${pid}` : o.tid !== undefined ? `tid == ${o.tid}` : o.ppid !== undefined ? `curtask->real_parent->tgid == ${o.ppid}` : '';
  const pred = [nr !== undefined ? `args->id == ${nr}` : '', who].filter(Boolean).join(' && ');
  const ret = [o.failures ? 'args->ret < 0' : '', o.errno ? `args->ret == -${o.errno}` : ''].filter(Boolean).join(' && ');
  const key = o.process ? 'pid' : 'args->id';
  const p = (extra = '') => {
    const all = [pred, extra].filter(Boolean).join(' && ');
    return all ? ` /${all}/` : '';
  };
  if (!o.latency) return `tracepoint:raw_syscalls:sys_exit${p(ret)} { @calls[${key}] = count(); }`;
  return `tracepoint:raw_syscalls:sys_enter${p()} { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit${p()} {
  if (has_key(@start, tid)) {
    $ns = nsecs - @start[tid];
    delete(@start[tid]);
    ${ret ? `if (${ret}) { @calls[${key}] = avg($ns); }` : `@calls[${key}] = avg($ns);`}
  }
}
// a thread that exits in a syscall (exit, exit_group) never returns from it
tracepoint:sched:sched_process_exit { delete(@start[tid]); }`;
}

/** One report row: the syscall number or pid, the count and (with -L) the total nanoseconds. */
export interface Row {
  key: number;
  count: number;
  ns: number;
}

/** The rows of a snapshot of @calls, BCC's order (count, or total time with -L, highest first), top `top`. */
export function rows(snap: MapSnapshot | undefined, top: number): Row[] {
  const list: Row[] = [];
  if (snap?.kind === 'count') for (const e of snap.entries) list.push({ key: Number(e.key), count: Number(e.value), ns: 0 });
  if (snap?.kind === 'avg') for (const e of snap.entries) list.push({ key: Number(e.key), count: Number(e.value.count), ns: Number(e.value.total) });
  return list
    .filter((r) => r.key >= 0 && r.key !== 0xffffffff)
    .sort((a, b) => b.ns - a.ns || b.count - a.count)
    .slice(0, top);
}

/** A process's comm from /proc, as BCC reads it at report time. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '[unknown]';
  }
}

/** One report in BCC's layout: `[HH:MM:SS]`, the header, the rows, a blank line. */
export function report(o: Partial<Opts>, list: Row[], now: Date, comm: (pid: number) => string = commOf): string {
  const agg = o.process ? 'PID    COMM' : 'SYSCALL';
  let s = `[${strftime('%H:%M:%S', now)}]\n`;
  s += o.latency ? sprintf('%-22s %8s %16s\n', agg, 'COUNT', o.milliseconds ? 'TIME (ms)' : 'TIME (us)') : sprintf('%-22s %8s\n', agg, 'COUNT');
  for (const r of list) {
    const name = o.process ? sprintf('%-6d %-15s', r.key, comm(r.key)) : syscallName(r.key);
    s += sprintf('%-22s %8d', name, r.count);
    if (o.latency) s += ' ' + (o.milliseconds ? sprintf('%16.6f', r.ns / 1e6) : sprintf('%16.3f', r.ns / 1e3));
    s += '\n';
  }
  return `${s}\n`;
}

/** `-l`: the known names sorted, four per line, as BCC lists them. */
export function listing(): string {
  const names = syscallNames();
  let s = '';
  for (let i = 0; i < names.length; i += 4) s += `${names.slice(i, i + 4).map((n) => sprintf('%-22s', n)).join('   ')}\n`;
  return s;
}

function jsonReport(o: Partial<Opts>, list: Row[], now: Date): string {
  const rowsOut = list.map((r) => ({
    ...(o.process ? { pid: r.key, comm: commOf(r.key) } : { syscall: syscallName(r.key) }),
    count: r.count,
    ...(o.latency ? { total_ns: r.ns } : {}),
  }));
  return `${JSON.stringify({ time: strftime('%H:%M:%S', now), rows: rowsOut })}\n`;
}

export const syscount = defineTool<Opts, [string[]]>({
  name: 'syscount',
  summary: 'Summarize syscall counts and latencies.',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-p, --pid <PID>', 'trace only this pid', positiveInt('pid'))
      .option('-t, --tid <TID>', 'trace only this tid', positiveInt('tid'))
      .option('-c, --ppid <PPID>', 'trace only child of this pid', positiveInt('ppid'))
      .option('-i, --interval <INTERVAL>', 'print summary at this interval (seconds)', positiveInt('interval'))
      .option('-d, --duration <DURATION>', 'total duration of trace, in seconds', positiveInt('duration'))
      .option('-T, --top <TOP>', 'print only the top syscalls by count or latency', positiveInt('top'), 10)
      .option('-x, --failures', 'trace only failed syscalls (return < 0)')
      .addOption(new Option('-e, --errno <ERRNO>', 'trace only syscalls that return this error (numeric or EPERM, etc.)').argParser(errnoArg))
      .option('-L, --latency', 'collect syscall latency')
      .option('-m, --milliseconds', 'display latency in milliseconds (default: microseconds)')
      .option('-P, --process', 'count by process and not by syscall')
      .option('-l, --list', 'print list of recognized syscalls and exit')
      .option('--syscall <SYSCALL>', 'trace this syscall only (use option -l to get all recognized syscalls)')
      .execFlag()
      .kscopeFlags('report')
      .addOption(new Option('--ebpf').hideHelp()),
  async run(o, io, [command]) {
    if (o.list) {
      io.out(listing());
      return 0;
    }
    if (o.syscall !== undefined && syscallNumber(o.syscall) === undefined) throw new UsageError(`syscount: syscall '${o.syscall}' not found (see syscount -l)`);
    chooseHook('syscount', ['tracepoint'] as const);
    if (o.ebpf) {
      io.out(`${script(o)}\n`);
      return 0;
    }
    if (o.verbose) io.err(`syscount: hooks: tracepoint:raw_syscalls:${o.latency ? 'sys_enter, sys_exit, sched:sched_process_exit' : 'sys_exit'}\n`);
    const cmd = heldCommand('syscount', o, command);
    const interval = o.interval ?? o.duration;
    let seconds = 0;
    let reportedLast = false;
    let timer: NodeJS.Timeout | undefined;
    let finish = (): void => undefined;
    const until = new Promise<void>((resolve) => (finish = resolve));
    const print = (sess: Session, out: ToolIO) => {
      const list = rows(sess.snapshot('@calls'), o.top);
      out.out(o.json ? jsonReport(o, list, new Date()) : report(o, list, new Date()));
      sess.clear('@calls');
    };
    const s = new Session(
      script(o, cmd?.child.pid),
      {
        io,
        verbose: o.verbose,
        onStart: (sess) => {
          if (!o.json)
            io.out(o.syscall !== undefined ? `Tracing ${o.failures ? 'failed ' : ''}syscall '${o.syscall}'... Ctrl+C to quit.\n` : `Tracing ${o.failures ? 'failed ' : ''}syscalls, printing top ${o.top}... Ctrl+C to quit.\n`);
          if (interval)
            timer = setInterval(() => {
              seconds += interval;
              const last = o.duration !== undefined && seconds >= o.duration;
              print(sess, io);
              if (last) {
                reportedLast = true;
                clearInterval(timer);
                finish();
              }
            }, interval * 1000);
          if (cmd) {
            void cmd.exited.then(finish);
            cmd.release();
          }
        },
        onExit: (sess) => {
          clearInterval(timer);
          if (!reportedLast) print(sess, io);
          if (!o.json) io.out('Detaching...\n');
        },
      },
      { until },
    );
    try {
      return await s.run();
    } finally {
      clearInterval(timer);
      if (cmd && cmd.child.exitCode === null) cmd.child.kill();
    }
  },
});
