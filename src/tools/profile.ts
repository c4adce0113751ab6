/**
 * profile: samples stack traces at a timed interval (the cpu-clock software event, as BCC falls back to when the
 * machine has no hardware PMU) and prints each unique stack with its sample count, or folded stacks for flame
 * graphs; kscope adds an interactive SVG flame graph (--svg) and a speedscope file (--speedscope).
 * Kernel side: `profile:hz:N { @samples[kstack, ustack, pid, comm, ...] = count(); }` (see script()); user stacks
 * are symbolised when the report is printed, so a process that exits before then shows `[unknown]` user frames (as
 * with BCC).
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { sprintf, stackBlock } from '../output/bcc.js';
import { formatFolded, type FoldedSample } from '../output/folded.js';
import { flameGraphSvg, parseFolded } from '../output/flamegraph.js';
import { speedscope } from '../output/speedscope.js';
import type { StackValue, Value } from '../output/values.js';
import { Symbolizer } from '../symbols/symbolizer.js';
import { KscopeError } from '../sys/errors.js';
import { chooseHook, defineTool, Option, positiveInt, Session, UsageError } from './tool.js';

interface Opts {
  pid?: string;
  tid?: string;
  userStacksOnly?: boolean;
  kernelStacksOnly?: boolean;
  frequency?: number;
  count?: number;
  delimited?: boolean;
  annotations?: boolean;
  includeIdle?: boolean;
  folded?: boolean;
  hashStorageSize: number;
  stackStorageSize: number;
  cpu: number;
  address?: boolean;
  svg?: string;
  speedscope?: string;
  verbose?: boolean;
  ebpf?: boolean;
}

const EXAMPLES = `
    ./profile             # profile stack traces at 49 Hertz until Ctrl-C
    ./profile -F 99       # profile stack traces at 99 Hertz
    ./profile -c 1000000  # profile stack traces every 1 in a million events
    ./profile 5           # profile at 49 Hertz for 5 seconds only
    ./profile -f 5        # output in folded format for flame graphs
    ./profile -p 185      # only profile process with PID 185
    ./profile -L 185      # only profile thread with TID 185
    ./profile -U          # only show user space stacks (no kernel)
    ./profile -K          # only show kernel space stacks (no user)
    ./profile --svg out.svg 10     # also write an interactive flame graph
    ./profile --speedscope out.json 10  # also write a speedscope profile`;

/** A comma-separated list of positive ids (`-p 12,34`). */
function idList(what: string): (v: string) => string {
  return (v: string) => {
    if (!/^\d+(,\d+)*$/.test(v) || v.split(',').some((x) => Number(x) <= 0)) throw new UsageError(`invalid ${what} value: '${v}'`);
    return v;
  };
}

const PF_KTHREAD = 0x200000;

/**
 * The kernel side, in kscope's language. Besides the stacks, the key records whether each stack could be expected,
 * which tells a failed walk (BCC's `[Missed ... Stack]`) from a stack that does not exist (get_stackid's -EFAULT, which
 * BCC prints nothing for): a kernel stack exists when the sample interrupted kernel mode (x86 CPL 0), a user stack
 * when it interrupted user mode or the task has user memory and is no kernel thread.
 */
export function script(o: Opts): string {
  const conds: string[] = [];
  if (!o.includeIdle) conds.push('tid != 0');
  if (o.pid) conds.push(`(${o.pid.split(',').map((p) => `pid == ${p}`).join(' || ')})`);
  if (o.tid) conds.push(`(${o.tid.split(',').map((t) => `tid == ${t}`).join(' || ')})`);
  if (o.cpu >= 0) conds.push(`cpu == ${o.cpu}`);
  const kmode = '(reg("cs") & 3) == 0';
  const keys = [
    ...(o.userStacksOnly ? [] : ['kstack']),
    ...(o.kernelStacksOnly ? [] : ['ustack']),
    'pid',
    'comm',
    ...(o.userStacksOnly ? [] : [kmode]),
    ...(o.kernelStacksOnly ? [] : [`!(${kmode}) || (curtask->mm != 0 && (curtask->flags & ${PF_KTHREAD}) == 0)`]),
  ];
  const rate = o.count ? `ns:${o.count}` : `hz:${o.frequency ?? 49}`;
  return `config = { max_map_keys = ${o.hashStorageSize} }
profile:${rate}${conds.length ? ` /${conds.join(' && ')}/` : ''} {
  @samples[${keys.join(', ')}] = count();
}`;
}

