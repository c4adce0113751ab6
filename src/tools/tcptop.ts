/**
 * tcptop: TCP throughput per connection and process, refreshed every interval like top. Hooks: the
 * sock:sock_send_length and sock:sock_recv_length tracepoints (Linux 6.3+, fired after every socket send/receive in
 * the caller's context); on older kernels fexit on tcp_sendmsg/tcp_recvmsg, as BCC. Not fexit everywhere: its programs
 * are preemptible on PREEMPT kernels, and the per-CPU scratch memory holding the large map key is then shared by
 * interleaved calls (seen on 7.3: bytes credited to another connection). Both keep TCP calls that moved bytes and
 * read the connection's addresses and ports from the `struct sock` through BTF.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { has } from '../bpf/features.js';
import { KscopeError } from '../sys/errors.js';
import { tracefs } from '../sys/mount.js';
import { sprintf } from '../output/bcc.js';
import type { MapEntry } from '../output/bpftrace.js';
import type { Value } from '../output/values.js';
import { defineTool, reportLoop, Session, type TcpFlow, type ToolIO, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  noclear?: boolean;
  nosummary?: boolean;
  pid?: number;
  ipv4?: boolean;
  ipv6?: boolean;
}

const EXAMPLES = `
    ./tcptop           # trace TCP send/recv by host
    ./tcptop -C        # don't clear the screen
    ./tcptop -p 181    # only trace PID 181
    ./tcptop -4        # trace IPv4 family only
    ./tcptop -6        # trace IPv6 family only`;

const AF_INET = 2;
const AF_INET6 = 10;
const MSG_PEEK = 2;
const LOSS = 'Bytes are counted where TCP sendmsg/recvmsg calls return (fexit on tcp_sendmsg/tcp_recvmsg, else the sock_send_length/sock_recv_length tracepoints): TCP data moved without sendmsg/recvmsg (splice from a TCP socket, kTLS, sockmap, MPTCP subflows) is not seen.';
/** what `clear` writes on an xterm-like terminal */
const CLEAR = '\x1b[H\x1b[2J\x1b[3J';

/**
 * The kernel side, in kscope's language: bytes per (pid, comm, family, laddr, lport, raddr, rport), sent and received;
 * `hook` picks fexit on tcp_sendmsg/tcp_recvmsg or the sock tracepoints.
 */
export function script(o: Opts, hook: 'fexit' | 'tracepoint'): string {
  const c = '$sk->__sk_common';
  const fexit = hook === 'fexit';
  const family = fexit ? 'args.sk->__sk_common.skc_family' : 'args->family';
  const bytes = fexit ? 'retval' : 'args->ret';
  const filters = [`${bytes} > 0`];
  if (!fexit) filters.unshift('args->protocol == 6');
  filters.push(o.ipv4 ? `${family} == ${AF_INET}` : o.ipv6 ? `${family} == ${AF_INET6}` : `(${family} == ${AF_INET} || ${family} == ${AF_INET6})`);
  if (o.pid !== undefined) filters.push(`pid == ${o.pid}`);
  // ports in network byte order; the local port is read from inet_sport, not skc_num, which is zeroed when the
  // connection closes while received data still waits to be read
  const key = (v6: boolean) =>
    v6
      ? `pid, comm, ${AF_INET6}, ntop(${AF_INET6}, ${c}.skc_v6_rcv_saddr.in6_u.u6_addr8), $lport, ntop(${AF_INET6}, ${c}.skc_v6_daddr.in6_u.u6_addr8), $dport`
      : `pid, comm, ${AF_INET}, ntop(${c}.skc_rcv_saddr), $lport, ntop(${c}.skc_daddr), $dport`;
  const probe = (fn: string, event: string, map: string, extra: string) => `
${fexit ? `kretfunc:${fn}` : `tracepoint:sock:${event}`} /${[...filters, extra].filter(Boolean).join(' && ')}/ {
  $sk = (struct sock *)${fexit ? 'args.sk' : 'args->sk'};
  $dport = ((${c}.skc_dport & 0xff) << 8) | (${c}.skc_dport >> 8);
  $sport = ((struct inet_sock *)$sk)->inet_sport;
  $lport = (($sport & 0xff) << 8) | ($sport >> 8);
  if (${family} == ${AF_INET}) { ${map}[${key(false)}] = sum(${bytes}); } else { ${map}[${key(true)}] = sum(${bytes}); }
}`;
  const peek = `(${fexit ? 'args.flags' : 'args->flags'} & ${MSG_PEEK}) == 0`;
  return probe('tcp_sendmsg', 'sock_send_length', '@tx', '') + probe('tcp_recvmsg', 'sock_recv_length', '@rx', peek);
}

interface Conn extends TcpFlow {
  rx: number;
  tx: number;
}

