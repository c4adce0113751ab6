/**
 * execsnoop: trace new processes via exec() syscalls, one line per exec as it returns. Hooks: the syscall
 * tracepoints sys_enter_execve/sys_exit_execve and sys_enter_execveat/sys_exit_execveat on every kernel (BCC uses a
 * kprobe/kretprobe pair on the execve syscall function; the tracepoints see the same calls, plus execveat, and lose
 * nothing). The kernel side sends the file name and each argv element as its own event, then the return event;
 * user space joins them by pid.
 */
import { readFileSync } from 'node:fs';
import { sprintf } from '../output/bcc.js';
import { strftime } from '../output/strftime.js';
import type { Value } from '../output/values.js';
import { chooseHook, defineTool, Option, positiveInt, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  time?: boolean;
  timestamp?: boolean;
  fails?: boolean;
  uid?: number;
  quote?: boolean;
  name?: string;
  line?: string;
  printUid?: boolean;
  printCpu?: boolean;
  printPcomm?: boolean;
  maxArgs?: number;
  ppid?: number;
}

const EXAMPLES = `
    ./execsnoop                      # trace all exec() syscalls
    ./execsnoop -x                   # include failed exec()s
    ./execsnoop -T                   # include time (HH:MM:SS)
    ./execsnoop -P 181               # only trace new processes whose parent PID is 181
    ./execsnoop -U                   # include UID
    ./execsnoop -C                   # include CPU
    ./execsnoop -M                   # include PCOMM
    ./execsnoop -u 1000              # only trace UID 1000
    ./execsnoop -u user              # get user UID and trace only them
    ./execsnoop -t                   # include timestamps
    ./execsnoop -q                   # add "quotemarks" around arguments
    ./execsnoop -n main              # only print command lines containing "main"
    ./execsnoop -l tpkg              # only print command where arguments contains "tpkg"`;

/** Event names: one `ARG` per file name / argv element, then one `RET` when the exec returns. */
const ARG = 'ARG %d %s';
const RET = 'RET %d %d %d %d %d %s %s';

/** The kernel side, in kscope's language. Each argv element is read through its user pointer (128 bytes at most). */
export function script(o: Pick<Opts, 'uid' | 'ppid' | 'maxArgs'>): string {
  const filters = [o.uid !== undefined ? `uid == ${o.uid}` : '', o.ppid !== undefined ? `curtask->real_parent->tgid == ${o.ppid}` : ''].filter(Boolean);
  const pred = filters.length ? ` /${filters.join(' && ')}/` : '';
  const max = o.maxArgs ?? 20;
  return `
config = { max_strlen = 129 }
tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat${pred} {
  printf("${ARG}", pid, str(args->filename));
  $i = 1;
  while ($i < ${max}) {
    $p = *(args->argv + 8 * $i);
    if ($p == 0) { break; }
    printf("${ARG}", pid, str(uptr($p)));
    $i++;
  }
  if ($i == ${max} && *(args->argv + 8 * $i) != 0) { printf("${ARG}", pid, "..."); }
}
tracepoint:syscalls:sys_exit_execve, tracepoint:syscalls:sys_exit_execveat${pred} {
  printf("${RET}", pid, curtask->real_parent->tgid, uid, cpu, args->ret, comm, curtask->real_parent->comm);
}`;
}

/** BCC's `-u USER`: a number, or a user name looked up in /etc/passwd. */
function parseUid(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === v);
  if (!line) throw new UsageError(`execsnoop: argument -u/--uid: '${v}' is not valid UID or user entry`);
  return Number(line.split(':')[2]);
}

function regex(what: string): (v: string) => RegExp {
  return (v) => {
    try {
      return new RegExp(v);
    } catch {
      throw new UsageError(`execsnoop: argument ${what}: invalid regular expression '${v}'`);
    }
  };
}

/** One exec as printed: the event fields plus its argv (file name first). */
export interface ExecEvent {
  pid: number;
  ppid: number;
  uid: number;
  cpu: number;
  ret: number;
  comm: string;
  pcomm: string;
  args: string[];
}

/** The header line for these options (BCC's column layout). */
export function header(o: Partial<Opts>): string {
  return (
    (o.time ? sprintf('%-9s', 'TIME') : '') +
    (o.timestamp ? sprintf('%-8s', 'TIME(s)') : '') +
    (o.printUid ? sprintf('%-6s', 'UID') : '') +
    sprintf('%-16s %-7s ', 'COMM', 'PID') +
    (o.printPcomm ? sprintf('%-16s ', 'PCOMM') : '') +
    sprintf('%-7s ', 'PPID') +
    (o.printCpu ? sprintf('%-4s ', 'CPU') : '') +
    sprintf('%3s %s', 'RET', 'ARGS') +
    '\n'
  );
}

