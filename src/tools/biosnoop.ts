/**
 * biosnoop: one line per block device I/O as it completes, with the process that started it, disk, direction,
 * sector, size and latency. Hooks (see BlockHooks): block_io_start (pid/comm; block_rq_insert before 6.5),
 * block_rq_issue (issue time, bytes) and block_rq_complete (emit), as raw tracepoints keyed by the request pointer,
 * else as classic tracepoints keyed by (dev, sector). BCC uses the block_io_start tracepoint plus kprobes on
 * blk_mq_start_request/blk_account_io_done, which fire where block_rq_issue/block_rq_complete do.
 */
import { sprintf } from '../output/bcc.js';
import type { Value } from '../output/values.js';
import { blockHooks, describeHooks, diskDev, diskName, type BlockHooks } from './biolatency.js';
import { defineTool, Session, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  queue?: boolean;
  disk?: string;
  pattern?: boolean;
}

const EXAMPLES = `
    ./biosnoop           # trace all block I/O
    ./biosnoop -Q        # include OS queued time
    ./biosnoop -d sdc    # trace sdc only
    ./biosnoop -P        # display block I/O pattern`;


/**
 * The kernel side, in kscope's language: one event per completion with time, dev, sector, bytes, latency and queue
 * time (ns), pid, comm and the flags (cmd_flags or rwbs).
 */
export function script(h: BlockHooks, dev?: number): string {
  const only = (body: string) => (dev !== undefined ? `  if (${h.dev} == ${dev}) {\n${body}\n  }` : body);
  const k = h.key;
  const fmt = `IO %d %d %d %d %d %d %d %s ${h.kind === 'raw_tracepoint' ? '%d' : '%s'}`;
  return `
${h.probe(h.start, only(`  @pid[${k}] = pid;\n  @comm[${k}] = comm;\n  @qts[${k}] = nsecs;`))}
${h.probe('block_rq_issue', only(`  @start[${k}] = nsecs;\n  @bytes[${k}] = ${h.bytes};`))}
${h.probe(
  'block_rq_complete',
  only(`  $ts = @start[${k}];
  if ($ts != 0) {
    $q = @qts[${k}];
    printf("${fmt}", nsecs, ${h.dev}, ${h.sector}, @bytes[${k}], nsecs - $ts, $q != 0 ? $ts - $q : 0, @pid[${k}], @comm[${k}], ${h.flags});
    delete(@start[${k}]);
    delete(@bytes[${k}]);
    delete(@qts[${k}]);
    delete(@pid[${k}]);
    delete(@comm[${k}]);
  }`),
)}`;
}

/** One completed I/O. `comm` is '' when the submitter was not seen. */
export interface BioEvent {
  ts: bigint;
  dev: number;
  sector: bigint;
  bytes: number;
  latNs: bigint;
  queNs: bigint;
  pid: number;
  comm: string;
  flags: bigint | string;
}

/** The header line for these options (BCC's column layout). */
export function header(o: Opts): string {
  return `${sprintf('%-11s %-14s %-7s %-9s %-1s %-10s %-7s', 'TIME(s)', 'COMM', 'PID', 'DISK', 'T', 'SECTOR', 'BYTES')}${o.pattern ? sprintf('%-1s ', 'P') : ''}${o.queue ? sprintf('%7s ', 'QUE(ms)') : ''}${sprintf('%7s', 'LAT(ms)')}\n`;
}

/** `T` as BCC derives it: W for a write op in cmd_flags (op 1 in the low 8 bits), or a W in the rwbs text; else R. */
export const direction = (flags: bigint | string): string => ((typeof flags === 'bigint' ? (flags & 0xffn) === 1n : flags.includes('W')) ? 'W' : 'R');

/** Formats events as BCC does: seconds since the first completion, and (with -P) per-disk sequential/random. */
export function formatter(o: Opts): (e: BioEvent) => { line: string; fields: Record<string, unknown> } {
  let first: bigint | undefined;
  const next = new Map<number, bigint>();
  return (e) => {
    first ??= e.ts;
    const last = next.get(e.dev);
    const pattern = last === undefined ? '?' : last === e.sector ? 'S' : 'R';
    next.set(e.dev, e.sector + BigInt(Math.floor(e.bytes / 512)));
    const secs = Number(e.ts - first) / 1e9;
    const fields = {
      ts: secs,
      comm: e.comm || '?',
      pid: e.pid,
      disk: diskName(e.dev) ?? '<unknown>',
      t: direction(e.flags),
      sector: String(e.sector),
      bytes: e.bytes,
      ...(o.pattern ? { pattern } : {}),
      ...(o.queue ? { que_ms: Number(e.queNs) / 1e6 } : {}),
      lat_ms: Number(e.latNs) / 1e6,
    };
    const line =
      sprintf('%-11.6f %-14.14s %-7s %-9s %-1s %-10s %-7s', secs, fields.comm, String(e.pid), fields.disk, fields.t, fields.sector, String(e.bytes)) +
      (o.pattern ? sprintf('%-1s ', pattern) : '') +
      (o.queue ? sprintf('%7.2f ', fields.que_ms!) : '') +
      sprintf('%7.2f', fields.lat_ms) +
      '\n';
    return { line, fields };
  };
}

export const biosnoop = defineTool<Opts>({
  name: 'biosnoop',
  summary: 'Trace block I/O',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-Q, --queue', 'include OS queued time')
      .option('-d, --disk <DISK>', 'trace this disk only')
      .option('-P, --pattern', 'display block I/O pattern (sequential or random)')
      .kscopeFlags('I/O'),
  async run(o, io) {
    const dev = o.disk !== undefined ? diskDev('biosnoop', o.disk) : undefined;
    const h = blockHooks('biosnoop');
    if (o.verbose) io.err(describeHooks('biosnoop', h, [h.start, 'block_rq_issue', 'block_rq_complete']));
    const format = formatter(o);
    const s = new Session(script(h, dev), {
      io,
      verbose: o.verbose,
      onStart: () => {
        if (!o.json) io.out(header(o));
      },
      onEvent: (_f: string, v: Value[]) => {
        const [ts, d, sector, bytes, lat, que, pid, comm, flags] = v;
        const e = format({ ts: ts as bigint, dev: Number(d), sector: sector as bigint, bytes: Number(bytes), latNs: lat as bigint, queNs: que as bigint, pid: Number(pid), comm: String(comm), flags: typeof flags === 'bigint' ? flags : String(flags) });
        io.out(o.json ? `${JSON.stringify(e.fields)}\n` : e.line);
      },
    });
    return s.run();
  },
});
