import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cmdFlagsDesc, flagsDesc } from '../../src/tools/biolatency.js';
import { blockDevices, exactCount, runTool, writeDirect } from './blockio.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const { loop } = blockDevices();
const BANNER = 'Tracing block device I/O... Hit Ctrl-C to end.';
const ROW = /^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|[*+ ]{40}\|$/;
const N = 2000;
const write = () => writeDirect(loop.path, N);

/** The histogram rows following `headerLine` (up to the next blank line) and their total count. */
function histAfter(lines: string[], headerLine: number): { rows: string[]; total: number } {
  const rows: string[] = [];
  for (let i = headerLine + 1; i < lines.length && lines[i] !== ''; i++) rows.push(lines[i]!);
  assert.ok(rows.length > 0 && rows.every((l) => ROW.test(l)), rows.join('\n'));
  return { rows, total: rows.reduce((s, l) => s + Number(ROW.exec(l)![3]), 0) };
}

test('biolatency counts every request of a direct-I/O dd in a usecs histogram; -e sums agree', async (t) => {
  await exactCount(t, N, async () => {
    const r = await runTool('biolatency', ['-e', '-d', loop.name], write, { ready: BANNER });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[0], BANNER);
    assert.equal(lines[1], '');
    assert.equal(lines[2], '     usecs               : count     distribution');
    const { rows, total } = histAfter(lines, 2);
    assert.match(rows[0]!, /^\s+0 -> 1 /);
    const ext = /^avg = (\d+) usecs, total: (\d+) usecs, count: (\d+)$/.exec(lines[2 + rows.length + 2] ?? '');
    assert.ok(ext, r.out);
    assert.equal(Number(ext[3]), total, 'the -e count is the histogram total');
    assert.equal(Number(ext[1]), Math.floor(Number(ext[2]) / total));
    assert.ok(Number(ext[1]) > 0);
    return { count: total, out: r.out };
  });
});

test('biolatency -D -m -Q: a msecs section for the disk the I/O went to, timed from the request\'s creation', async (t) => {
  await exactCount(t, N, async () => {
    const r = await runTool('biolatency', ['-D', '-m', '-Q', '-d', loop.name], write, { ready: BANNER });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.deepEqual(lines.slice(0, 3), [BANNER, '', ''], 'BCC prints a blank line before the report and one before each section');
    assert.equal(lines[3], `disk = ${loop.name}`, r.out);
    assert.equal(lines[4], '     msecs               : count     distribution');
    return { count: histAfter(lines, 4).total, out: r.out };
  });
});

test('biolatency -F sections by flags: O_DIRECT writes are (Idle-)Sync-Write; interval/count ends by itself with -T', async (t) => {
  await exactCount(t, N, async () => {
    const r = await runTool('biolatency', ['-F', '-T', '-d', loop.name, '3', '1'], write, { ready: BANNER, interrupt: false });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines[1], '');
    assert.match(lines[2]!, /^\d\d:\d\d:\d\d$/);
    // raw tracepoints see cmd_flags (REQ_IDLE, and REQ_FUA for some), the classic ones only rwbs
    const sections = lines.flatMap((l, i) => (/^flags = (\w+-)*Sync-Write$/.test(l) ? [i] : []));
    assert.ok(sections.length > 0, r.out);
    return { count: sections.reduce((s, at) => s + histAfter(lines, at + 1).total, 0), out: r.out };
  });
});

test('biolatency flag descriptions from cmd_flags and rwbs follow BCC prefix order', () => {
  assert.equal(cmdFlagsDesc(1n | (1n << 11n) | (1n << 15n)), 'Idle-Sync-Write');
  assert.equal(cmdFlagsDesc((1n << 12n) | (1n << 13n)), 'Priority-Metadata-Read');
  assert.equal(cmdFlagsDesc(1n << 19n), 'ReadAhead-Read');
  assert.equal(cmdFlagsDesc(2n | (1n << 17n)), 'ForcedUnitAccess-Flush');
  assert.equal(cmdFlagsDesc(4n | (1n << 21n) | (1n << 20n)), 'NoWait-Background-Unknown');
  assert.equal(flagsDesc('WS'), 'Sync-Write');
  assert.equal(flagsDesc('RA'), 'ReadAhead-Read');
  assert.equal(flagsDesc('WSM'), 'Metadata-Sync-Write');
  assert.equal(flagsDesc('FWFS'), 'ForcedUnitAccess-Sync-Write');
  assert.equal(flagsDesc('FF'), 'Flush');
  assert.equal(flagsDesc('FS'), 'Sync-Flush');
  assert.equal(flagsDesc('DE'), 'SecureErase');
  assert.equal(flagsDesc('N'), 'Unknown');
});

test('biolatency rejects bad flags (exit 2) and unknown disks (exit 1)', () => {
  for (const args of [['--bogus'], ['-D', '-F'], ['0']]) {
    const p = spawnSync(process.execPath, [cli, 'biolatency', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
  }
  const p = spawnSync(process.execPath, [cli, 'biolatency', '-d', 'kscope-no-such-disk'], { encoding: 'utf8' });
  assert.equal(p.status, 1);
  assert.match(p.stderr, /no such disk 'kscope-no-such-disk'/);
});
