/**
 * opensnoop: trace open(), openat() and openat2() system calls, one line per call as it returns. Hooks: the syscall
 * tracepoints sys_enter_/sys_exit_{open,openat,openat2} on every kernel (BCC uses fexit, else a kprobe/kretprobe
 * pair, on the syscall functions; the tracepoints see the same calls). The entry hook keeps the file name pointer,
 * flags and mode by thread; the exit hook reads the name (after the kernel has, so its page is present) and sends
 * the event. -F walks the task's working directory up to the root, one event per component, before the event.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RING_BYTES } from '../lang/runtime.js';
import { sprintf } from '../output/bcc.js';
import type { Value } from '../output/values.js';
import { tracefs } from '../sys/mount.js';
import { chooseHook, defineTool, heldCommand, Option, positiveInt, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  timestamp?: boolean;
  printUid?: boolean;
  failed?: boolean;
  pid?: number;
  tid?: number;
  uid?: number;
  duration?: number;
  name?: string;
  extended_fields?: boolean;
  flag_filter?: string[];
  fullPath?: boolean;
  bufferPages?: number;
  exec?: boolean;
  ebpf?: boolean;
}

const EXAMPLES = `
    ./opensnoop                        # trace all open() syscalls
    ./opensnoop -T                     # include timestamps
    ./opensnoop -U                     # include UID
    ./opensnoop -x                     # only show failed opens
    ./opensnoop -p 181                 # only trace PID 181
    ./opensnoop -t 123                 # only trace TID 123
    ./opensnoop -u 1000                # only trace UID 1000
    ./opensnoop -d 10                  # trace for 10 seconds only
    ./opensnoop -n main                # only print process names containing "main"
    ./opensnoop -e                     # show extended fields
    ./opensnoop -f O_WRONLY -f O_RDWR  # only print calls for writing
    ./opensnoop -F                     # show full path for an open file with relative path
    ./opensnoop --exec ls -l /tmp      # run a command and trace only it`;

/** Linux x86_64 open flags, by the names Python's `os` module gives them (BCC's -f takes `os.O_*` names). */
export const OPEN_FLAGS: Readonly<Record<string, number>> = {
  O_RDONLY: 0,
  O_WRONLY: 0o1,
  O_RDWR: 0o2,
  O_ACCMODE: 0o3,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_NDELAY: 0o4000,
  O_DSYNC: 0o10000,
  O_ASYNC: 0o20000,
  O_DIRECT: 0o40000,
  O_LARGEFILE: 0,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000,
  O_SYNC: 0o4010000,
  O_RSYNC: 0o4010000,
  O_FSYNC: 0o4010000,
  O_PATH: 0o10000000,
  O_TMPFILE: 0o20200000,
};
const O_CREAT = OPEN_FLAGS.O_CREAT!;
const O_TMPFILE = OPEN_FLAGS.O_TMPFILE!;

/** printf formats: the event kinds the kernel side sends */
const OPEN = 'open %u %d %d %d %d %u %u %s %s';
const DIR = 'dir %d %s';
/** BCC reads at most NAME_MAX (255) bytes of a name: 254 characters */
const NAME_BYTES = 255;
/** BCC's MAX_ENTRIES: the file name and up to 31 directories above it */
const MAX_DIRS = 31;

/** The -f names as one mask (O_RDONLY, which is 0, matches the calls whose access mode is read-only). */
export function flagMask(names: string[]): { mask: number; rdonly: boolean } {
  let mask = 0;
  let rdonly = false;
  for (const n of names) {
    const v = n.startsWith('O_') ? OPEN_FLAGS[n] : undefined;
    if (v === undefined) throw new UsageError(`opensnoop: Bad flag: ${n}`);
    if (n === 'O_RDONLY') rdonly = true;
    mask |= v;
  }
  return { mask, rdonly };
}

/** The syscalls traced here: open (absent on some architectures) and openat2 (Linux 5.6+) only where they exist. */
function syscalls(): ('open' | 'openat' | 'openat2')[] {
  const has = (n: string) => existsSync(join(tracefs(), 'events', 'syscalls', `sys_enter_${n}`));
  return (['open', 'openat', 'openat2'] as const).filter((n) => n === 'openat' || has(n));
}