/** Joins the sent and received byte maps into one row per connection, busiest first. */
export function connections(tx: MapEntry<bigint>[], rx: MapEntry<bigint>[]): Conn[] {
  const rows = new Map<string, Conn>();
  const add = (entries: MapEntry<bigint>[], dir: 'rx' | 'tx') => {
    for (const e of entries) {
      const [pid, comm, family, laddr, lport, raddr, rport] = (e.key as { items: Value[] }).items;
      const id = JSON.stringify([pid, comm, family, laddr, lport, raddr, rport], (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      let r = rows.get(id);
      if (!r) {
        r = { pid: Number(pid), comm: comm as string, ip: Number(family) === AF_INET6 ? 6 : 4, laddr: laddr as string, lport: Number(lport), raddr: raddr as string, rport: Number(rport), rx: 0, tx: 0 };
        rows.set(id, r);
      }
      r[dir] += Number(e.value);
    }
  };
  add(tx, 'tx');
  add(rx, 'rx');
  return [...rows.values()].sort((a, b) => b.rx + b.tx - (a.rx + a.tx));
}

/** BCC's two tables (IPv4, then IPv6 after a blank line), each printed only when it has rows. */
export function formatTables(conns: Conn[]): string {
  let out = '';
  const kb = (n: number) => Math.floor(n / 1024);
  const v4 = conns.filter((c) => c.ip === 4);
  const v6 = conns.filter((c) => c.ip === 6);
  if (v4.length) out += sprintf('%-7s %-12s %-21s %-21s %6s %6s', 'PID', 'COMM', 'LADDR', 'RADDR', 'RX_KB', 'TX_KB') + '\n';
  for (const c of v4) out += sprintf('%-7d %-12.12s %-21s %-21s %6d %6d', c.pid, c.comm, `${c.laddr}:${c.lport}`, `${c.raddr}:${c.rport}`, kb(c.rx), kb(c.tx)) + '\n';
  if (v6.length) out += sprintf('\n%-7s %-12s %-32s %-32s %6s %6s', 'PID', 'COMM', 'LADDR6', 'RADDR6', 'RX_KB', 'TX_KB') + '\n';
  for (const c of v6) out += sprintf('%-7d %-12.12s %-32s %-32s %6d %6d', c.pid, c.comm, `${c.laddr}:${c.lport}`, `${c.raddr}:${c.rport}`, kb(c.rx), kb(c.tx)) + '\n';
  return out;
}

export const tcptop = defineTool<Opts, [number?, number?]>({
  name: 'tcptop',
  summary: 'Summarize TCP send/recv throughput by host',
  about: LOSS,
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-C, --noclear', "don't clear the screen")
      .option('-S, --nosummary', 'skip system summary line')
      .pidFlag()
      .familyFlags()
      .kscopeFlags('interval')
      .intervalCountArgs('output interval, in seconds (default 1)'),
  async run(o, io, [interval = 1, count]) {
    const hook = existsSync(join(tracefs(), 'events', 'sock', 'sock_send_length')) ? 'tracepoint' : has('fexit') ? 'fexit' : undefined;
    if (!hook) throw new KscopeError('tcptop: needs the sock:sock_send_length/sock_recv_length tracepoints (Linux 6.3+) or BPF trampolines (fexit), and this kernel has neither');
    if (o.verbose) io.err(`tcptop: hooks: ${hook === 'fexit' ? 'kretfunc:tcp_sendmsg, kretfunc:tcp_recvmsg' : 'tracepoint:sock:sock_send_length, sock:sock_recv_length'}\n`);
    let loop: { final(): void } | undefined;
    const report = (sess: Session) => {
      const entries = (m: string) => {
        const snap = sess.snapshot(m);
        return snap?.kind === 'sum' ? snap.entries : [];
      };
      const conns = connections(entries('@tx'), entries('@rx'));
      const loadavg = readFileSync('/proc/loadavg', 'utf8');
      const time = new Date().toTimeString().slice(0, 8);
      if (o.json) {
        io.out(JSON.stringify({ time, ...(o.nosummary ? {} : { loadavg: loadavg.trim() }), connections: conns.map((c) => ({ ...c, rx_kb: Math.floor(c.rx / 1024), tx_kb: Math.floor(c.tx / 1024) })) }) + '\n');
        return;
      }
      if (!o.nosummary) io.out(sprintf('%-8s loadavg: %s', time, loadavg) + '\n');
      io.out(formatTables(conns));
    };
    const s = new Session(script(o, hook), {
      io,
      verbose: o.verbose,
      onStart: (sess) => {
        io.out(`Tracing... Output every ${interval} secs. Hit Ctrl-C to end\n`);
        // the loop writes a blank line before each report: BCC's -C; without it, the screen is cleared instead
        const sep: ToolIO = { ...io, out: () => io.out(o.json ? '' : o.noclear ? '\n' : CLEAR) };
        loop = reportLoop(sess, {
          interval,
          count,
          io: sep,
          report: () => report(sess),
          clear: () => {
            sess.clear('@tx');
            sess.clear('@rx');
          },
        });
      },
      onExit: () => loop?.final(),
    });
    return s.run();
  },
});
