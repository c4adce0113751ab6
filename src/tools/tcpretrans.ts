/**
 * tcpretrans: trace TCP retransmits, one line each (address pair, ports, state), or count them per flow (-c).
 * Hook: the tcp:tcp_retransmit_skb tracepoint, as BCC uses whenever it exists; it fires where the retransmit is
 * sent (often a timer, so PID is usually 0). BCC's -l (tail loss probes) needs a kprobe on tcp_send_loss_probe,
 * which has no tracepoint: kscope attaches it where the kernel has kprobes and refuses -l elsewhere.
 */
import { Btf } from '../btf/btf.js';
import { pickHook } from '../bpf/features.js';
import { KscopeError } from '../sys/errors.js';
import { sprintf } from '../output/bcc.js';
import type { Value } from '../output/values.js';
import { defineTool, Session, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  sequence?: boolean;
  lossprobe?: boolean;
  count?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
}

const EXAMPLES = `
    ./tcpretrans           # trace TCP retransmits
    ./tcpretrans -l        # include TLP attempts
    ./tcpretrans -4        # trace IPv4 family only
    ./tcpretrans -6        # trace IPv6 family only`;

/** include/net/tcp_states.h */
export const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];

const AF_INET = 2;
const AF_INET6 = 10;
const EVENT = 'retrans %s %d %d %s %d %s %d %d %d\n';

/** Where one retransmit's fields come from, as expressions of the language. */
interface Source {
  type: 'R' | 'L';
  family: string;
  saddr: string;
  sport: string;
  daddr: string;
  dport: string;
  state: string;
  seq: string;
}

/** The kernel side, in kscope's language; `cbOffset` is `offsetof(struct sk_buff, cb)` (for -s). */
export function script(o: Opts, cbOffset: number): string {
  const only = (family: string) => (o.ipv4 ? `${family} == ${AF_INET}` : o.ipv6 ? `${family} == ${AF_INET6}` : `(${family} == ${AF_INET} || ${family} == ${AF_INET6})`);
  const emit = (x: Source) => {
    const [sa, da] = [`ntop(${x.family}, ${x.saddr})`, `ntop(${x.family}, ${x.daddr})`];
    return o.count
      ? `@retrans[${x.family}, ${sa}, ${x.sport}, ${da}, ${x.dport}] = count();`
      : `printf(${JSON.stringify(EVENT)}, "${x.type}", pid, ${x.family}, ${sa}, ${x.sport}, ${da}, ${x.dport}, ${x.state}, ${x.seq});`;
  };
  const byFamily = (family: string, v4: Source, v6: Source) => `if (${family} == ${AF_INET}) { ${emit(v4)} } else { ${emit(v6)} }`;
  // the sequence number lives in the skb's control block (struct tcp_skb_cb), host order
  const seq = o.sequence ? `((struct tcp_skb_cb *)(args->skbaddr + ${cbOffset}))->seq` : '0';
  const tp: Source = { type: 'R', family: 'args->family', saddr: 'args->saddr', sport: 'args->sport', daddr: 'args->daddr', dport: 'args->dport', state: 'args->state', seq };
  let text = `
tracepoint:tcp:tcp_retransmit_skb /${only('args->family')}/ {
  ${byFamily(tp.family, tp, { ...tp, saddr: 'args->saddr_v6', daddr: 'args->daddr_v6' })}
}`;
  if (o.lossprobe) {
    // no tracepoint here: read the socket (struct sock_common: addresses, ports with dport in network order, state)
    const c = '$sk->__sk_common';
    const lp: Source = { type: 'L', family: `${c}.skc_family`, saddr: `${c}.skc_rcv_saddr`, sport: `${c}.skc_num`, daddr: `${c}.skc_daddr`, dport: `((${c}.skc_dport & 0xff) << 8) | (${c}.skc_dport >> 8)`, state: `${c}.skc_state`, seq: '0' };
    const lp6 = { ...lp, saddr: `${c}.skc_v6_rcv_saddr.in6_u.u6_addr8`, daddr: `${c}.skc_v6_daddr.in6_u.u6_addr8` };
    text += `
kprobe:tcp_send_loss_probe {
  $sk = (struct sock *)arg0;
  if (${only(lp.family)}) { ${byFamily(lp.family, lp, lp6)} }
}`;
  }
  return text;
}