/** The kernel side, in kscope's language; `pid` is the --exec command's when given. */
export function script(o: Opts, calls: readonly string[], pid = o.pid): string {
  const filters = [o.tid !== undefined ? `tid == ${o.tid}` : pid !== undefined ? `pid == ${pid}` : '', o.uid !== undefined ? `uid == ${o.uid}` : ''].filter(Boolean);
  const pred = filters.length ? ` /${filters.join(' && ')}/` : '';
  const enter = (call: string) =>
    call === 'openat2'
      ? `tracepoint:syscalls:sys_enter_openat2${pred} { @args[tid] = ((uint64)args->filename, (uint64)0, (uint64)0, (uint64)args->how); }`
      : `tracepoint:syscalls:sys_enter_${call}${pred} { @args[tid] = ((uint64)args->filename, (uint64)args->flags, (uint64)args->mode, (uint64)0); }`;
  const f = o.flag_filter?.length ? flagMask(o.flag_filter) : undefined;
  const flagTest = f ? [f.mask ? `($flags & ${f.mask}) != 0` : '', f.rdonly ? '($flags & 3) == 0' : ''].filter(Boolean).join(' || ') : '';
  // the working directory's components, leaf first, crossing mount points as d_path does
  const walk = `
    if (str(uptr($a.0), 2) != "/") {
      $d = curtask->fs->pwd.dentry;
      $vm = curtask->fs->pwd.mnt;
      $m = (struct mount *)((uint64)$vm - offsetof(struct mount, mnt));
      $i = 0;
      while ($i < ${MAX_DIRS}) {
        printf("${DIR}", tid, str($d->d_name.name));
        if ($d == $d->d_parent || $d == $vm->mnt_root) {
          if ($m == $m->mnt_parent) { break; }
          $d = $m->mnt_mountpoint;
          $m = $m->mnt_parent;
          $vm = (struct vfsmount *)((uint64)$m + offsetof(struct mount, mnt));
        } else {
          $d = $d->d_parent;
        }
        $i++;
      }
    }`;
  const emit = `${o.fullPath ? walk : ''}
    printf("${OPEN}", nsecs, pid, tid, uid, args->ret, $flags, $mode, comm, str(uptr($a.0)));`;
  return `config = { max_strlen = ${NAME_BYTES} }
${calls.map(enter).join('\n')}
${calls.map((c) => `tracepoint:syscalls:sys_exit_${c}`).join(', ')}${pred} {
  if (has_key(@args, tid)) {
    $a = @args[tid];
    delete(@args[tid]);
    // openat2: flags and mode are the first two u64 of the user's struct open_how
    $flags = $a.3 != 0 ? *uptr($a.3) : $a.1;
    $mode = $a.3 != 0 ? *uptr($a.3 + 8) : $a.2;${flagTest ? `\n    if (${flagTest}) {${emit.replace(/\n/g, '\n  ')}\n    }` : emit}
  }
}`;
}

/** One open as printed. */
export interface OpenEvent {
  /** microseconds, kernel monotonic clock (as BCC's event.ts) */
  tsUs: bigint;
  pid: number;
  tid: number;
  uid: number;
  ret: number;
  flags: number;
  mode: number;
  comm: string;
  path: string;
}

/** The header line for these options (BCC's layout). */
export function header(o: Partial<Opts>): string {
  return (
    (o.timestamp ? sprintf('%-14s', 'TIME(s)') : '') +
    (o.printUid ? sprintf('%-6s', 'UID') : '') +
    sprintf('%-6s %-16s %4s %3s ', o.tid !== undefined ? 'TID' : 'PID', 'COMM', 'FD', 'ERR') +
    (o.extended_fields ? sprintf('%-8s %-4s ', 'FLAGS', 'MODE') : '') +
    'PATH\n'
  );
}

/** The mode as BCC shows it: only when O_CREAT or O_TMPFILE make the kernel use it, else undefined (`n/a`). */
export function modeOf(e: Pick<OpenEvent, 'flags' | 'mode'>): number | undefined {
  return e.flags & O_CREAT || (e.flags & O_TMPFILE) === O_TMPFILE ? e.mode : undefined;
}

/** One row for these options; `sinceUs` is the time since the first event. */
export function row(o: Partial<Opts>, e: OpenEvent, sinceUs: bigint): string {
  const mode = modeOf(e);
  return (
    (o.timestamp ? sprintf('%-14.9f', Number(sinceUs) / 1e6) : '') +
    (o.printUid ? sprintf('%-6d', e.uid) : '') +
    sprintf('%-6d %-16s %4d %3d ', o.tid !== undefined ? e.tid : e.pid, e.comm, e.ret >= 0 ? e.ret : -1, e.ret >= 0 ? 0 : -e.ret) +
    (o.extended_fields ? (mode === undefined ? sprintf('%08o n/a  ', e.flags) : sprintf('%08o %04o ', e.flags, mode)) : '') +
    `${e.path}\n`
  );
}

