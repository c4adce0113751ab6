/**
 * tcpconnect: trace active TCP connections (connect()), one line each, or count them per address pair and port (-c).
 * Hooks: where the kernel has kprobes or BPF trampolines, BCC's: a kprobe (fentry) on tcp_v4_connect/tcp_v6_connect
 * keeps the socket by thread and the kretprobe (fexit) reports it if the call returned 0, reading addresses and ports
 * from the socket (the local port is assigned by then). Without either, the sock:inet_sock_set_state tracepoint's CLOSE -> SYN_SENT transition,
 * which fires inside those functions in the connecting task's context; the local port is chosen after that
 * transition, so -L takes it from the socket's next transition (SYN_SENT -> ESTABLISHED or -> CLOSE).
 */
import { sprintf } from '../output/bcc.js';
import { kallsyms } from '../symbols/kallsyms.js';
import { expandAttachPoint } from '../lang/probes.js';
import type { Value } from '../output/values.js';
import { KscopeError } from '../sys/errors.js';
import { chooseHook, defineTool, positiveInt, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  timestamp?: boolean;
  pid?: number;
  port?: number[];
  ipv4?: boolean;
  ipv6?: boolean;
  lport?: boolean;
  printUid?: boolean;
  uid?: number;
  count?: boolean;
}

const EXAMPLES = `
    ./tcpconnect           # trace all TCP connect()s
    ./tcpconnect -t        # include timestamps
    ./tcpconnect -p 181    # only trace PID 181
    ./tcpconnect -P 80     # only trace port 80
    ./tcpconnect -P 80,81  # only trace port 80 and 81
    ./tcpconnect -4        # only trace IPv4 family
    ./tcpconnect -6        # only trace IPv6 family
    ./tcpconnect -U        # include UID
    ./tcpconnect -u 1000   # only trace UID 1000
    ./tcpconnect -c        # count connects per src ip and dest ip/port
    ./tcpconnect -L        # include LPORT while printing outputs`;

const LOSS =
  'Connections are traced as BCC does, by kprobes on tcp_v4_connect/tcp_v6_connect, where the kernel has kprobes; ' +
  'else they are seen entering SYN_SENT (sock:inet_sock_set_state), and with -L printed at the next state change, ' +
  'which carries the local port. -d/--dns is not available.';
const AF_INET = 2;
const AF_INET6 = 10;
/** printf formats: the event kinds the kernel side sends */
const CONNECT = 'connect %d %d %s %d %s %s %d %d %d\n';
const LPORT = 'lport %d %d\n';

/** The kernel side, in kscope's language: `hook` picks the kprobe pair on `fns` or the tracepoint. */
export function script(o: Opts, hook: 'kprobe' | 'tracepoint', fns: readonly ConnectFn[] = CONNECT_FNS): string {
  return hook === 'kprobe' ? kprobeScript(o, fns) : tracepointScript(o);
}

/** The functions BCC probes, and the address family of each. */
const CONNECT_FNS = [
  { fn: 'tcp_v4_connect', family: AF_INET },
  { fn: 'tcp_v6_connect', family: AF_INET6 },
] as const;
type ConnectFn = (typeof CONNECT_FNS)[number];

/** One connection: the -c map update, or the CONNECT event (and, with -L and a known local port, LPORT). */
function emit(o: Opts, family: string, saddr: string, daddr: string, dport: string, sk: string, lport?: string): string {
  if (o.count) return `@connects[${family}, ntop(${saddr}), ntop(${daddr}), ${dport}] = count();`;
  const ev = `printf(${JSON.stringify(CONNECT)}, pid, uid, comm, ${family}, ntop(${saddr}), ntop(${daddr}), ${dport}, nsecs, ${sk});`;
  return lport && o.lport ? `${ev} printf(${JSON.stringify(LPORT)}, ${sk}, ${lport});` : ev;
}

