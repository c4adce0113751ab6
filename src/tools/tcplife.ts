/**
 * tcplife: one line per TCP session when it closes: who, the endpoints, bytes sent and received, and how long it
 * lived. Hooks: the sock:inet_sock_set_state tracepoint (Linux 4.16+), as BCC and libbpf-tools: the birth time is
 * kept by socket at its early states, the task at SYN_SENT (the connecting side) or LAST_ACK (the side closing
 * second), and the session is reported at CLOSE with tcp_sock's bytes_acked/bytes_received.
 */
import { sprintf } from '../output/bcc.js';
import { strftime } from '../output/strftime.js';
import type { Value } from '../output/values.js';
import { chooseHook, defineTool, positiveInt, Session, UsageError, type TcpFlow, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  time?: boolean;
  timestamp?: boolean;
  wide?: boolean;
  csv?: boolean;
  pid?: number;
  localport?: number[];
  remoteport?: number[];
  ipv4?: boolean;
  ipv6?: boolean;
}

const EXAMPLES = `
    ./tcplife           # trace all TCP connect()s
    ./tcplife -T        # include time column (HH:MM:SS)
    ./tcplife -w        # wider columns (fit IPv6)
    ./tcplife -stT      # csv output, with times & timestamps
    ./tcplife -p 181    # only trace PID 181
    ./tcplife -L 80     # only trace local port 80
    ./tcplife -L 80,81  # only trace local ports 80 and 81
    ./tcplife -D 80     # only trace remote port 80
    ./tcplife -4        # only trace IPv4 family
    ./tcplife -6        # only trace IPv6 family`;

const AF_INET = 2;
const AF_INET6 = 10;
/** TCP states (include/net/tcp_states.h) */
const TCP = { SYN_SENT: 2, FIN_WAIT1: 4, CLOSE: 7, LAST_ACK: 9 } as const;
/** printf format: the event the kernel side sends at CLOSE */
const EVENT = 'life %u %d %s %d %s %d %s %d %u %u %u';

