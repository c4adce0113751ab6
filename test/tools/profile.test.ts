import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC, GATE, startGated } from '../lib/cc.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Burns CPU in uniquely named functions from "go" until stdin closes (so it is alive when profile symbolises). */
const BURNER = `${GATE}
#include <poll.h>
#include <sys/prctl.h>
volatile unsigned long sink;
// a local array gives the leaf a frame (gcc omits frame set-up in leaf functions that need no stack, hiding the caller)
__attribute__((noinline)) void kscope_prof_spin_leaf(void) { volatile unsigned long acc[2] = {0, 0};
  for (unsigned long i = 0; i < 100000; i++) acc[i & 1] += i * i; sink += acc[0]; }
__attribute__((noinline)) void kscope_prof_spin_outer(void) { for (int i = 0; i < 20; i++) kscope_prof_spin_leaf(); }
int main(void) { prctl(PR_SET_NAME, "kprof-burn"); wait_go(); struct pollfd p = { 0, POLLIN, 0 };
  while (poll(&p, 1, 0) == 0) kscope_prof_spin_outer(); return 0; }`;

/** Runs `kscope profile args` (ending by its duration) while the burner burns. */
const run = (args: (pid: number) => string[]) => profileWhile(BURNER, args);

/** Runs `kscope profile args` (ending by its duration) while the C program `source` runs. */
async function profileWhile(source: string, args: (pid: number) => string[]): Promise<{ code: number | null; out: string; err: string; pid: number }> {
  const c = startGated(compileC(source));
  const p = spawn(process.execPath, [cli, 'profile', ...args(c.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d));
  p.stdout.on('data', (d: Buffer) => (out += d));
  c.go();
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  c.end();
  await c.done;
  return { code, out, err, pid: c.pid };
}

interface Block {
  frames: string[];
  comm: string;
  pid: number;
  count: number;
}

function blocks(text: string): Block[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((b) => {
      const lines = b.replace(/^\n/, '').split('\n');
      const m = /^ {4}- {16}(.*) \((\d+)\)$/.exec(lines[lines.length - 2]!);
      assert.ok(m && /^ {8}\d+$/.test(lines[lines.length - 1]!), `not a stack block: ${JSON.stringify(b)}`);
      return { frames: lines.slice(0, -2).map((l) => l.replace(/^ {4}/, '')), comm: m[1]!, pid: Number(m[2]), count: Number(lines[lines.length - 1]) };
    });
}

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

test('profile attributes the burner\'s samples to it, with its own functions in the user stack; --svg and --speedscope hold the same samples', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kscope-profile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svg = join(dir, 'flame.svg');
  const json = join(dir, 'profile.json');
  const r = await run((pid) => ['-p', String(pid), '--svg', svg, '--speedscope', json, '4']);
  assert.equal(r.code, 0, r.err);
  const [banner, blank, ...rest] = r.out.split('\n');
  assert.equal(banner, `Sampling at 49 Hertz of PID ${r.pid} by user + kernel stack for 4 secs.`);
  assert.equal(blank, '');
  const bs = blocks(rest.join('\n'));
  assert.ok(bs.length > 0 && bs.every((b) => b.pid === r.pid && b.comm === 'kprof-burn'), r.out);
  // sorted by count ascending, as BCC prints them
  assert.deepEqual(bs.map((b) => b.count), [...bs.map((b) => b.count)].sort((a, b) => a - b));
  const mine = bs.filter((b) => b.frames.some((f) => /^kscope_prof_spin_leaf\+0x[0-9a-f]+ \[p-[0-9a-f]+\]$/.test(f)));
  const n = mine.reduce((s, b) => s + b.count, 0);
  assert.ok(n >= 25, `only ${n} samples in kscope_prof_spin_leaf for 4 s at 49 Hz:\n${r.out}`);
  // user frames in order below the leaf: the caller, then main
  for (const b of mine) {
    const user = b.frames.slice(b.frames.findIndex((f) => f.startsWith('kscope_prof_spin_leaf+')));
    assert.match(user[1] ?? '', /^kscope_prof_spin_outer\+0x[0-9a-f]+ \[p-/, b.frames.join('\n'));
    assert.match(user[2] ?? '', /^main\+0x[0-9a-f]+ \[p-/, b.frames.join('\n'));
  }
  const total = bs.reduce((s, b) => s + b.count, 0);

  const doc = JSON.parse(readFileSync(json, 'utf8')) as { shared: { frames: { name: string }[] }; profiles: { samples: number[][]; weights: number[]; endValue: number }[] };
  const p = doc.profiles[0]!;
  assert.equal(p.endValue, total);
  assert.equal(p.weights.reduce((s, w) => s + w, 0), total);
  const names = doc.shared.frames.map((f) => f.name);
  assert.ok(p.samples.some((s) => s.map((i) => names[i]).join(';').startsWith('kprof-burn;') && s.map((i) => names[i]).join(';').includes('main;kscope_prof_spin_outer;kscope_prof_spin_leaf')), JSON.stringify(doc));

  const text = readFileSync(svg, 'utf8');
  assert.match(text, /<g class="f" data-n="kscope_prof_spin_leaf" data-c="\d+"/);
  if (!chromium) return t.skip('chromium is not installed (apt-get install -y chromium): the SVG was not rendered in a browser');
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${mkdtempSync(join(dir, 'chrome-'))}`];
  const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${svg}`], { encoding: 'utf8', timeout: 60000 });
  assert.equal(dom.status, 0, dom.stderr);
  // the DOM after the script ran: frames laid out with their (possibly cut) names, the leaf function among them
  assert.match(dom.stdout, /data-n="kscope_prof_spin_leaf"[^>]*>.*?<rect x="[\d.]+" y="\d+" width="[\d.]+"[^>]*>.*?<text[^>]*>kscope_prof_(?:spin_leaf|sp.*?\.\.)<\/text>/);
  assert.match(dom.stdout, /<text[^>]*>kprof-burn<\/text>/);
  const png = join(dir, 'flame.png');
  const shot = spawnSync(chromium, [...flags, `--screenshot=${png}`, '--window-size=1200,600', `file://${svg}`], { encoding: 'utf8', timeout: 60000 });
  assert.equal(shot.status, 0, shot.stderr);
  assert.ok(statSync(png).size > 5000, 'the screenshot is (nearly) blank');
});

