import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Netns, peerComm, traceDuring, type Client, type Server } from '../lib/netns.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ns = Netns.create();
after(() => ns.delete());

const kb = (n: number) => Math.floor(n / 1024);
const comm = () => peerComm().slice(0, 12);

/** The row tcptop must print for one end of a connection. */
function row(v6: boolean, pid: number, l: string, r: string, rx: number, tx: number): string {
  const w = v6 ? 32 : 21;
  return `${String(pid).padEnd(7)} ${comm().padEnd(12)} ${l.padEnd(w)} ${r.padEnd(w)} ${String(kb(rx)).padStart(6)} ${String(kb(tx)).padStart(6)}`;
}

/** Runs one exchange: the client sends `up` bytes, the server answers with `down`. */
async function exchange(srv: Server, addr: string, up: number): Promise<{ client: Client; port: number; lport: number }> {
  const port = await srv.port;
  const client = ns.client({ addr, port, send: up });
  client.go();
  const lport = await client.lport;
  await client.received;
  await srv.received;
  return { client, port, lport };
}

test('tcptop -C -S: per-connection RX_KB/TX_KB of both ends of IPv4 and IPv6 loopback connections, reported on Ctrl-C', async () => {
  const ends: { v6: boolean; srv: Server; addr: string; up: number; down: number; x?: Awaited<ReturnType<typeof exchange>> }[] = [
    { v6: false, addr: '127.0.0.1', up: 300000, down: 50000, srv: ns.server({ addr: '127.0.0.1', send: 50000 }) },
    { v6: true, addr: '::1', up: 200000, down: 70000, srv: ns.server({ addr: '::1', send: 70000 }) },
  ];
  const r = await traceDuring('tcptop', ['-C', '-S', '60'], 'Hit Ctrl-C to end', async () => {
    for (const e of ends) e.x = await exchange(e.srv, e.addr, e.up);
  });
  for (const e of ends) e.x!.client.child.end();
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Tracing... Output every 60 secs. Hit Ctrl-C to end');
  assert.equal(lines[1], '');
  assert.equal(lines[2], 'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB');
  const v6h = lines.indexOf('PID     COMM         LADDR6                           RADDR6                            RX_KB  TX_KB');
  assert.ok(v6h > 3 && lines[v6h - 1] === '', r.out);
  for (const { v6, addr, up, down, srv, x } of ends) {
    const table = v6 ? lines.slice(v6h + 1) : lines.slice(3, v6h);
    const mine = table.filter((l) => l.startsWith(`${x!.client.pid} `) || l.startsWith(`${srv.pid} `));
    assert.deepEqual(mine.sort(), [
      row(v6, x!.client.pid, `${addr}:${x!.lport}`, `${addr}:${x!.port}`, down, up),
      row(v6, srv.pid, `${addr}:${x!.port}`, `${addr}:${x!.lport}`, up, down),
    ].sort(), r.out);
  }
  // busiest first within a table
  const total = (l: string) => l.split(/ +/).slice(-2).reduce((s, n) => s + Number(n), 0);
  const v4rows = lines.slice(3, v6h - 1);
  assert.deepEqual(v4rows.map(total), [...v4rows.map(total)].sort((a, b) => b - a));
});

test('tcptop -6 -p PID shows only that process\'s IPv6 connections', async () => {
  const s4 = ns.server({ addr: '127.0.0.1', send: 4096 });
  const s6 = ns.server({ addr: '::1', send: 8192 });
  const clients: Client[] = [];
  const r = await traceDuring('tcptop', ['-C', '-S', '-6', '-p', String(s6.pid), '60'], 'Hit Ctrl-C to end', async () => {
    clients.push((await exchange(s4, '127.0.0.1', 20000)).client);
    clients.push((await exchange(s6, '::1', 30000)).client);
  });
  for (const c of clients) c.child.end();
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').slice(1).filter(Boolean);
  assert.equal(rows.length, 2, r.out);
  assert.match(rows[0]!, /^PID +COMM +LADDR6 +RADDR6 +RX_KB +TX_KB$/);
  assert.match(rows[1]!, new RegExp(`^${s6.pid} +\\S+ +::1:\\d+ +::1:\\d+ +${kb(30000)} +${kb(8192)}$`));
});

test('tcptop interval count: clears the screen, prints the loadavg line each time, and stops after count reports', () => {
  const p = spawnSync(process.execPath, [cli, 'tcptop', '1', '2'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(p.status, 0, p.stderr);
  const parts = p.stdout.split('\x1b[H\x1b[2J\x1b[3J');
  assert.equal(parts.length, 3, JSON.stringify(p.stdout));
  assert.equal(parts[0], 'Tracing... Output every 1 secs. Hit Ctrl-C to end\n');
  for (const part of parts.slice(1)) assert.match(part, /^\d\d:\d\d:\d\d loadavg: [\d.]+ [\d.]+ [\d.]+ \d+\/\d+ \d+\n\n/);
});

test('tcptop rejects bad flags and intervals with one line and exit code 2', () => {
  for (const [args, msg] of [[['--bogus'], /^tcptop: unknown option '--bogus'\n/], [['-4', '-6'], /not allowed with/], [['0'], /invalid interval value: '0'/]] as const) {
    const p = spawnSync(process.execPath, [cli, 'tcptop', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, p.stderr);
    assert.match(p.stderr, msg);
  }
});