/** The kernel side, in kscope's language. */
export function script(o: Opts): string {
  const ports = (field: string, list?: number[]) => (list?.length ? `(${list.map((p) => `args->${field} == ${p}`).join(' || ')})` : '');
  const pred = ['args->protocol == 6', ports('sport', o.localport), ports('dport', o.remoteport)].filter(Boolean).join(' && ');
  const pid = (v: string) => (o.pid !== undefined ? `${v} == ${o.pid}` : '');
  const family = o.ipv4 ? `args->family == ${AF_INET}` : o.ipv6 ? `args->family == ${AF_INET6}` : '';
  const report = [pid('$pid'), family].filter(Boolean).join(' && ');
  const emit = (v: '' | '_v6') =>
    `printf("${EVENT}", nsecs, $pid, $comm, args->family, ntop(args->saddr${v}), args->sport, ntop(args->daddr${v}), args->dport, $tp->bytes_acked, $tp->bytes_received, $span);`;
  const cache = `@who[$sk] = (pid, comm);`;
  return `
tracepoint:sock:inet_sock_set_state /${pred}/ {
  $sk = (uint64)args->skaddr;
  // birth: the last of the early states (SYN_SENT, SYN_RECV, ESTABLISHED)
  if (args->newstate < ${TCP.FIN_WAIT1}) { @birth[$sk] = nsecs; }
  // the task: the connecting one, or the one closing second (the first to close may be in softirq context at CLOSE)
  if (args->newstate == ${TCP.SYN_SENT} || args->newstate == ${TCP.LAST_ACK}) { ${o.pid !== undefined ? `if (${pid('pid')}) { ${cache} }` : cache} }
  if (args->newstate == ${TCP.CLOSE}) {
    if (has_key(@birth, $sk)) {
      $span = nsecs - @birth[$sk];
      delete(@birth[$sk]);
      $pid = pid;
      $comm = comm;
      if (has_key(@who, $sk)) {
        $w = @who[$sk];
        $pid = $w.0;
        $comm = $w.1;
      }
      $tp = (struct tcp_sock *)args->skaddr;
      ${report ? `if (${report}) {` : '{'}
        if (args->family == ${AF_INET}) { ${emit('')} } else { ${emit('_v6')} }
      }
    }
    delete(@who[$sk]);
  }
}`;
}

/** One closed session as printed. */
export interface Life extends TcpFlow {
  /** kernel monotonic µs, as BCC's ts_us */
  tsUs: bigint;
  txBytes: number;
  rxBytes: number;
  spanUs: number;
}

/** The header line (BCC's three layouts: default, -w, -s). */
export function header(o: Partial<Opts>): string {
  const lead = (o.time ? (o.csv ? 'TIME,' : sprintf('%-8s ', 'TIME')) : '') + (o.timestamp ? (o.csv ? 'TIME(s),' : sprintf('%-9s ', 'TIME(s)')) : '');
  const cols = ['PID', 'COMM', o.wide || o.csv ? 'IP' : '', 'LADDR', 'LPORT', 'RADDR', 'RPORT', 'TX_KB', 'RX_KB', 'MS'];
  const fmt = o.csv ? '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s' : o.wide ? '%-5s %-16.16s %-2s %-39s %-5s %-39s %-5s %6s %6s %s' : '%-5s %-10.10s %s%-15s %-5s %-15s %-5s %5s %5s %s';
  return `${lead}${sprintf(fmt, ...cols)}\n`;
}

/** One row; `now` for -T, `sinceS` (seconds since the first session) for -t. */
export function row(o: Partial<Opts>, e: Life, now: Date, sinceS: number): string {
  const lead = (o.time ? (o.csv ? `${strftime('%H:%M:%S', now)},` : sprintf('%-8s ', strftime('%H:%M:%S', now))) : '') + (o.timestamp ? (o.csv ? sprintf('%.6f,', sinceS) : sprintf('%-9.6f ', sinceS)) : '');
  const ip = o.wide || o.csv ? String(e.ip) : '';
  const kb = (b: number) => Math.floor(b / 1024);
  const vals = [e.pid, e.comm, ip, e.laddr, e.lport, e.raddr, e.rport, kb(e.txBytes), kb(e.rxBytes), e.spanUs / 1000];
  const fmt = o.csv ? '%d,%s,%s,%s,%s,%s,%d,%d,%d,%.2f' : o.wide ? '%-5d %-16.16s %-2s %-39s %-5s %-39s %-5d %6d %6d %.2f' : '%-5d %-10.10s %s%-15s %-5d %-15s %-5d %5d %5d %.2f';
  return `${lead}${sprintf(fmt, ...vals)}\n`;
}

/** BCC's comma-separated port list. */
function ports(what: string): (v: string) => number[] {
  return (v) =>
    v.split(',').map((p) => {
      const n = Number(p);
      if (!/^\d+$/.test(p) || n > 65535) throw new UsageError(`tcplife: invalid ${what} value: '${p}'`);
      return n;
    });
}

export const tcplife = defineTool<Opts>({
  name: 'tcplife',
  summary: 'Trace the lifespan of TCP sessions and summarize',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-T, --time', 'include time column on output (HH:MM:SS)')
      .option('-t, --timestamp', 'include timestamp on output (seconds)')
      .option('-w, --wide', 'wide column output (fits IPv6 addresses)')
      .option('-s, --csv', 'comma separated values output')
      .option('-p, --pid <PID>', 'trace this PID only', positiveInt('pid'))
      .option('-L, --localport <LOCALPORT>', 'comma-separated list of local ports to trace.', ports('localport'))
      .option('-D, --remoteport <REMOTEPORT>', 'comma-separated list of remote ports to trace.', ports('remoteport'))
      .familyFlags()
      .kscopeFlags('session'),
  async run(o, io) {
    chooseHook('tcplife', ['tracepoint'] as const);
    if (o.verbose) io.err('tcplife: hooks: tracepoint:sock:inet_sock_set_state\n');
    let first: bigint | undefined;
    const s = new Session(script(o), {
      io,
      verbose: o.verbose,
      onStart: () => {
        if (!o.json) io.out(header(o));
      },
      onEvent: (format: string, v: Value[]) => {
        if (format !== EVENT) return;
        const [ns, pid, comm, family, laddr, lport, raddr, rport, tx, rx, span] = v as [bigint, bigint, string, bigint, string, bigint, string, bigint, bigint, bigint, bigint];
        const e: Life = {
          tsUs: ns / 1000n,
          pid: Number(pid),
          comm,
          ip: Number(family) === AF_INET6 ? 6 : 4,
          laddr,
          lport: Number(lport),
          raddr,
          rport: Number(rport),
          txBytes: Number(tx),
          rxBytes: Number(rx),
          spanUs: Number(span / 1000n),
        };
        first ??= e.tsUs;
        const since = Number(e.tsUs - first) / 1e6;
        const now = new Date();
        if (o.json) {
          const { pid, comm, ip, laddr, lport, raddr, rport } = e;
          io.out(`${JSON.stringify({ time: strftime('%H:%M:%S', now), ts: since, pid, comm, ip, laddr, lport, raddr, rport, tx_bytes: e.txBytes, rx_bytes: e.rxBytes, ms: e.spanUs / 1000 })}\n`);
        } else io.out(row(o, e, now, since));
      },
    });
    return s.run();
  },
});