function tracepointScript(o: Opts): string {
  const filters = ['args->protocol == 6', 'args->oldstate == 7', 'args->newstate == 2'];
  if (o.pid !== undefined) filters.push(`pid == ${o.pid}`);
  if (o.uid !== undefined) filters.push(`uid == ${o.uid}`);
  if (o.ipv4) filters.push(`args->family == ${AF_INET}`);
  if (o.ipv6) filters.push(`args->family == ${AF_INET6}`);
  if (o.port?.length) filters.push(`(${o.port.map((p) => `args->dport == ${p}`).join(' || ')})`);
  const tp = (v: '' | '_v6') => emit(o, 'args->family', `args->saddr${v}`, `args->daddr${v}`, 'args->dport', 'args->skaddr');
  // -L: the port is assigned after SYN_SENT; the socket's next transition carries it (user space joins by socket)
  const lport = o.lport && !o.count ? `\ntracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->oldstate == 2/ { printf(${JSON.stringify(LPORT)}, args->skaddr, args->sport); }` : '';
  return `
tracepoint:sock:inet_sock_set_state /${filters.join(' && ')}/ {
  if (args->family == ${AF_INET}) { ${tp('')} } else { ${tp('_v6')} }
}${lport}`;
}

function kprobeScript(o: Opts, fns: readonly ConnectFn[]): string {
  const enter = [o.pid !== undefined ? `pid == ${o.pid}` : '', o.uid !== undefined ? `uid == ${o.uid}` : ''].filter(Boolean);
  const sk = '$sk->__sk_common';
  const ports = o.port?.length ? ` && (${o.port.map((p) => `$dport == ${p}`).join(' || ')})` : '';
  return fns
    .filter((f) => !(o.ipv4 && f.family === AF_INET6) && !(o.ipv6 && f.family === AF_INET))
    .map(({ fn, family }) => {
      const [saddr, daddr] = family === AF_INET ? [`${sk}.skc_rcv_saddr`, `${sk}.skc_daddr`] : [`${sk}.skc_v6_rcv_saddr.in6_u.u6_addr8`, `${sk}.skc_v6_daddr.in6_u.u6_addr8`];
      return `
kprobe:${fn}${enter.length ? ` /${enter.join(' && ')}/` : ''} { @sk[tid] = arg0; }
kretprobe:${fn} {
  if (has_key(@sk, tid)) {
    $sk = (struct sock *)@sk[tid];
    delete(@sk[tid]);
    // skc_dport is in network byte order
    $dport = (${sk}.skc_dport >> 8) | ((${sk}.skc_dport & 0xff) << 8);
    if (retval == 0${ports}) {
      ${emit(o, String(family), saddr, daddr, '$dport', '$sk', `${sk}.skc_num`)}
    }
  }
}`;
    })
    .join('\n');
}

/** The hooks `kprobe:F`/`kretprobe:F` get here, e.g. `fentry:tcp_v4_connect, fexit:tcp_v4_connect`. */
function kernelHooks(fns: string[]): string {
  return fns
    .flatMap((f) => [`kprobe:${f}`, `kretprobe:${f}`])
    .map((ap) => {
      const e = expandAttachPoint(ap);
      if (typeof e === 'string') throw new KscopeError(`tcpconnect: ${e}`);
      const t = e[0]!.target as { provider: string; func: string };
      return `${t.provider}:${t.func}`;
    })
    .join(', ');
}

/** Parses BCC's -P list: comma-separated destination ports. */
function ports(v: string): number[] {
  return v.split(',').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`tcpconnect: invalid port value: '${p}'`);
    return n;
  });
}

const num = (v: Value) => Number(v as bigint);
const addrKey = (v: Value) => (typeof v === 'object' && v && 'value' in v ? (v.value as bigint) : (v as bigint));