/** One aggregated sample as the map holds it; `kernelMissed`/`userMissed`: a stack was expected but not recorded. */
interface Sample {
  kernel?: bigint[];
  user?: bigint[];
  kernelMissed: boolean;
  userMissed: boolean;
  pid: number;
  comm: string;
  count: bigint;
}

/** Reads the samples map into {@link Sample}s (key layout as in {@link script}). */
function samples(s: Session, o: Opts): Sample[] {
  const snap = s.snapshot('@samples');
  if (!snap) return [];
  return snap.entries.map((e) => {
    const k = (e.key as { items: Value[] }).items;
    let i = 0;
    const addrs = () => (k[i++] as StackValue).addrs ?? [];
    const kernel = o.userStacksOnly ? undefined : addrs();
    const user = o.kernelStacksOnly ? undefined : addrs();
    const [pid, comm] = [Number(k[i++] as bigint), k[i++] as string];
    const expected = () => k[i++] === true;
    const kernelMissed = kernel !== undefined && expected() && !kernel.length;
    const userMissed = user !== undefined && expected() && !user.length;
    return { kernel, user, kernelMissed, userMissed, pid, comm, count: e.value as bigint };
  });
}

const MISSED_KERNEL = '[Missed Kernel Stack]';
const MISSED_USER = '[Missed User Stack]';

/** BCC's symbol text: `name+0xoff [module]` (multi-line output), the bare name (folded), `[unknown]` when none. */
class Frames {
  private readonly sym = new Symbolizer();
  constructor(private readonly o: Opts) {}
  kernel(a: bigint, full: boolean): string {
    const loc = this.sym.kernelSymbol(a);
    const name = !loc ? '[unknown]' : full ? `${loc.name}+0x${loc.offset.toString(16)} [${loc.module ?? 'kernel'}]` : loc.name;
    return this.o.address && full ? `${sprintf('0x%-16x', a)} ${name}` : name;
  }
  user(pid: number, a: bigint, full: boolean): string {
    const loc = this.sym.userSymbol(pid, a);
    const name = !loc ? '[unknown]' : full ? `${loc.name}+0x${loc.offset.toString(16)} [${basename(loc.module)}]` : loc.name;
    return this.o.address && full ? `${sprintf('0x%016x', a)} ${name}` : name;
  }
}

/** Folded samples with bare names (stdout -f, and the source of the SVG and speedscope files). */
function folded(list: Sample[], o: Opts, f: Frames): FoldedSample[] {
  return list.map((x) => ({
    comm: x.comm,
    kernel: x.kernelMissed ? [MISSED_KERNEL] : x.kernel?.map((a) => f.kernel(a, false)),
    user: x.userMissed ? [MISSED_USER] : x.user?.map((a) => f.user(x.pid, a, false)),
    delimiter: !!o.delimited && !!x.kernel?.length && !!x.user?.length,
    annotateKernel: o.annotations && !x.kernelMissed,
    count: x.count,
  }));
}

function banner(o: Opts, duration: number | undefined): string {
  const rate = o.count ? `every ${o.count} events` : `${o.frequency ?? 49} Hertz`;
  const who = o.pid ? `PID ${o.pid}` : o.tid ? `TID ${o.tid}` : 'all threads';
  const what = o.userStacksOnly ? 'user' : o.kernelStacksOnly ? 'kernel' : 'user + kernel';
  const cpu = o.cpu >= 0 ? ` on CPU#${o.cpu}` : '';
  return `Sampling at ${rate} of ${who} by ${what} stack${cpu}${duration !== undefined ? ` for ${duration} secs.` : '... Hit Ctrl-C to end.'}\n`;
}

