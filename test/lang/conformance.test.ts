/**
 * Language conformance suite: runs the kscope CLI as a child process against the real kernel for every case in
 * test/lang/cases/*.txt and checks its output.
 *
 * Case file format: cases are separated by blank lines; `#` lines are comments; every line is `KEY value`:
 *   NAME n            case name (required, first)
 *   PROG p            the program (-e); repeated PROG lines are joined with newlines
 *   ARGS a b          extra CLI arguments, split on spaces, placed before -e (e.g. `-q -f json`); `PARAMS` after it
 *   CMD c             passed as `-c c` (traced command)
 *   ENV K=V           environment variable for kscope (repeatable)
 *   BEFORE cmd        shell command run (and waited for) before kscope starts
 *   AFTER cmd         shell command started once kscope attached ("Attached" on stderr, or 1 s with -q)
 *   EXPECT t          a stdout line equal to t (surrounding whitespace ignored)
 *   EXPECT_NONE t     no stdout line equal to t
 *   EXPECT_REGEX r    r (multiline) matches stdout
 *   EXPECT_BLOCK t    consecutive EXPECT_BLOCK lines must appear byte for byte, in order, as a block of stdout
 *   EXPECT_JSON j     some stdout line parses to a value deep-equal to JSON j
 *   STDERR_REGEX r    r matches stderr
 *   STDERR_BLOCK t    like EXPECT_BLOCK, on stderr
 *   RETURN_CODE n     exit status (default 0)
 *   TIMEOUT s         seconds before SIGINT (default 30); a case that times out fails unless it says TIMEOUT_OK
 * In every value, `{{UNIQ}}` is replaced by a token unique to the run, `{{AFTER_PID}}` by the pid of the AFTER shell,
 * and (in PROG/ARGS/CMD, once the BEFORE commands ran) `{{CAT:path}}` by the trimmed contents of file `path`;
 * in BEFORE, `{{CLI}}` is the compiled kscope CLI (run it with node).
 * Stderr never contains a JS stack trace ("    at "), whatever the case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

interface Case {
  file: string;
  fields: [string, string][];
}

const here = dirname(fileURLToPath(import.meta.url));
/** test/lang in the source tree (the compiled test lives in .build/<name>/test/lang). */
const srcDir = resolve(here.replace(/\/(\.build\/[^/]+|dist)\//, '/'));
const cli = resolve(here, '../../src/cli/main.js');

function parseCases(file: string): Case[] {
  const out: Case[] = [];
  let cur: Case | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') {
      cur = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([A-Z_]+)(?: (.*))?$/.exec(line);
    if (!m) throw new Error(`${file}: bad line: ${line}`);
    if (!cur) out.push((cur = { file, fields: [] }));
    cur.fields.push([m[1]!, m[2] ?? '']);
  }
  return out;
}

interface Result {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
  afterPid?: number;
}

async function run(c: Case, uniq: string): Promise<Result> {
  const cat = (v: string) => v.replace(/\{\{CAT:([^}]+)\}\}/g, (_, f: string) => readFileSync(f, 'utf8').trim());
  const get = (k: string) => c.fields.filter(([f]) => f === k).map(([, v]) => cat(v.replaceAll('{{UNIQ}}', uniq)));
  for (const b of c.fields.filter(([f]) => f === 'BEFORE')) execSync(b[1].replaceAll('{{UNIQ}}', uniq).replaceAll('{{CLI}}', cli), { stdio: 'ignore', shell: '/bin/sh' });
  const prog = get('PROG').join('\n');
  const args = [...get('ARGS').flatMap((a) => a.split(' ').filter(Boolean)), ...get('CMD').flatMap((x) => ['-c', x]), ...(prog ? ['-e', prog] : []), ...get('PARAMS').flatMap((a) => a.split(' '))];
  const timeout = Number(get('TIMEOUT')[0] ?? 30) * 1000;
  const env = { ...process.env, ...Object.fromEntries(get('ENV').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const r: Result = { stdout: '', stderr: '', code: null, timedOut: false };
  const after = get('AFTER');
  let started = false;
  const startAfter = () => {
    if (started || !after.length) return;
    started = true;
    for (const cmd of after) {
      const p = spawn('/bin/sh', ['-c', cmd], { stdio: 'ignore' });
      r.afterPid ??= p.pid;
    }
  };
  child.stdout.on('data', (d: Buffer) => (r.stdout += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => {
    r.stderr += d.toString('latin1');
    if (r.stderr.includes('Attached') || r.stderr.includes('attached_probes')) startAfter();
  });
  const fallback = setTimeout(startAfter, 1000);
  const timer = setTimeout(() => {
    r.timedOut = true;
    child.kill('SIGINT');
  }, timeout);
  r.code = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearTimeout(timer);
  clearTimeout(fallback);
  return r;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function check(c: Case, r: Result, uniq: string): void {
  const sub = (v: string) => v.replaceAll('{{AFTER_PID}}', String(r.afterPid ?? -1)).replaceAll('{{UNIQ}}', uniq);
  const ctx = `\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
  assert.doesNotMatch(r.stderr, /^ {4}at /m, `JS stack trace on stderr${ctx}`);
  const get = (k: string) => c.fields.filter(([f]) => f === k).map(([, v]) => sub(v));
  if (!get('TIMEOUT_OK').length) assert.ok(!r.timedOut, `timed out${ctx}`);
  for (const t of get('EXPECT')) assert.match(r.stdout, new RegExp(`^\\s*${esc(t.trim())}\\s*$`, 'm'), `EXPECT ${t}${ctx}`);
  for (const t of get('EXPECT_NONE')) assert.doesNotMatch(r.stdout, new RegExp(`^\\s*${esc(t.trim())}\\s*$`, 'm'), `EXPECT_NONE ${t}${ctx}`);
  for (const t of get('EXPECT_REGEX')) assert.match(r.stdout, new RegExp(t, 'm'), `EXPECT_REGEX ${t}${ctx}`);
  const block = get('EXPECT_BLOCK');
  if (block.length) assert.ok(r.stdout.includes(block.join('\n') + '\n'), `EXPECT_BLOCK\n${block.join('\n')}${ctx}`);
  for (const j of get('EXPECT_JSON')) {
    const want: unknown = JSON.parse(j);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(
      lines.some((l) => {
        try {
          assert.deepEqual(JSON.parse(l), want);
          return true;
        } catch {
          return false;
        }
      }),
      `EXPECT_JSON ${j}${ctx}`,
    );
  }
  const eblock = get('STDERR_BLOCK');
  if (eblock.length) assert.ok(r.stderr.includes(eblock.join('\n') + '\n'), `STDERR_BLOCK\n${eblock.join('\n')}${ctx}`);
  for (const t of get('STDERR_REGEX')) assert.match(r.stderr, new RegExp(t, 'm'), `STDERR_REGEX ${t}${ctx}`);
  if (!r.timedOut) assert.equal(r.code, Number(get('RETURN_CODE')[0] ?? 0), `exit code${ctx}`);
}

const filter = process.env.CASES ? new RegExp(process.env.CASES) : undefined;
const casesDir = join(srcDir, 'cases');
for (const f of readdirSync(casesDir).filter((n) => n.endsWith('.txt')).sort()) {
  const cases = parseCases(join(casesDir, f));
  const suite = f.replace(/\.txt$/, '');
  for (const c of cases) {
    const name = `${suite}.${c.fields.find(([k]) => k === 'NAME')?.[1] ?? '?'}`;
    if (filter && !filter.test(name)) continue;
    test(name, async () => {
      const uniq = `ks${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      check(c, await run(c, uniq), uniq);
    });
  }
}