/** The argv text: elements joined by spaces (each quoted with -q), newlines shown as `\n`. */
export function argsText(args: string[], quote = false): string {
  return (quote ? args.map((a) => `"${a.replaceAll('"', '\\"')}"`) : args).join(' ').replaceAll('\n', '\\n');
}

/** One row for these options; `now` is the wall clock, `secs` the seconds since the tool started. */
export function row(o: Partial<Opts>, e: ExecEvent, now: Date, secs: number): string {
  return (
    (o.time ? sprintf('%-9s', strftime('%H:%M:%S', now)) : '') +
    (o.timestamp ? sprintf('%-8.3f', secs) : '') +
    (o.printUid ? sprintf('%-6d', e.uid) : '') +
    sprintf('%-16s %-7d ', e.comm, e.pid) +
    (o.printPcomm ? sprintf('%-16s ', e.pcomm) : '') +
    sprintf('%-7s ', e.ppid > 0 ? String(e.ppid) : '?') +
    (o.printCpu ? sprintf('%-4d ', e.cpu) : '') +
    sprintf('%3d %s', e.ret, argsText(e.args, o.quote)) +
    '\n'
  );
}

export const execsnoop = defineTool<Opts & { name?: RegExp; line?: RegExp }>({
  name: 'execsnoop',
  summary: 'Trace exec() syscalls',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-T, --time', 'include time column on output (HH:MM:SS)')
      .timestampFlag('-t')
      .option('-x, --fails', 'include failed exec()s')
      .addOption(new Option('-u, --uid <USER>', 'trace this UID only').argParser(parseUid))
      .option('-q, --quote', 'Add quotemarks (") around arguments.')
      .addOption(new Option('-n, --name <NAME>', 'only print commands matching this name (regex), any arg').argParser(regex('-n/--name')))
      .addOption(new Option('-l, --line <LINE>', 'only print commands where arg contains this line (regex)').argParser(regex('-l/--line')))
      .option('-U, --print-uid', 'print UID column')
      .option('-C, --print-cpu', 'print CPU column')
      .option('-M, --print-pcomm', 'print parent command')
      .option('--max-args <MAX_ARGS>', 'maximum number of arguments parsed and displayed, defaults to 20', positiveInt('max-args'))
      .option('-P, --ppid <PPID>', 'trace this parent PID only', positiveInt('ppid'))
      .kscopeFlags('exec'),
  async run(o, io) {
    chooseHook('execsnoop', ['tracepoint']);
    if (o.verbose) io.err('execsnoop: hooks: tracepoint:syscalls:sys_enter_execve, sys_exit_execve, sys_enter_execveat, sys_exit_execveat (BCC: kprobe/kretprobe on the execve syscall function; the tracepoints exist on every kernel and also see execveat)\n');
    const pending = new Map<number, string[]>();
    let start = 0;
    const onExec = (e: ExecEvent) => {
      if (e.ret !== 0 && !o.fails) return;
      if (o.name && !o.name.test(e.comm)) return;
      if (o.line && !o.line.test(e.args.join(' '))) return;
      const now = new Date();
      const secs = (now.getTime() - start) / 1000;
      if (o.json) io.out(`${JSON.stringify({ time: strftime('%H:%M:%S', now), ts: Number(secs.toFixed(3)), ...e })}\n`);
      else io.out(row(o, e, now, secs));
    };
    const s = new Session(
      script(o),
      {
        io,
        verbose: o.verbose,
        onStart: () => {
          start = Date.now();
          if (!o.json) io.out(header(o));
        },
        onEvent: (format: string, v: Value[]) => {
          const pid = Number(v[0]);
          if (format === ARG) {
            const list = pending.get(pid) ?? [];
            list.push(String(v[1]));
            pending.set(pid, list);
            return;
          }
          const [, ppid, uid, cpu, ret, comm, pcomm] = v;
          onExec({ pid, ppid: Number(ppid), uid: Number(uid), cpu: Number(cpu), ret: Number(ret), comm: String(comm), pcomm: String(pcomm), args: pending.get(pid) ?? [] });
          pending.delete(pid);
        },
      },
    );
    return s.run();
  },
});
