/**
 * runqlat: run queue (scheduler) latency as a histogram — time from wake-up (or preemption while runnable) until
 * the task runs. Hooks: sched_wakeup, sched_wakeup_new and sched_switch as typed raw tracepoints (tp_btf, as BCC
 * and libbpf-tools), or as classic tracepoints on kernels without BTF.
 */
import { log2Hist, sectionedHist } from '../output/bcc.js';
import { Btf } from '../btf/btf.js';
import { bccSlots, chooseHook, defineTool, reportLoop, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  timestamp?: boolean;
  milliseconds?: boolean;
  pids?: boolean;
  tids?: boolean;
  pidnss?: boolean;
  pid?: number;
}

const EXAMPLES = `
    ./runqlat            # summarize run queue latency as a histogram
    ./runqlat 1 10       # print 1 second summaries, 10 times
    ./runqlat -mT 1      # 1s summaries, milliseconds, and timestamps
    ./runqlat -P         # show each PID separately
    ./runqlat -p 185     # trace PID 185 only`;

/** The kernel side on typed raw tracepoints (tp_btf): the task structs give each thread's process directly. */
function btfScript(o: Opts): string {
  const unit = o.milliseconds ? 1000000 : 1000;
  const key = o.pids ? '$next->tgid' : o.tids ? '$next->pid' : o.pidnss ? '$next->nsproxy->pid_ns_for_children->ns.inum' : '';
  const ok = (t: string) => `${t}->pid != 0${o.pid !== undefined ? ` && ${t}->tgid == ${o.pid}` : ''}`;
  // sched_switch gained prev_state in 5.18; before that the state is read from the task
  const prevState = Btf.vmlinux().tracepointArgs('sched_switch').some((a) => a.name === 'prev_state') ? 'args.prev_state' : '$prev->__state';
  return `
rawtracepoint:sched_wakeup, rawtracepoint:sched_wakeup_new {
  $p = args.p;
  if (${ok('$p')}) { @start[$p->pid] = nsecs; }
}
rawtracepoint:sched_switch {
  $prev = args.prev;
  $next = args.next;
  // a task preempted while runnable goes straight back to the run queue
  if (${prevState} == 0 && ${ok('$prev')}) { @start[$prev->pid] = nsecs; }
  $ts = @start[$next->pid];
  if ($ts != 0) {
    // unsigned division: kscope divides signed operands with BPF sdiv, which kernels before 6.6 reject
    @dist${key ? `[${key}]` : ''} = hist((uint64)(nsecs - $ts) / (uint64)${unit});
    delete(@start[$next->pid]);
  }
}`;
}

/**
 * The kernel side on classic tracepoints, for kernels without BTF: they carry thread ids only, so -P/-p learn each
 * thread's process from the last time it ran (a thread's first wake-up after start is attributed once it has run).
 */
function tracepointScript(o: Opts): string {
  const unit = o.milliseconds ? 1000000 : 1000;
  const key = o.pids ? '@tgid[args->next_pid]' : o.tids ? 'args->next_pid' : o.pidnss ? '@pidns[args->next_pid]' : '';
  const filter = o.pid !== undefined ? ` && @tgid[$tid] == ${o.pid}` : '';
  return `
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new {
  $tid = args->pid;
  if ($tid != 0${filter}) { @start[$tid] = nsecs; }
}
tracepoint:sched:sched_switch {
  @tgid[args->prev_pid] = pid;
  ${o.pidnss ? '@pidns[args->prev_pid] = curtask->nsproxy->pid_ns_for_children->ns.inum;' : ''}
  $tid = args->prev_pid;
  if (args->prev_state == 0 && $tid != 0${filter}) { @start[$tid] = nsecs; }
  $ts = @start[args->next_pid];
  if ($ts != 0) {
    // unsigned division: kscope divides signed operands with BPF sdiv, which kernels before 6.6 reject
    @dist${key ? `[${key}]` : ''} = hist((uint64)(nsecs - $ts) / (uint64)${unit});
    delete(@start[args->next_pid]);
  }
}`;
}

/** The kernel side for the best hook this kernel offers. */
export function script(o: Opts, hook = chooseHook('runqlat', ['tp_btf', 'tracepoint'] as const)): string {
  return hook === 'tp_btf' ? btfScript(o) : tracepointScript(o);
}

export const runqlat = defineTool<Opts, [number?, number?]>({
  name: 'runqlat',
  summary: 'Summarize run queue (scheduler) latency as a histogram',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .timestampFlag()
      .millisecondsFlag()
      .option('-P, --pids', 'print a histogram per process ID')
      .option('--pidnss', 'print a histogram per PID namespace')
      .option('-L, --tids', 'print a histogram per thread ID')
      .pidFlag()
      .kscopeFlags('report')
      .intervalCountArgs(),
  async run(o, io, [interval, count]) {
    if ([o.pids, o.tids, o.pidnss].filter(Boolean).length > 1) throw new UsageError('runqlat: -P, -L and --pidnss cannot be used together');
    const label = o.milliseconds ? 'msecs' : 'usecs';
    const section = o.pids ? 'pid' : o.tids ? 'tid' : o.pidnss ? 'pidns' : undefined;
    const hook = chooseHook('runqlat', ['tp_btf', 'tracepoint'] as const);
    if (o.verbose) io.err(`runqlat: hooks: ${hook === 'tp_btf' ? 'tp_btf' : 'tracepoint'} sched_wakeup, sched_wakeup_new, sched_switch\n`);
    let loop: { final(): void } | undefined;
    const s = new Session(script(o, hook), {
      io,
      verbose: o.verbose,
      onStart: (sess) => {
        io.out('Tracing run queue latency... Hit Ctrl-C to end.\n');
        loop = reportLoop(sess, { interval, count, timestamp: o.timestamp, io, report: () => report(sess), clear: () => sess.clear('@dist') });
      },
      onExit: () => loop?.final(),
    });
    const report = (sess: Session) => {
      const snap = sess.snapshot('@dist');
      const entries = snap && snap.kind === 'hist' ? snap.entries : [];
      if (o.json) {
        const rows = entries.map((e) => ({ [section ?? 'all']: e.key === undefined ? undefined : String(e.key), [label]: bccSlots(e.value).map(String) }));
        io.out(JSON.stringify({ time: new Date().toISOString(), unit: label, histograms: rows }) + '\n');
        return;
      }
      if (!section) io.out(log2Hist(entries[0] ? bccSlots(entries[0].value) : [], label));
      else {
        const sorted = [...entries].sort((a, b) => (BigInt(a.key as bigint) < BigInt(b.key as bigint) ? -1 : 1));
        io.out(sectionedHist(sorted.map((e) => ({ label: String(e.key), vals: bccSlots(e.value) })), section, label));
      }
    };
    return s.run();
  },
});
