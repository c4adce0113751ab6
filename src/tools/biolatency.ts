/**
 * biolatency: block device I/O latency as a histogram — from issue to the device (or, with -Q, from the request's
 * creation) until completion. Hooks (see BlockHooks): raw tracepoints block_rq_issue → block_rq_complete (-Q:
 * block_io_start, or block_rq_insert before 6.5) keyed by the request pointer, with the exact cmd_flags for -F; else
 * the classic block tracepoints keyed by (dev, sector), -F then from the rwbs text (operation, Sync, Metadata, FUA,
 * ReadAhead only). BCC prefers kprobes on blk_mq_start_request/blk_account_io_*, which fire at the same points.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { log2Hist, sectionedHist, sprintf } from '../output/bcc.js';
import { strftime } from '../output/strftime.js';
import { has } from '../bpf/features.js';
import { tracefs } from '../sys/mount.js';
import { KscopeError } from '../sys/errors.js';
import { bccSlots, chooseHook, defineTool, reportLoop, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  timestamp?: boolean;
  queued?: boolean;
  milliseconds?: boolean;
  disks?: boolean;
  flags?: boolean;
  extension?: boolean;
  disk?: string;
}

const EXAMPLES = `
    ./biolatency                    # summarize block I/O latency as a histogram
    ./biolatency 1 10               # print 1 second summaries, 10 times
    ./biolatency -mT 1              # 1s summaries, milliseconds, and timestamps
    ./biolatency -Q                 # include OS queued time in I/O time
    ./biolatency -D                 # show each disk device separately
    ./biolatency -F                 # show I/O flags separately
    ./biolatency -j                 # print a dictionary
    ./biolatency -e                 # show extension summary(total, average)
    ./biolatency -d sdc             # Trace sdc only`;

const blockTp = (ev: string) => existsSync(join(tracefs(), 'events', 'block', ev));

/**
 * How the kernel side sees a request at the block hooks. Raw tracepoints (preferred) get the `struct request *`:
 * requests are keyed by that pointer, flags are the exact `cmd_flags`, and the kernel runs them even when another
 * BPF program is active on the CPU — classic tracepoint programs are skipped then (e.g. a completion interrupt
 * arriving while any other tracing program runs), which loses a few percent of I/Os on a machine with other tracers.
 * The classic tracepoints key requests by (dev, sector) and give the flags as rwbs text.
 */
export interface BlockHooks {
  kind: 'raw_tracepoint' | 'tracepoint';
  /** the probe for a block tracepoint name, with `$rq` set up for the raw kind */
  probe(ev: string, body: string): string;
  key: string;
  dev: string;
  sector: string;
  bytes: string;
  /** raw: the cmd_flags integer; classic: the rwbs string */
  flags: string;
  /** the tracepoint where a request starts in its submitter's context: block_io_start (6.5+), else block_rq_insert */
  start: string;
}

/** Picks the block hooks this kernel supports (raw tracepoints with BTF, else classic tracepoints). */
export function blockHooks(tool: string): BlockHooks {
  const start = blockTp('block_io_start') ? 'block_io_start' : 'block_rq_insert';
  if (chooseHook(tool, ['raw_tracepoint', 'tracepoint']) === 'raw_tracepoint' && has('btf'))
    return {
      kind: 'raw_tracepoint',
      probe: (ev, body) => `rawtracepoint:${ev} {\n  $rq = (struct request *)arg0;\n  $dev = $rq->q->disk->major << 20 | $rq->q->disk->first_minor;\n${body}\n}`,
      key: 'arg0',
      dev: '$dev',
      sector: '$rq->__sector',
      bytes: '$rq->__data_len',
      flags: '$rq->cmd_flags',
      start,
    };
  return {
    kind: 'tracepoint',
    probe: (ev, body) => `tracepoint:block:${ev} {\n${body}\n}`,
    key: 'args->dev, args->sector',
    dev: 'args->dev',
    sector: 'args->sector',
    bytes: 'args->bytes',
    flags: 'args->rwbs',
    start,
  };
}