const num = (v: Value) => Number(v as bigint);

export const tcpretrans = defineTool<Opts>({
  name: 'tcpretrans',
  summary: 'Trace TCP retransmits',
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-s, --sequence', 'display TCP sequence numbers')
      .option('-l, --lossprobe', 'include tail loss probe attempts (needs kprobes)')
      .option('-c, --count', 'count occurred retransmits per flow')
      .familyFlags()
      .kscopeFlags('retransmit, or one for the -c table'),
  async run(o, io) {
    if (o.lossprobe && !pickHook(['kprobe'])) throw new KscopeError('tcpretrans: -l needs a kprobe on tcp_send_loss_probe (it has no tracepoint), and this kernel has no kprobes');
    if (o.verbose) io.err(`tcpretrans: hooks: tracepoint:tcp:tcp_retransmit_skb${o.lossprobe ? ', kprobe:tcp_send_loss_probe' : ''}\n`);
    const btf = Btf.vmlinux();
    const cbOffset = btf.member(btf.findStruct('sk_buff')!, 'cb').offset;
    const endpoint = (addr: Value, port: Value) => `${addr as string}:${num(port)}`;
    const s = new Session(script(o, cbOffset), {
      io,
      verbose: o.verbose,
      onStart: () => {
        io.out('Tracing retransmits ... Hit Ctrl-C to end\n');
        if (o.count || o.json) return;
        const h = sprintf('%-8s %-7s %-2s %-20s %1s> %-20s', 'TIME', 'PID', 'IP', 'LADDR:LPORT', 'T', 'RADDR:RPORT');
        io.out(h + (o.sequence ? sprintf(' %-12s %-10s', 'STATE', 'SEQ') : sprintf(' %-4s', 'STATE')) + '\n');
      },
      onEvent: (_format, [type, pid, family, saddr, sport, daddr, dport, state, seq]) => {
        const ip = num(family!) === AF_INET6 ? 6 : 4;
        const st = TCP_STATES[num(state!)] ?? String(state);
        const time = new Date().toTimeString().slice(0, 8);
        if (o.json) {
          const ev = { time, pid: num(pid!), ip, laddr: saddr, lport: num(sport!), type, raddr: daddr, rport: num(dport!), state: st, ...(o.sequence ? { seq: num(seq!) } : {}) };
          io.out(JSON.stringify(ev) + '\n');
          return;
        }
        const row = sprintf('%-8s %-7d %-2d %-20s %1s> %-20s', time, num(pid!), ip, endpoint(saddr!, sport!), type as string, endpoint(daddr!, dport!));
        io.out(row + (o.sequence ? sprintf(' %-12s %s', st, String(seq)) : ` ${st}`) + '\n');
      },
      onExit: (sess) => {
        if (!o.count) return;
        const snap = sess.snapshot('@retrans');
        const rows = (snap?.kind === 'count' ? snap.entries : [])
          .map((e) => ({ k: (e.key as { items: Value[] }).items, n: Number(e.value as bigint) }))
          // BCC prints the IPv4 table, then the IPv6 one, each sorted by count ascending
          .sort((a, b) => num(a.k[0]!) - num(b.k[0]!) || a.n - b.n);
        if (o.json) {
          const flows = rows.map(({ k, n }) => ({ ip: num(k[0]!) === AF_INET6 ? 6 : 4, laddr: k[1], lport: num(k[2]!), raddr: k[3], rport: num(k[4]!), retransmits: n }));
          io.out(JSON.stringify({ flows }) + '\n');
          return;
        }
        io.out(sprintf('\n%-25s %-25s %-10s', 'LADDR:LPORT', 'RADDR:RPORT', 'RETRANSMITS') + '\n');
        for (const { k, n } of rows) io.out(sprintf('%-20s <-> %-20s %10d', `[${k[1] as string}]#${num(k[2]!)}`, `[${k[3] as string}]#${num(k[4]!)}`, n) + '\n');
      },
    });
    return s.run();
  },
});
