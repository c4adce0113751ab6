/**
 * The BCC tools on stock kernels (run by `npm run test:vm` in each kernel of the matrix; issue 7): a tool with a
 * kprobe/fentry variant chooses it there, says so with --verbose, and reports the same real activity with the same
 * fields as the host tests in test/tools/ see through tracepoints. The tools without such a variant name the same
 * hooks as on a kernel without kprobes. tcptop takes fexit only where its tracepoints are missing: the 6.1 kernel of
 * the matrix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileC, GATE, startGated } from '../lib/cc.js';
import { TCP_STATES } from '../../src/tools/tcpretrans.js';
import { Netns, peerComm, traceDuring, type Client } from '../lib/netns.js';

/** the guest runs Node ~18x slower than a host: a tool takes 10-30 s to attach */
const SLOW = { timeout: 240_000 };
const ns = Netns.create();
after(() => ns.delete());

/** The `TOOL: hooks: ...` line a tool printed on stderr with --verbose. */
function hooksLine(tool: string, err: string): string {
  const line = err.split('\n').find((l) => l.startsWith(`${tool}: hooks: `));
  assert.ok(line, `${tool} --verbose named no hooks; stderr:\n${err}`);
  return line;
}

/** One client connection to a fresh server on `addr` in the test namespace; resolves once the exchange is over. */
async function exchange(addr: string, up: number, down: number, pace?: { delayMs: number; chunk: number }): Promise<{ client: Client; srvPid: number; port: number; lport: number }> {
  const srv = ns.server({ addr, send: down });
  const port = await srv.port;
  const client = ns.client({ addr, port, send: up, ...pace });
  client.go();
  const lport = await client.lport;
  assert.equal(await client.received, down);
  assert.equal(await srv.received, up);
  return { client, srvPid: srv.pid, port, lport };
}

/**
 * Loads a kernel module and the modules it depends on: the guest has the kernel's modules but no modules.dep (so
 * modprobe, and with it tc's automatic loading, finds nothing) and no kmod, only busybox's insmod, which wants an
 * uncompressed file. Already loaded is fine.
 */
function insmod(name: string): void {
  if (existsSync(`/sys/module/${name}`)) return;
  const find = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const f = e.isDirectory() ? find(p) : e.name.replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_') === name ? p : undefined;
      if (f) return f;
    }
    return undefined;
  };
  const file = find(`/lib/modules/${release()}/kernel`);
  assert.ok(file, `no module ${name} for ${release()}`);
  const unpack = ({ '.xz': 'xz', '.zst': 'zstd', '.gz': 'gzip' } as Record<string, string>)[/\.\w+$/.exec(file)![0]];
  const ko = unpack ? execFileSync(unpack, ['-dc', file]) : readFileSync(file);
  for (const dep of /depends=([^\0]*)/.exec(ko.toString('latin1'))?.[1]?.split(',').filter(Boolean) ?? []) insmod(dep.replace(/-/g, '_'));
  const tmp = join(tmpdir(), `${name}.ko`);
  writeFileSync(tmp, ko);
  execFileSync('busybox', ['insmod', tmp]);
  rmSync(tmp);
}

/**
 * A reader whose 100-byte FIFO read waits ~200 ms: the writer (a forked child) opens the FIFO, pauses, then writes. The
 * pause starts when both ends are open, a little before the read does, so the read waits a little less.
 */
const FIFO_READER = `${GATE}
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
int main(int argc, char **argv) { prctl(PR_SET_NAME, "kfslow-vm"); char buf[100];
  wait_go();
  if (fork() == 0) { int w = open(argv[1], O_WRONLY); usleep(200000); if (write(w, "hello", 5) != 5) _exit(1); _exit(0); }
  int r = open(argv[1], O_RDONLY); if (read(r, buf, sizeof buf) != 5) return 1; wait(0); return 0; }`;

