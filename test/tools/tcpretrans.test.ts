import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { feature } from '../../src/bpf/features.js';
import { TCP_STATES } from '../../src/tools/tcpretrans.js';
import { Netns, traceDuring, type Client } from '../lib/netns.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ns = Netns.create();
after(() => ns.delete());
const lossy = ns.lossy(15);

const ROW = /^(\d\d:\d\d:\d\d) (\d+) +([46]) +(\S+):(\d+) +R> (\S+):(\d+) +(\S+) +(\d+)$/;

test('tcpretrans -s and -c see the same retransmits of lossy loopback flows (IPv4 and IPv6), with addresses, ports and states', { skip: lossy ? false : 'neither tc netem nor nftables can drop packets here' }, async () => {
  let ready = 0;
  let go!: () => void;
  const bothReady = new Promise<void>((r) => (go = r));
  let finished!: () => void;
  const trafficDone = new Promise<void>((r) => (finished = r));
  const during = async () => {
    if (++ready === 2) go();
    await trafficDone;
  };
  const flows: { ip: number; addr: string; port: number; lport: number }[] = [];
  const clients: Client[] = [];
  const runs = Promise.all([traceDuring('tcpretrans', ['-s'], 'SEQ', during), traceDuring('tcpretrans', ['-c'], 'Hit Ctrl-C to end', during)]);
  await bothReady;
  for (const [addr, ip] of [['127.0.0.1', 4], ['::1', 6]] as const) {
    // 1 KiB segments: enough packets for the random drops to hit every flow
    const srv = ns.server({ addr, send: 1024 });
    const port = await srv.port;
    const c = ns.client({ addr, port, send: 50 * 1024, delayMs: 2, chunk: 1024 });
    c.go();
    flows.push({ ip, addr, port, lport: await c.lport });
    assert.equal(await c.received, 1024);
    assert.equal(await srv.received, 50 * 1024);
    clients.push(c);
  }
  // let pending retransmits (FINs) through before both tools stop
  ns.lossless();
  await new Promise((r) => setTimeout(r, 1500));
  finished();
  const [trace, count] = await runs;
  for (const c of clients) c.child.end();
  assert.equal(trace.code, 0, trace.err);
  assert.equal(count.code, 0, count.err);

  const lines = trace.out.split('\n');
  assert.equal(lines[0], 'Tracing retransmits ... Hit Ctrl-C to end');
  assert.equal(lines[1], 'TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ       ');
  const rows = lines.slice(2).filter(Boolean).map((l) => ROW.exec(l) ?? assert.fail(`bad row: ${l}`));
  const counted = new Map<string, number>();
  for (const f of flows) {
    // either end retransmits: the client (lport -> port) and the server (port -> lport)
    const mine = rows.filter((m) => m[4] === f.addr && m[6] === f.addr && ((+m[5]! === f.lport && +m[7]! === f.port) || (+m[5]! === f.port && +m[7]! === f.lport)));
    assert.ok(mine.length > 0, `no retransmits seen for ${f.addr} ${f.lport}<->${f.port} (${lossy}):\n${trace.out}`);
    for (const m of mine) {
      assert.equal(m[3], String(f.ip));
      assert.ok(TCP_STATES.includes(m[8]!) && m[8] !== '', m[0]);
      const key = `[${m[4]}]#${m[5]} [${m[6]}]#${m[7]}`;
      counted.set(key, (counted.get(key) ?? 0) + 1);
    }
  }

  const c = count.out.split('\n');
  assert.equal(c[0], 'Tracing retransmits ... Hit Ctrl-C to end');
  assert.equal(c[1], '');
  assert.equal(c[2], 'LADDR:LPORT               RADDR:RPORT               RETRANSMITS');
  for (const [key, n] of counted) {
    const [l, r] = key.split(' ');
    assert.ok(c.includes(`${l!.padEnd(20)} <-> ${r!.padEnd(20)} ${String(n).padStart(10)}`), `${key} ${n}:\n${count.out}`);
  }
  const v6 = c.findIndex((l) => l.startsWith('[::1]'));
  assert.ok(c.slice(3, v6).every((l) => l.startsWith('[') && !l.startsWith('[::')), 'IPv4 flows come first');
});

test('tcpretrans refuses -l without kprobes, and bad flags, with one line', () => {
  const p = spawnSync(process.execPath, [cli, 'tcpretrans', '-4', '-6'], { encoding: 'utf8' });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /^tcpretrans: argument -6\/--ipv6: not allowed with argument -4\/--ipv4\n/);
  const q = spawnSync(process.execPath, [cli, 'tcpretrans', '--bogus'], { encoding: 'utf8' });
  assert.equal(q.status, 2);
  if (!feature('kprobe').supported) {
    const l = spawnSync(process.execPath, [cli, 'tcpretrans', '-l'], { encoding: 'utf8' });
    assert.equal(l.status, 1);
    assert.match(l.stderr, /-l needs a kprobe on tcp_send_loss_probe/);
  }
});