test('profile -f -d -a prints folded stacks: comm, user frames root first, "-", kernel frames with _[k]', async () => {
  const r = await run((pid) => ['-f', '-d', '-a', '-p', String(pid), '4']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  assert.ok(lines.length > 0 && lines.every((l) => /^kprof-burn;.* \d+$/.test(l)), r.out);
  const mine = lines.filter((l) => /;main;kscope_prof_spin_outer;kscope_prof_spin_leaf(;-;[^;]+_\[k\](;[^;]+_\[k\])*)? \d+$/.test(l));
  assert.ok(mine.reduce((s, l) => s + Number(l.split(' ').pop()), 0) >= 25, r.out);
  assert.deepEqual(lines.map((l) => Number(l.split(' ').pop())), lines.map((l) => Number(l.split(' ').pop())).sort((a, b) => a - b));
});

test('profile rejects bad and conflicting flags with one line and exit code 2', () => {
  for (const [args, msg] of [
    [['--bogus'], /^profile: unknown option '--bogus'\n/],
    [['-p', '1', '-L', '2'], /not allowed with argument -p\/--pid/],
    [['-U', '-K'], /not allowed with argument -U/],
    [['-F', '99', '-c', '10'], /not allowed with argument -F/],
    [['-p', 'x'], /invalid pid value: 'x'/],
  ] as const) {
    const p = spawnSync(process.execPath, [cli, 'profile', ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')}: ${p.stderr}`);
    assert.match(p.stderr, msg);
  }
});

/**
 * Spins in a leaf reached through 14 levels of calls, each level through `kprof_a` or `kprof_b` as the bits of a
 * pseudo-random number say: 16384 distinct user stacks, so at a high sampling rate many distinct stacks hash to a
 * bucket of the 16384-entry stack map that another stack holds, and get_stackid fails (-EEXIST).
 */
const COLLIDER = `${GATE}
#include <poll.h>
#include <sys/prctl.h>
volatile unsigned long sink;
__attribute__((noinline)) void kprof_spin(void) { volatile unsigned long acc[2] = {0, 0};
  for (unsigned long i = 0; i < 3000; i++) acc[i & 1] += i; sink += acc[0]; }
__attribute__((noinline)) void kprof_b(unsigned x, int d);
__attribute__((noinline)) void kprof_a(unsigned x, int d) { if (!d) kprof_spin(); else if (x & 1) kprof_a(x >> 1, d - 1); else kprof_b(x >> 1, d - 1); __asm__ volatile(""); }
__attribute__((noinline)) void kprof_b(unsigned x, int d) { if (!d) kprof_spin(); else if (x & 1) kprof_a(x >> 1, d - 1); else kprof_b(x >> 1, d - 1); __asm__ volatile(""); }
int main(void) { prctl(PR_SET_NAME, "kprof-coll"); wait_go(); struct pollfd p = { 0, POLLIN, 0 }; unsigned x = 2463534242u;
  while (poll(&p, 1, 0) == 0) for (int i = 0; i < 64; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; kprof_a(x, 14); } return 0; }`;

/** Runs `kscope profile args` (ending by its duration) while the collider runs. */
const collide = (args: (pid: number) => string[]) => profileWhile(COLLIDER, args);

test('profile prints [Missed User Stack] where the stack map could not store a user stack, counts them in a WARNING, and prints no [Missed Kernel Stack] for user-mode samples', async () => {
  const r = await collide((pid) => ['-d', '-p', String(pid), '-F', '999', '5']);
  assert.equal(r.code, 0, r.err);
  const bs = blocks(r.out.split('\n').slice(2).join('\n'));
  assert.ok(bs.every((b) => b.pid === r.pid && b.comm === 'kprof-coll'), r.out);
  const missedUser = bs.filter((b) => b.frames.includes('[Missed User Stack]'));
  const missedKernel = bs.filter((b) => b.frames.includes('[Missed Kernel Stack]'));
  // the failed walks share one key (same pid, comm and error) per kernel stack
  const lost = missedUser.reduce((n, b) => n + b.count, 0);
  assert.ok(missedUser.length >= 1 && lost >= 20, `${lost} samples in ${missedUser.length} [Missed User Stack] blocks:\n${missedUser.map((b) => b.frames.join('\n')).join('\n\n')}`);
  // a missed stack is one line, with no "--" delimiter next to it
  for (const b of [...missedUser, ...missedKernel]) assert.ok(!b.frames.includes('--') && b.frames.filter((f) => f.startsWith('[Missed')).length === b.frames.filter((f) => f === '[Missed User Stack]' || f === '[Missed Kernel Stack]').length, b.frames.join('\n'));
  // samples that interrupted user mode have no kernel stack (-EFAULT): just user frames, no placeholder
  const userOnly = bs.filter((b) => /^kprof_spin\+0x[0-9a-f]+ \[p-/.test(b.frames[0]!));
  assert.ok(userOnly.length > missedKernel.length, `${userOnly.length} user-mode blocks, ${missedKernel.length} [Missed Kernel Stack]`);
  assert.match(r.err, new RegExp(`^WARNING: ${missedUser.length + missedKernel.length} stack traces could not be displayed\\.$`, 'm'));
});

test('profile -f -U: a failed user stack walk is the [Missed User Stack] frame of its folded line', async () => {
  const r = await collide((pid) => ['-f', '-U', '-p', String(pid), '-F', '999', '4']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  const missed = lines.filter((l) => /^kprof-coll;\[Missed User Stack\] \d+$/.test(l));
  assert.equal(missed.length, 1, 'one key: the same pid and comm with a failed user stack');
  assert.ok(lines.some((l) => /^kprof-coll;.*;main;kprof_a;.*;kprof_spin \d+$/.test(l)), r.out);
  assert.match(r.err, /^WARNING: 1 stack traces could not be displayed\.$/m);
});

test('profile --stack-storage-size sizes the stack map: with one entry, every user stack but the first is [Missed User Stack]', async () => {
  const r = await collide((pid) => ['-f', '-U', '--stack-storage-size', '1', '-p', String(pid), '-F', '999', '2']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n').filter(Boolean);
  const stacks = lines.filter((l) => !l.includes('[Missed User Stack]'));
  assert.ok(lines.some((l) => /^kprof-coll;\[Missed User Stack\] \d+$/.test(l)), r.out);
  assert.ok(stacks.length <= 1, `one stack map entry holds one stack:\n${stacks.join('\n')}`);
});