/** -F: the file name prefixed with the working directory's components (leaf first, as the kernel sent them). */
export function fullPath(name: string, dirsLeafFirst: string[]): string {
  const joined = [name, ...dirsLeafFirst]
    .filter((s) => s !== '/' && s !== '')
    .reverse()
    .join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

/** A uid: 0 or a positive integer. */
function uidArg(v: string): number {
  return v === '0' ? 0 : positiveInt('uid')(v);
}

/** A ring buffer size in pages: a power of two. */
function pagesArg(v: string): number {
  const n = positiveInt('buffer-pages')(v);
  if (n & (n - 1)) throw new UsageError(`invalid buffer-pages value: '${v}' (must be a power of two)`);
  return n;
}

export const opensnoop = defineTool<Opts, [string[]]>({
  name: 'opensnoop',
  summary: 'Trace open() syscalls',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-T, --timestamp', 'include timestamp on output')
      .option('-U, --print-uid', 'print UID column')
      .option('-x, --failed', 'only show failed opens')
      .option('-p, --pid <PID>', 'trace this PID only', positiveInt('pid'))
      .option('-t, --tid <TID>', 'trace this TID only', positiveInt('tid'))
      .option('-u, --uid <UID>', 'trace this UID only', uidArg)
      .option('-d, --duration <DURATION>', 'total duration of trace in seconds', positiveInt('duration'))
      .option('-n, --name <NAME>', 'only print process names containing this name')
      .option('-e, --extended_fields', 'show extended fields')
      .option('-f, --flag_filter <FLAG_FILTER>', 'filter on flags argument (e.g., O_WRONLY)', (v: string, prev: string[] = []) => (flagMask([v]), [...prev, v]))
      .option('-F, --full-path', 'show full path for an open file with relative path')
      .option('-b, --buffer-pages <BUFFER_PAGES>', `size of the ring buffer (must be a power of two number of pages; kscope default: ${DEFAULT_RING_BYTES / 4096})`, pagesArg)
      .execFlag()
      .kscopeFlags('open')
      .addOption(new Option('--ebpf').hideHelp()),
  async run(o, io, [command]) {
    chooseHook('opensnoop', ['tracepoint'] as const);
    const calls = syscalls();
    if (o.ebpf) {
      io.out(`${script(o, calls)}\n`);
      return 0;
    }
    if (o.verbose)
      io.err(`opensnoop: hooks: tracepoint:syscalls:${calls.map((c) => `sys_enter_${c}, sys_exit_${c}`).join(', ')} (BCC: fexit or kprobe/kretprobe on the syscall functions)\n`);
    const cmd = heldCommand('opensnoop', o, command);
    let first: bigint | undefined;
    const dirs = new Map<number, string[]>();
    const onOpen = (e: OpenEvent) => {
      first ??= e.tsUs;
      if (o.failed && e.ret >= 0) return;
      if (o.name && !e.comm.includes(o.name)) return;
      if (o.json) {
        const mode = modeOf(e);
        io.out(`${JSON.stringify({ ts: Number(e.tsUs - first) / 1e6, uid: e.uid, pid: e.pid, tid: e.tid, comm: e.comm, fd: e.ret >= 0 ? e.ret : -1, err: e.ret >= 0 ? 0 : -e.ret, flags: e.flags, mode: mode ?? null, path: e.path })}\n`);
      } else io.out(row(o, e, e.tsUs - first));
    };
    // the end of -d or of the --exec command: the runtime then detaches and still reads the events sent until then
    let timer: NodeJS.Timeout | undefined;
    let finish = (): void => undefined;
    const until = new Promise<void>((resolve) => (finish = resolve));
    const s = new Session(
      script(o, calls, cmd?.child.pid),
      {
        io,
        verbose: o.verbose,
        onStart: () => {
          if (!o.json) io.out(header(o));
          if (o.duration) timer = setTimeout(finish, o.duration * 1000);
          if (cmd) {
            void cmd.exited.then(finish);
            cmd.release();
          }
        },
        onEvent: (format: string, v: Value[]) => {
          if (format === DIR) {
            const list = dirs.get(Number(v[0])) ?? [];
            list.push(String(v[1]));
            dirs.set(Number(v[0]), list);
            return;
          }
          const [ns, pid, tid, uid, ret, flags, mode, comm, name] = v;
          const path = o.fullPath ? fullPath(String(name), dirs.get(Number(tid)) ?? []) : String(name);
          dirs.delete(Number(tid));
          onOpen({ tsUs: (ns as bigint) / 1000n, pid: Number(pid), tid: Number(tid), uid: Number(uid), ret: Number(ret), flags: Number(flags), mode: Number(mode), comm: String(comm), path });
        },
      },
      { until, ...(o.bufferPages ? { ringBytes: o.bufferPages * 4096 } : {}) },
    );
    try {
      return await s.run();
    } finally {
      clearTimeout(timer);
      if (cmd && cmd.child.exitCode === null) cmd.child.kill();
    }
  },
});
