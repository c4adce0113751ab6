import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Netns, peerComm, traceDuring, type Client } from '../lib/netns.js';
import { header, row } from '../../src/tools/tcplife.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ns = Netns.create();
after(() => ns.delete());

/** One session: the client sends `up` bytes and half-closes, the server answers `down` bytes and closes. */
interface Session {
  client: Client;
  srvPid: number;
  port: number;
  lport: number;
  addr: string;
}

async function session(addr: string, up: number, down: number): Promise<Session> {
  const srv = ns.server({ addr, send: down });
  const port = await srv.port;
  const client = ns.client({ addr, port, send: up });
  client.go();
  const lport = await client.lport;
  assert.equal(await client.received, down);
  assert.equal(await srv.received, up);
  return { client, srvPid: srv.pid, port, lport, addr };
}

/** Runs tcplife with `args` while `n` sessions (IPv4, then IPv6 when n = 2) exchange 300000 / 50000 bytes. */
async function trace(args: string[], addrs: string[] = ['127.0.0.1']): Promise<{ out: string; sessions: Session[] }> {
  const sessions: Session[] = [];
  const r = await traceDuring('tcplife', args, '\n', async () => {
    for (const a of addrs) sessions.push(await session(a, 300000, 50000));
    // both ends reach CLOSE once the last ACK is in: a moment after the exchange
    await new Promise((res) => setTimeout(res, 300));
  });
  for (const s of sessions) s.client.child.end();
  assert.equal(r.code, 0, r.err);
  return { out: r.out, sessions };
}

const comm10 = () => peerComm().slice(0, 10);
const ms = '\\d+\\.\\d\\d';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('tcplife: one line per closed session for each end, pid and comm of its process, ports, KB sent and received, lifespan', async () => {
  const { out, sessions } = await trace([]);
  const lines = out.split('\n');
  assert.equal(lines[0], 'PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS');
  const [s] = sessions;
  const end = (pid: number, l: number, r: number, tx: number, rx: number) =>
    new RegExp(`^${esc(`${String(pid).padEnd(5)} ${comm10().padEnd(10)} ${'127.0.0.1'.padEnd(15)} ${String(l).padEnd(5)} ${'127.0.0.1'.padEnd(15)} ${String(r).padEnd(5)} ${String(tx).padStart(5)} ${String(rx).padStart(5)} `)}${ms}$`);
  // the client (its task cached at SYN_SENT) and the server (cached at LAST_ACK: it closes second)
  const mine = lines.filter((l) => l.includes(` ${s!.lport} `));
  assert.equal(mine.length, 2, out);
  assert.ok(mine.some((l) => end(s!.client.pid, s!.lport, s!.port, 292, 48).test(l)), `no client row:\n${out}`);
  assert.ok(mine.some((l) => end(s!.srvPid, s!.port, s!.lport, 48, 292).test(l)), `no server row:\n${out}`);
  for (const l of mine) assert.ok(Number(l.split(' ').pop()) > 0 && Number(l.split(' ').pop()) < 5000, l);
});

test('tcplife -w -T -t: IP column and wide address columns, wall clock and seconds since the first session; IPv6', async () => {
  const { out, sessions } = await trace(['-w', '-T', '-t'], ['127.0.0.1', '::1']);
  const lines = out.split('\n');
  assert.equal(lines[0], `TIME     TIME(s)   PID   COMM             IP LADDR${' '.repeat(34)} LPORT RADDR${' '.repeat(34)} RPORT  TX_KB  RX_KB MS`);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d 0\.000000  /);
  for (const s of sessions) {
    const ip = s.addr.includes(':') ? '6 ' : '4 ';
    const client = lines.filter((l) => l.slice(19).startsWith(`${String(s.client.pid).padEnd(5)} `));
    assert.equal(client.length, 1, out);
    assert.match(client[0]!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\d+\\.\\d{6} +${esc(`${String(s.client.pid).padEnd(5)} ${peerComm().padEnd(16)} ${ip} ${s.addr.padEnd(39)} ${String(s.lport).padEnd(5)} ${s.addr.padEnd(39)} ${String(s.port).padEnd(5)}    292     48 `)}${ms}$`));
  }
});

test('tcplife -s -T: comma-separated values', async () => {
  const { out, sessions } = await trace(['-s', '-T']);
  const lines = out.split('\n');
  assert.equal(lines[0], 'TIME,PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS');
  const s = sessions[0]!;
  assert.ok(lines.some((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d,${esc(`${s.srvPid},${peerComm()},4,127.0.0.1,${s.port},127.0.0.1,${s.lport},48,292,`)}${ms}$`).test(l)), out);
});