export const tcpconnect = defineTool<Opts>({
  name: 'tcpconnect',
  summary: 'Trace TCP connects',
  about: LOSS,
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .timestampFlag('-t')
      .pidFlag()
      .option('-P, --port <port>', 'comma-separated list of destination ports to trace.', ports)
      .familyFlags()
      .option('-L, --lport', 'include LPORT on output')
      .option('-U, --print-uid', 'include UID on output')
      .option('-u, --uid <uid>', 'trace this UID only', (v) => (v === '0' ? 0 : positiveInt('uid')(v)))
      .option('-c, --count', 'count connects per src ip and dest ip/port')
      .kscopeFlags('connection, or one for the -c table'),
  async run(o, io) {
    // kprobe:/kretprobe: become fentry/fexit where the kernel has BPF trampolines (src/lang/probes.ts)
    const hook = chooseHook('tcpconnect', ['fentry', 'kprobe', 'tracepoint'] as const) === 'tracepoint' ? 'tracepoint' : 'kprobe';
    // tcp_v6_connect is in the ipv6 module where IPv6 is not built in: probe only the functions this kernel has
    const fns = hook === 'kprobe' ? CONNECT_FNS.filter((f) => kallsyms().address(f.fn) !== undefined) : [];
    if (hook === 'kprobe' && !fns.length) throw new KscopeError('tcpconnect: the kernel has kprobes but no tcp_v4_connect/tcp_v6_connect symbol to attach to');
    if (o.verbose) io.err(`tcpconnect: hooks: ${hook === 'kprobe' ? kernelHooks(fns.map((f) => f.fn)) : `tracepoint:sock:inet_sock_set_state (CLOSE->SYN_SENT${o.lport ? '; SYN_SENT->next for LPORT' : ''})`}\n`);
    let firstNs: bigint | undefined;
    const pending = new Map<bigint, Value[]>();
    const print = (a: Value[], lport?: number) => {
      const [pid, uid, comm, family, saddr, daddr, dport, ns] = a;
      firstNs ??= ns as bigint;
      const ip = num(family) === AF_INET6 ? 6 : 4;
      if (o.json) {
        const ev = { time_s: Number((ns as bigint) - firstNs) / 1e9, pid: num(pid), comm, uid: num(uid), ip, saddr, ...(lport !== undefined ? { lport } : {}), daddr, dport: num(dport) };
        io.out(JSON.stringify(ev) + '\n');
        return;
      }
      let line = o.timestamp ? sprintf('%-9.3f', Number((ns as bigint) - firstNs) / 1e9) : '';
      if (o.printUid) line += sprintf('%-6d', num(uid));
      line += lport !== undefined
        ? sprintf('%-7d %-12.12s %-2d %-16s %-6d %-16s %-6d %s', num(pid), comm as string, ip, saddr as string, lport, daddr as string, num(dport), '')
        : sprintf('%-7d %-12.12s %-2d %-16s %-16s %-6d %s', num(pid), comm as string, ip, saddr as string, daddr as string, num(dport), '');
      io.out(line + '\n');
    };
    const s = new Session(script(o, hook, fns), {
      io,
      verbose: o.verbose,
      onStart: () => {
        io.out('Tracing connect ... Hit Ctrl-C to end\n');
        if (o.count || o.json) return;
        let h = o.timestamp ? sprintf('%-9s', 'TIME(s)') : '';
        if (o.printUid) h += sprintf('%-6s', 'UID');
        h += o.lport
          ? sprintf('%-7s %-12s %-2s %-16s %-6s %-16s %-6s', 'PID', 'COMM', 'IP', 'SADDR', 'LPORT', 'DADDR', 'DPORT')
          : sprintf('%-7s %-12s %-2s %-16s %-16s %-6s', 'PID', 'COMM', 'IP', 'SADDR', 'DADDR', 'DPORT');
        io.out(h + '\n');
      },
      onEvent: (format, a) => {
        if (format === CONNECT) {
          if (o.lport) pending.set(addrKey(a[8]!), a);
          else print(a);
        } else if (format === LPORT) {
          const k = addrKey(a[0]!);
          const p = pending.get(k);
          if (p) {
            pending.delete(k);
            print(p, num(a[1]!));
          }
        }
      },
      onExit: (sess) => {
        if (!o.count) return;
        const snap = sess.snapshot('@connects');
        const rows = (snap?.kind === 'count' ? snap.entries : [])
          .map((e) => ({ k: (e.key as { items: Value[] }).items, n: Number(e.value as bigint) }))
          .sort((a, b) => b.n - a.n);
        if (o.json) {
          io.out(JSON.stringify({ connects: rows.map(({ k, n }) => ({ ip: num(k[0]!) === AF_INET6 ? 6 : 4, saddr: k[1], daddr: k[2], dport: num(k[3]!), connects: n })) }) + '\n');
          return;
        }
        io.out(sprintf('\n%-25s %-25s %-20s %-10s', 'LADDR', 'RADDR', 'RPORT', 'CONNECTS') + '\n');
        for (const { k, n } of rows) io.out(sprintf('%-25s %-25s %-20s %-10d', k[1] as string, k[2] as string, String(k[3]), n) + '\n');
      },
    });
    return s.run();
  },
});