/** The --verbose line naming the hooks chosen. */
export function describeHooks(tool: string, h: BlockHooks, evs: string[]): string {
  const what = h.kind === 'raw_tracepoint' ? 'rawtracepoint' : 'tracepoint:block';
  return `${tool}: hooks: ${evs.map((e) => `${what}:${e}`).join(', ')} (requests keyed by ${h.kind === 'raw_tracepoint' ? 'struct request pointer' : 'dev, sector'})\n`;
}

/** The kernel's dev_t as the block tracepoints carry it: major << 20 | minor. */
export const devt = (major: number, minor: number): number => major * 2 ** 20 + minor;

const names = new Map<number, string>();
/** The disk name of a tracepoint dev_t (from /sys/dev/block/MAJ:MIN/uevent DEVNAME), or undefined. */
export function diskName(dev: number): string | undefined {
  if (!names.has(dev)) {
    try {
      const uevent = readFileSync(`/sys/dev/block/${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}/uevent`, 'utf8');
      const m = /^DEVNAME=(.*)$/m.exec(uevent);
      if (m) names.set(dev, m[1]!);
    } catch {
      // gone or never existed: unknown
    }
  }
  return names.get(dev);
}

/** `-d DISK`: the dev_t of /dev/DISK, or a KscopeError as BCC's `no such disk`. */
export function diskDev(tool: string, disk: string): number {
  const sys = `/sys/class/block/${disk}/dev`;
  if (!existsSync(join('/dev', disk)) || !existsSync(sys)) throw new KscopeError(`${tool}: no such disk '${disk}'`);
  const [major, minor] = readFileSync(sys, 'utf8').trim().split(':').map(Number);
  return devt(major!, minor!);
}

/**
 * BCC's -F description (`Sync-Write`, `ReadAhead-Read`, ...) from a tracepoint rwbs string: an optional leading F
 * (preflush), the operation (R W D DE F N), then F (FUA), A (readahead), S (sync), M (metadata).
 */
export function flagsDesc(rwbs: string): string {
  const m = /^F?(DE|[RWDFN])([FASM]*)$/.exec(rwbs);
  if (!m) return 'Unknown';
  const op = { R: 'Read', W: 'Write', D: 'Discard', DE: 'SecureErase', F: 'Flush', N: 'Unknown' }[m[1]!] ?? 'Unknown';
  const f = m[2]!;
  // BCC prefixes in this order, so the last one applied ends up first
  return [f.includes('S') && 'Sync-', f.includes('M') && 'Metadata-', f.includes('F') && 'ForcedUnitAccess-', f.includes('A') && 'ReadAhead-']
    .filter((p): p is string => Boolean(p))
    .reduce((desc, p) => p + desc, op);
}

const OPS: Record<number, string> = { 0: 'Read', 1: 'Write', 2: 'Flush', 3: 'Discard', 5: 'SecureErase', 6: 'ZoneReset', 7: 'WriteSame', 9: 'WriteZeros' };
/** BCC's `-F` prefixes, in the order BCC applies them (each goes in front), with their cmd_flags bit. */
const FLAG_BITS: [number, string][] = [[11, 'Sync-'], [12, 'Metadata-'], [17, 'ForcedUnitAccess-'], [13, 'Priority-'], [14, 'NoMerge-'], [15, 'Idle-'], [19, 'ReadAhead-'], [20, 'Background-'], [21, 'NoWait-']];

/** BCC's -F description of a request's cmd_flags (op in the low 8 bits, REQ_* flags above). */
export function cmdFlagsDesc(flags: bigint): string {
  const f = Number(flags & 0xffffffffn);
  return FLAG_BITS.reduce((desc, [bit, p]) => ((f >>> bit) & 1 ? p + desc : desc), OPS[f & 0xff] ?? 'Unknown');
}

/** The kernel side, in kscope's language. */
export function script(o: Opts, h: BlockHooks, dev?: number): string {
  const unit = o.milliseconds ? 1000000 : 1000;
  const key = o.disks ? `[${h.dev}]` : o.flags ? `[${h.flags}]` : '';
  const only = (body: string) => (dev !== undefined ? `  if (${h.dev} == ${dev}) {\n${body}\n  }` : body);
  return `
${h.probe(o.queued ? h.start : 'block_rq_issue', only(`  @start[${h.key}] = nsecs;`))}
${h.probe(
  'block_rq_complete',
  only(`  $ts = @start[${h.key}];
  if ($ts != 0) {
    // unsigned division: kscope divides signed operands with BPF sdiv, which kernels before 6.6 reject
    $d = (uint64)(nsecs - $ts) / (uint64)${unit};
    @dist${key} = hist($d);
    ${o.extension ? '@total = sum($d); @count = count();' : ''}
    delete(@start[${h.key}]);
  }`),
)}`;
}