test('tcplife -D, -L and -p keep only the matching end of a session', async () => {
  const rport = await trace(['-D', '1,2,3', '-4']); // no session to these ports
  assert.deepEqual(rport.out.split('\n').slice(1).filter((l) => rport.sessions.some((s) => l.includes(` ${s.lport} `))), [], rport.out);
  for (const [flag, which] of [['-D', 'client'], ['-L', 'server'], ['-p', 'client']] as const) {
    const sessions: Session[] = [];
    const srv = ns.server({ addr: '127.0.0.1', send: 10 });
    const port = await srv.port;
    const client = ns.client({ addr: '127.0.0.1', port, send: 10 });
    const r = await traceDuring('tcplife', [flag, String(flag === '-p' ? client.pid : port)], '\n', async () => {
      client.go();
      sessions.push({ client, srvPid: srv.pid, port, lport: await client.lport, addr: '127.0.0.1' });
      await client.received;
      await new Promise((res) => setTimeout(res, 300));
    });
    client.child.end();
    const mine = r.out.split('\n').filter((l) => l.includes(` ${sessions[0]!.lport} `));
    assert.equal(mine.length, 1, `${flag}: ${r.out}`);
    assert.ok(mine[0]!.startsWith(`${String(which === 'client' ? client.pid : srv.pid).padEnd(5)} `), `${flag}: ${r.out}`);
  }
});

test('tcplife --json -6: one object per IPv6 session', async () => {
  // nothing is printed before the first session: small IPv6 sessions until tcplife has printed one
  let warm = true;
  const warmUp = (async () => {
    while (warm) (await session('::1', 1, 1)).client.child.end();
  })();
  const sessions: Session[] = [];
  const r = await traceDuring('tcplife', ['--json', '-6'], '\n', async () => {
    warm = false;
    await warmUp;
    for (const a of ['127.0.0.1', '::1']) sessions.push(await session(a, 300000, 50000));
    await new Promise((res) => setTimeout(res, 300));
  });
  for (const s of sessions) s.client.child.end();
  assert.equal(r.code, 0, r.err);
  const objs = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(objs.every((x) => x.ip === 6), '-6 drops the IPv4 session');
  const s = sessions[1]!;
  const mine = objs.filter((x) => x.lport === s.lport || x.rport === s.lport);
  assert.equal(mine.length, 2, r.out);
  const client = mine.find((x) => x.pid === s.client.pid)!;
  const some = { time: undefined, ts: undefined, ms: undefined, tx_bytes: undefined, rx_bytes: undefined };
  assert.deepEqual({ ...client, ...some }, { ...some, pid: s.client.pid, comm: peerComm(), ip: 6, laddr: '::1', lport: s.lport, raddr: '::1', rport: s.port });
  // tcp_sock's counters, as the kernel keeps them: the SYN and the FIN count as a byte each
  assert.ok([300000, 300001, 300002].includes(client.tx_bytes as number) && [50000, 50001].includes(client.rx_bytes as number), JSON.stringify(client));
  assert.match(client.time as string, /^\d\d:\d\d:\d\d$/);
  assert.ok((client.ts as number) > 0 && (client.ms as number) > 0);
});

test('tcplife header and row layouts', () => {
  const e = { tsUs: 0n, pid: 123456, comm: 'a-very-long-comm', ip: 4 as const, laddr: '10.0.0.1', lport: 22, raddr: '10.0.0.2', rport: 40000, txBytes: 2047, rxBytes: 1024, spanUs: 1234 };
  assert.equal(header({}), 'PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS\n');
  assert.equal(row({}, e, new Date(), 0), '123456 a-very-lon 10.0.0.1        22    10.0.0.2        40000     1     1 1.23\n');
  assert.equal(row({ csv: true, timestamp: true }, e, new Date(), 1.5), '1.500000,123456,a-very-long-comm,4,10.0.0.1,22,10.0.0.2,40000,1,1,1.23\n');
});

test('tcplife rejects bad flags with one line and exit code 2', () => {
  for (const [args, msg] of [[['--bogus'], /unknown option '--bogus'/], [['-4', '-6'], /not allowed with/], [['-L', '80,x'], /invalid localport value: 'x'/]] as const) {
    const p = spawnSync(process.execPath, [cli, 'tcplife', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, p.stderr);
    assert.match(p.stderr, msg);
  }
});
