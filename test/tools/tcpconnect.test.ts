import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inetText } from '../../src/lang/runtime.js';
import { Netns, peerComm, traceDuring, type Client } from '../lib/netns.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ns = Netns.create();
after(() => ns.delete());

/** One client connection to a fresh server on `addr`; resolves once the exchange is over. */
async function exchange(addr: string, send = 100): Promise<{ client: Client; port: number; lport: number }> {
  const srv = ns.server({ addr, send: 10 });
  const port = await srv.port;
  const client = ns.client({ addr, port, send });
  client.go();
  const lport = await client.lport;
  await client.received;
  await srv.received;
  return { client, port, lport };
}

const finish = (c: Client) => {
  c.child.end();
  return c.child.done;
};

test('tcpconnect -L -U: one row per connect with the connecting pid, comm, uid, addresses and both ports (IPv4 and IPv6)', async () => {
  const seen: { pid: number; port: number; lport: number; addr: string; ip: number }[] = [];
  const clients: Client[] = [];
  const r = await traceDuring('tcpconnect', ['-L', '-U'], 'DPORT', async () => {
    for (const [addr, ip] of [['127.0.0.1', 4], ['::1', 6]] as const) {
      const x = await exchange(addr);
      clients.push(x.client);
      seen.push({ pid: x.client.pid, port: x.port, lport: x.lport, addr, ip });
    }
    await new Promise((res) => setTimeout(res, 200));
  });
  await Promise.all(clients.map(finish));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing connect ... Hit Ctrl-C to end');
  assert.equal(lines[1], 'UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT ');
  for (const s of seen) {
    const row = lines.filter((l) => new RegExp(`^0 +${s.pid} `).test(l));
    const pad = (v: string | number, w: number) => String(v).padEnd(w);
    assert.deepEqual(row, [`${pad(0, 6)}${pad(s.pid, 7)} ${pad(peerComm().slice(0, 12), 12)} ${s.ip}  ${pad(s.addr, 16)} ${pad(s.lport, 6)} ${pad(s.addr, 16)} ${pad(s.port, 6)} `], r.out);
  }
});

test('tcpconnect -6 -P PORT: only IPv6 connects to that port are shown; -t starts at 0.000', async () => {
  const srv = ns.server({ addr: '::1', send: 0 });
  const port = await srv.port;
  const clients: Client[] = [];
  const r = await traceDuring('tcpconnect', ['-6', '-t', '-P', `${port},1`], 'DPORT', async () => {
    const other = await exchange('::1'); // another port: filtered out
    const v4 = await exchange('127.0.0.1'); // IPv4: filtered out
    const c = ns.client({ addr: '::1', port, send: 10 });
    c.go();
    await c.received;
    clients.push(other.client, v4.client, c);
  });
  await Promise.all(clients.map(finish));
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').slice(2).filter(Boolean);
  const mine = rows.filter((l) => clients.some((c) => new RegExp(`^\\S+ +${c.pid} `).test(l)));
  assert.equal(mine.length, 1, r.out);
  assert.match(mine[0]!, new RegExp(`^\\d+\\.\\d{3} +${clients[2]!.pid} +\\S+ +6  ::1 +::1 +${port} +$`));
  assert.equal(rows.length, 1, `only the IPv6 connect to ${port}: ${r.out}`);
  assert.match(rows[0]!, /^0\.000 /);
});

test('tcpconnect -c counts connects per address pair and port, printed on Ctrl-C', async () => {
  const port = await ns.server({ addr: '127.0.0.1', send: 0 }).port;
  const other = await ns.server({ addr: '127.0.0.1', send: 0, conns: 2 }).port;
  const clients: Client[] = [];
  const r = await traceDuring('tcpconnect', ['-c'], 'Hit Ctrl-C to end', async () => {
    for (const p of [port, other, other]) {
      const c = ns.client({ addr: '127.0.0.1', port: p, send: 1 });
      c.go();
      await c.received;
      clients.push(c);
    }
  });
  await Promise.all(clients.map(finish));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing connect ... Hit Ctrl-C to end');
  assert.equal(lines[1], '');
  assert.equal(lines[2], 'LADDR                     RADDR                     RPORT                CONNECTS  ');
  const row = (p: number) => lines.filter((l) => l.split(/ +/)[2] === String(p));
  assert.deepEqual(row(port), [`${'127.0.0.1'.padEnd(25)} ${'127.0.0.1'.padEnd(25)} ${String(port).padEnd(20)} ${'1'.padEnd(10)}`]);
  assert.deepEqual(row(other), [`${'127.0.0.1'.padEnd(25)} ${'127.0.0.1'.padEnd(25)} ${String(other).padEnd(20)} ${'2'.padEnd(10)}`]);
  assert.ok(lines.indexOf(row(other)[0]!) < lines.indexOf(row(port)[0]!), 'sorted by count, highest first');
});

test('tcpconnect rejects bad flags with one line and exit code 2', () => {
  for (const [args, msg] of [[['--bogus'], /^tcpconnect: unknown option '--bogus'\n/], [['-4', '-6'], /not allowed with/], [['-P', '80,x'], /invalid port value: 'x'/]] as const) {
    const p = spawnSync(process.execPath, [cli, 'tcpconnect', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, p.stderr);
    assert.match(p.stderr, msg);
  }
});

test('addresses print as inet_ntop does', () => {
  const v6 = (s: string) => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
  assert.equal(inetText(Uint8Array.from([10, 0, 0, 1])), '10.0.0.1');
  assert.equal(inetText(v6('0000 0000 0000 0000 0000 0000 0000 0001')), '::1');
  assert.equal(inetText(v6('0000 0000 0000 0000 0000 0000 0000 0000')), '::');
  assert.equal(inetText(v6('0000 0000 0000 0000 0000 ffff 7f00 0001')), '::ffff:127.0.0.1');
  assert.equal(inetText(v6('2001 0db8 0000 0000 0001 0000 0000 0001')), '2001:db8::1:0:0:1');
  assert.equal(inetText(v6('2001 0db8 0000 0001 0001 0001 0001 0001')), '2001:db8:0:1:1:1:1:1');
  assert.equal(inetText(v6('fe80 0000 0000 0000 0202 b3ff fe1e 8329')), 'fe80::202:b3ff:fe1e:8329');
});