export const biolatency = defineTool<Opts, [number?, number?]>({
  name: 'biolatency',
  summary: 'Summarize block device I/O latency as a histogram',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .timestampFlag()
      .option('-Q, --queued', 'include OS queued time in I/O time')
      .millisecondsFlag()
      .option('-D, --disks', 'print a histogram per disk device')
      .option('-F, --flags', 'print a histogram per set of I/O flags')
      .option('-e, --extension', 'summarize average/total value')
      .option('-j, --json', 'json output: one JSON object per report')
      .option('-d, --disk <DISK>', 'Trace this disk only')
      .kscopeFlags()
      .intervalCountArgs(),
  async run(o, io, [interval, count]) {
    if (o.disks && o.flags) throw new UsageError('biolatency: ERROR: can only use -D or -F. Exiting.');
    const dev = o.disk !== undefined ? diskDev('biolatency', o.disk) : undefined;
    const h = blockHooks('biolatency');
    if (o.verbose) io.err(describeHooks('biolatency', h, [o.queued ? h.start : 'block_rq_issue', 'block_rq_complete']));
    const label = o.milliseconds ? 'msecs' : 'usecs';
    const section = o.disks ? 'disk' : o.flags ? 'flags' : undefined;
    const sectionLabel = (k: unknown) => (o.disks ? (diskName(Number(k)) ?? '?') : typeof k === 'bigint' ? cmdFlagsDesc(k) : flagsDesc(String(k)));
    let loop: { final(): void } | undefined;
    const s = new Session(script(o, h, dev), {
      io,
      verbose: o.verbose,
      onStart: (sess) => {
        if (!o.json) io.out('Tracing block device I/O... Hit Ctrl-C to end.\n');
        loop = reportLoop(sess, {
          interval,
          count,
          timestamp: o.timestamp,
          io,
          report: () => report(sess),
          clear: () => ['@dist', '@total', '@count'].forEach((m) => sess.clear(m)),
        });
      },
      onExit: () => loop?.final(),
    });
    const scalar = (sess: Session, m: string): bigint => {
      const snap = sess.snapshot(m);
      return snap && (snap.kind === 'sum' || snap.kind === 'count') ? (snap.entries[0]?.value ?? 0n) : 0n;
    };
    const report = (sess: Session) => {
      const snap = sess.snapshot('@dist');
      const entries = snap && snap.kind === 'hist' ? snap.entries : [];
      const sections = entries
        .map((e) => ({ label: e.key === undefined ? '' : sectionLabel(e.key), vals: bccSlots(e.value) }))
        .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
      const total = scalar(sess, '@total');
      const n = scalar(sess, '@count');
      if (o.json) {
        const hist = (vals: bigint[]) => vals.slice(1).map((c, i) => ({ 'interval-start': i === 0 ? 0 : 2 ** i, 'interval-end': 2 ** (i + 1) - 1, count: Number(c) }));
        io.out(
          `${JSON.stringify({
            ts: strftime('%Y-%m-%d %H:%M:%S', new Date()),
            val_type: label,
            histograms: sections.map((x) => ({ ...(section ? { [section]: x.label } : {}), data: hist(x.vals.slice(0, lastNonZero(x.vals) + 1)) })),
            ...(o.extension ? { total: Number(total), count: Number(n) } : {}),
          })}\n`,
        );
        return;
      }
      io.out(section ? sectionedHist(sections, section, label) : log2Hist(sections[0]?.vals ?? [], label));
      if (o.extension && n > 0n) io.out(sprintf('\navg = %ld %s, total: %ld %s, count: %ld\n\n', total / n, label, total, label, n));
    };
    return s.run();
  },
});

const lastNonZero = (v: bigint[]) => v.reduce((last, c, i) => (c > 0n ? i : last), 0);