export const profile = defineTool<Opts, [number?]>({
  name: 'profile',
  summary: 'Profile CPU stack traces at a timed interval',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-p, --pid <PID>', 'profile process with one or more comma separated PIDs only', idList('pid'))
      .option('-L, --tid <TID>', 'profile thread with one or more comma separated TIDs only', idList('tid'))
      .option('-U, --user-stacks-only', 'show stacks from user space only (no kernel space stacks)')
      .option('-K, --kernel-stacks-only', 'show stacks from kernel space only (no user space stacks)')
      .option('-F, --frequency <FREQUENCY>', 'sample frequency, Hertz', positiveInt('frequency'))
      .option('-c, --count <COUNT>', 'sample period, number of events', positiveInt('count'))
      .option('-d, --delimited', 'insert delimiter between kernel/user stacks')
      .option('-a, --annotations', 'add _[k] annotations to kernel frames')
      .option('-I, --include-idle', 'include CPU idle stacks')
      .option('-f, --folded', 'output folded format, one line per stack (for flame graphs)')
      .option('--hash-storage-size <HASH_STORAGE_SIZE>', 'the number of hash keys that can be stored and (default 40960)', positiveInt('hash-storage-size'), 40960)
      .option('--stack-storage-size <STACK_STORAGE_SIZE>', 'the number of unique stack traces that can be stored and displayed (default 16384)', positiveInt('stack-storage-size'), 16384)
      .option('-C, --cpu <CPU>', 'cpu number to run profile on', (v) => {
        if (!/^\d+$/.test(v)) throw new UsageError(`invalid cpu value: '${v}'`);
        return Number(v);
      }, -1)
      .option('-A, --address', 'show raw addresses')
      .option('--svg <FILE>', 'also write an interactive flame graph SVG to FILE (kscope addition)')
      .option('--speedscope <FILE>', 'also write the profile in speedscope JSON format to FILE (kscope addition)')
      .kscopeFlags()
      .addOption(new Option('--ebpf').hideHelp())
      .argument('[duration]', 'duration of trace, in seconds', positiveInt('duration'))
      .exclusive('--pid', '--tid')
      .exclusive('--user-stacks-only', '--kernel-stacks-only')
      .exclusive('--frequency', '--count'),
  async run(o, io, [duration], argv) {
    if (o.ebpf) {
      io.out(script(o));
      return 0;
    }
    chooseHook('profile', ['perf_event'] as const);
    if (o.verbose) io.err(`profile: hooks: perf_event software cpu-clock (${o.count ? `period ${o.count}` : `${o.frequency ?? 49} Hz`}) on every CPU, stack map\n`);
    let timer: NodeJS.Timeout | undefined;
    const s = new Session(script(o), {
      io,
      verbose: o.verbose,
      onStart: (sess) => {
        if (!o.folded) io.out(banner(o, duration));
        if (duration) timer = setTimeout(() => sess.stop(), duration * 1000);
      },
      onExit: (sess) => {
        clearTimeout(timer);
        process.on('SIGINT', ignore); // BCC ignores Ctrl-C while printing
        try {
          report(samples(sess, o));
        } finally {
          process.off('SIGINT', ignore);
        }
      },
    }, { stackMapEntries: o.stackStorageSize });
    const report = (list: Sample[]) => {
      const f = new Frames(o);
      const fold = folded(list, o, f);
      const text = formatFolded(fold);
      if (o.folded) io.out(text);
      else {
        io.out('\n');
        const sorted = [...list].sort((a, b) => (a.count < b.count ? -1 : a.count > b.count ? 1 : 0));
        for (const x of sorted) {
          const kernel = x.kernelMissed ? [MISSED_KERNEL] : (x.kernel?.map((a) => f.kernel(a, true)) ?? []);
          const user = x.userMissed ? [MISSED_USER] : (x.user?.map((a) => f.user(x.pid, a, true)) ?? []);
          io.out(stackBlock({ kernel, user, delimiter: !!o.delimited && !!x.kernel?.length && !!x.user?.length, comm: x.comm, pid: x.pid, count: x.count }));
        }
      }
      const missing = list.reduce((n, x) => n + Number(x.kernelMissed) + Number(x.userMissed), 0);
      if (missing) io.err(`WARNING: ${missing} stack traces could not be displayed.\n`);
      if (list.length >= o.hashStorageSize) io.err('WARNING: hash table full. Consider increasing --hash-storage-size.\n');
      const stacks = parseFolded(text);
      try {
        if (o.svg) writeFileSync(o.svg, flameGraphSvg(stacks, { title: o.kernelStacksOnly ? 'Kernel Flame Graph' : 'CPU Flame Graph' }));
        if (o.speedscope) writeFileSync(o.speedscope, JSON.stringify(speedscope(stacks, `kscope profile ${argv.join(' ')}`.trim())));
      } catch (e) {
        throw new KscopeError(`profile: cannot write the output file: ${(e as Error).message}`);
      }
    };
    return s.run();
  },
});

const ignore = (): void => undefined;