test('fileslower uses kprobes on vfs_read/vfs_write and shows a slow FIFO read with -a: comm, tid, R, bytes, latency >= 150 ms, file name', SLOW, async () => {
  const bin = compileC(FIFO_READER);
  const fifo = join(tmpdir(), `kscope-vm-fifo-${process.pid}`);
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  const c = startGated(bin, [fifo]);
  try {
    const r = await traceDuring('fileslower', ['--verbose', '-a', '100'], 'FILENAME\n', async () => {
      c.go();
      assert.equal((await c.done).code, 0, 'the FIFO reader failed');
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(hooksLine('fileslower', r.err), 'fileslower: hooks: kprobe+kretprobe vfs_read, vfs_write');
    assert.match(r.err, /^kprobe:vfs_read \{$/m, 'the kernel side attaches kprobe:vfs_read');
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'Tracing sync read/writes slower than 100 ms');
    assert.equal(lines[1], 'TIME(s)  COMM           TID    D BYTES   LAT(ms) FILENAME');
    const rows = lines.slice(2).filter((l) => l.endsWith(` kscope-vm-fifo-${process.pid}`)).map((l) => l.split(/ +/));
    assert.equal(rows.length, 1, r.out);
    const [time, comm, tid, dir, bytes, lat] = rows[0]!;
    assert.match(time!, /^\d+\.\d{3}$/);
    assert.deepEqual([comm, Number(tid), dir, Number(bytes)], ['kfslow-vm', c.pid, 'R', 100]);
    assert.ok(Number(lat) >= 150 && Number(lat) < 5000, `FIFO read latency ${lat} ms`);
  } finally {
    c.end();
    rmSync(fifo, { force: true });
  }
});

/** A TcpExt counter of the test namespace (/proc/net/netstat: a line of names, then a line of values). */
function tcpExt(counter: string): number {
  const [names, values] = ns.run(['cat', '/proc/net/netstat']).split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.split(' '));
  const i = names!.indexOf(counter);
  assert.ok(i > 0, `no TcpExt ${counter}`);
  return Number(values![i]);
}

const RETRANS_ROW = /^(\d\d:\d\d:\d\d) (\d+) +([46]) +(\S+):(\d+) +([RL])> (\S+):(\d+) +(\S+)$/;

test('tcpretrans -l attaches its kprobe on tcp_send_loss_probe and reports each tail loss probe the kernel counts, and the retransmits, of lossy loopback flows', SLOW, async () => {
  insmod('sch_netem');
  const lossy = ns.lossy(15);
  assert.ok(lossy, 'neither tc netem nor nftables can drop packets in the guest');
  const flows: { port: number; lport: number }[] = [];
  const clients: Client[] = [];
  const probesBefore = tcpExt('TCPLossProbes');
  const r = await traceDuring('tcpretrans', ['-l', '--verbose'], 'STATE', async () => {
    // 1 KiB segments sent alone (TCP_NODELAY) 400 ms apart, each the tail of its flight: losing it or its ACK is
    // repaired by a loss probe (due 2 RTT + 200 ms after a lone segment); up to six flows until the namespace counts
    // one (a loaded 6.12 guest once sent none in three)
    for (let i = 0; i < 6 && tcpExt('TCPLossProbes') === probesBefore; i++) {
      const x = await exchange('127.0.0.1', 10 * 1024, 1024, { delayMs: 400, chunk: 1024 });
      flows.push(x);
      clients.push(x.client);
    }
    ns.lossless();
    await new Promise((res) => setTimeout(res, 1500));
  });
  const probesSent = tcpExt('TCPLossProbes') - probesBefore;
  for (const c of clients) c.child.end();
  assert.equal(r.code, 0, r.err);
  assert.equal(hooksLine('tcpretrans', r.err), 'tcpretrans: hooks: tracepoint:tcp:tcp_retransmit_skb, kprobe:tcp_send_loss_probe');
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing retransmits ... Hit Ctrl-C to end');
  assert.equal(lines[1], 'TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE');
  const rows = lines.slice(2).filter(Boolean).map((l) => RETRANS_ROW.exec(l) ?? assert.fail(`bad row: ${l}`));
  // either end sends: the client (lport -> port) and the server (port -> lport)
  const ours = (m: RegExpExecArray) =>
    m[4] === '127.0.0.1' && m[7] === '127.0.0.1' && flows.some((f) => (+m[5]! === f.lport && +m[8]! === f.port) || (+m[5]! === f.port && +m[8]! === f.lport));
  assert.ok(rows.every(ours), `rows of other flows:\n${r.out}`);
  assert.ok(rows.some((m) => m[6] === 'R'), `no retransmits (R) seen (${lossy}):\n${r.out}`);
  for (const m of rows) assert.ok(m[3] === '4' && TCP_STATES.includes(m[9]!) && m[9] !== '', m[0]);
  // the kprobe sees every call, the kernel counts the calls that sent a probe
  assert.ok(probesSent > 0, `no tail loss probe was sent in ${flows.length} lossy flows (${lossy})`);
  const probes = rows.filter((m) => m[6] === 'L').length;
  assert.ok(probes >= probesSent, `${probes} L rows, but the kernel sent ${probesSent} loss probes:\n${r.out}`);
});

test('tcpconnect traces tcp_v4_connect/tcp_v6_connect (kprobes, or fentry/fexit where the kernel has trampolines) as BCC: IPv4 and IPv6 connects with pid, comm, uid, addresses, LPORT and DPORT; -c -6 -P counts', SLOW, async () => {
  const seen: { x: Awaited<ReturnType<typeof exchange>>; addr: string; ip: number }[] = [];
  const r = await traceDuring('tcpconnect', ['--verbose', '-L', '-U'], 'DPORT', async () => {
    for (const [addr, ip] of [['127.0.0.1', 4], ['::1', 6]] as const) seen.push({ x: await exchange(addr, 100, 10), addr, ip });
  });
  for (const { x } of seen) x.client.child.end();
  assert.equal(r.code, 0, r.err);
  assert.match(hooksLine('tcpconnect', r.err), /^tcpconnect: hooks: (kprobe|fentry):tcp_v4_connect, (kretprobe|fexit):tcp_v4_connect, \1:tcp_v6_connect, \2:tcp_v6_connect$/);
  assert.match(r.err, /^kprobe:tcp_v4_connect \{/m, 'the kernel side probes tcp_v4_connect');
  const pad = (v: string | number, w: number) => String(v).padEnd(w);
  assert.equal(r.out.split('\n')[1], 'UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT ');
  for (const { x, addr, ip } of seen) {
    const rows = r.out.split('\n').filter((l) => new RegExp(`^0 +${x.client.pid} `).test(l));
    assert.deepEqual(rows, [`${pad(0, 6)}${pad(x.client.pid, 7)} ${pad(peerComm().slice(0, 12), 12)} ${ip}  ${pad(addr, 16)} ${pad(x.lport, 6)} ${pad(addr, 16)} ${pad(x.port, 6)} `], r.out);
  }
  // -c -6 -P: only the IPv6 connects to the given port are counted
  const counted: Awaited<ReturnType<typeof exchange>>[] = [];
  const srv = ns.server({ addr: '::1', send: 0, conns: 2 });
  const port = await srv.port;
  const c = await traceDuring('tcpconnect', ['-c', '-6', '-P', String(port)], 'Hit Ctrl-C to end', async () => {
    counted.push(await exchange('127.0.0.1', 1, 1), await exchange('::1', 1, 1));
    for (let i = 0; i < 2; i++) {
      const cl = ns.client({ addr: '::1', port, send: 1 });
      cl.go();
      await cl.received;
      cl.child.end();
    }
  });
  for (const x of counted) x.client.child.end();
  assert.equal(c.code, 0, c.err);
  const lines = c.out.split('\n').filter(Boolean);
  assert.deepEqual(lines.slice(1), ['LADDR                     RADDR                     RPORT                CONNECTS  ', `${pad('::1', 25)} ${pad('::1', 25)} ${pad(port, 20)} ${pad(2, 10)}`], c.out);
});

test('tcptop uses fexit on tcp_sendmsg/tcp_recvmsg where the sock tracepoints are missing (before 6.3) and shows both ends of IPv4 and IPv6 loopback connections with RX_KB/TX_KB', SLOW, async () => {
  const fexit = !existsSync('/sys/kernel/tracing/events/sock/sock_send_length');
  const ends = [
    { addr: '127.0.0.1', up: 300000, down: 50000, w: 21, x: undefined as Awaited<ReturnType<typeof exchange>> | undefined },
    { addr: '::1', up: 200000, down: 70000, w: 32, x: undefined as Awaited<ReturnType<typeof exchange>> | undefined },
  ];
  const r = await traceDuring('tcptop', ['-C', '-S', '--verbose', '60'], 'Hit Ctrl-C to end', async () => {
    for (const e of ends) e.x = await exchange(e.addr, e.up, e.down);
  });
  for (const e of ends) e.x?.client.child.end();
  assert.equal(r.code, 0, r.err);
  assert.equal(hooksLine('tcptop', r.err), `tcptop: hooks: ${fexit ? 'kretfunc:tcp_sendmsg, kretfunc:tcp_recvmsg' : 'tracepoint:sock:sock_send_length, sock:sock_recv_length'}`);
  const kb = (n: number) => String(Math.floor(n / 1024)).padStart(6);
  for (const { addr, up, down, w, x } of ends) {
    const { client, srvPid, port, lport } = x!;
    const row = (pid: number, l: string, rem: string, rx: number, tx: number) => `${String(pid).padEnd(7)} ${peerComm().slice(0, 12).padEnd(12)} ${l.padEnd(w)} ${rem.padEnd(w)} ${kb(rx)} ${kb(tx)}`;
    const mine = r.out.split('\n').filter((l) => l.startsWith(`${client.pid} `) || l.startsWith(`${srvPid} `));
    assert.deepEqual(mine.sort(), [row(client.pid, `${addr}:${lport}`, `${addr}:${port}`, down, up), row(srvPid, `${addr}:${port}`, `${addr}:${lport}`, up, down)].sort(), r.out);
  }
});

test('execsnoop, runqlat, biolatency and biosnoop name the same tracepoint hooks as on a kernel without kprobes', SLOW, async () => {
  // block_io_start exists from Linux 6.5; older kernels start a request at block_rq_insert
  const start = existsSync('/sys/kernel/tracing/events/block/block_io_start') ? 'block_io_start' : 'block_rq_insert';
  const expected: Record<string, string> = {
    execsnoop: 'execsnoop: hooks: tracepoint:syscalls:sys_enter_execve, sys_exit_execve, sys_enter_execveat, sys_exit_execveat (BCC: kprobe/kretprobe on the execve syscall function; the tracepoints exist on every kernel and also see execveat)',
    runqlat: 'runqlat: hooks: tp_btf sched_wakeup, sched_wakeup_new, sched_switch',
    biolatency: 'biolatency: hooks: rawtracepoint:block_rq_issue, rawtracepoint:block_rq_complete (requests keyed by struct request pointer)',
    biosnoop: `biosnoop: hooks: rawtracepoint:${start}, rawtracepoint:block_rq_issue, rawtracepoint:block_rq_complete (requests keyed by struct request pointer)`,
  };
  // all four at once (each only attaches, then stops on Ctrl-C): the guest is slow
  const runs = await Promise.all(Object.keys(expected).map((tool) => traceDuring(tool, ['--verbose'], '\n', async () => undefined)));
  Object.keys(expected).forEach((tool, i) => {
    assert.equal(runs[i]!.code, 0, `${tool}: ${runs[i]!.err}`);
    assert.equal(hooksLine(tool, runs[i]!.err), expected[tool]);
  });
});
