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
 *   AFTER cmd         shell command started once the CLI attached (its attach message, or 1 s with -q)
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
 * in BEFORE, `{{CLI}}` is the shell command that runs the CLI under test (node + compiled kscope CLI, or bpftrace).
 * Stderr never contains a JS stack trace ("    at "), whatever the case.
 *
 * Differential mode: with `KSCOPE_DIFF=bpftrace` (`npm run test:diff`) every case also runs, as test `NAME
 * [bpftrace]`, under the `bpftrace` on PATH with the same arguments, substitutions, BEFORE/AFTER commands and
 * timeouts, and is checked against the same expectations after normalising what bpftrace 0.17 prints differently
 * from current bpftrace (see `normalise017`). test/lang/intended-differences.txt lists, one `GLOB KIND reason` line
 * each, the cases expected to differ (`differs`: the run must fail the expectations, or the entry is stale) and the
 * cases bpftrace cannot run at all (`skip`: not run). An unlisted case that bpftrace fails, an entry whose case
 * passes under bpftrace, and an entry that names no case all fail the run. Without bpftrace on PATH the mode fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
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

/** A CLI under test: its command line, extra environment, its stderr line saying it attached, and its normalisation. */
interface Target {
  cmd: string[];
  env?: Record<string, string>;
  attached: RegExp;
  normalise?: (r: Result) => void;
}
const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const kscope: Target = { cmd: [process.execPath, cli], attached: /Attached \d+ probe|"attached_probes"/ };

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

async function run(c: Case, uniq: string, t: Target): Promise<Result> {
  const cat = (v: string) => v.replace(/\{\{CAT:([^}]+)\}\}/g, (_, f: string) => readFileSync(f, 'utf8').trim());
  const get = (k: string) => c.fields.filter(([f]) => f === k).map(([, v]) => cat(v.replaceAll('{{UNIQ}}', uniq)));
  for (const b of c.fields.filter(([f]) => f === 'BEFORE')) execSync(b[1].replaceAll('{{UNIQ}}', uniq).replaceAll('{{CLI}}', t.cmd.map(shq).join(' ')), { stdio: 'ignore', shell: '/bin/sh' });
  const prog = get('PROG').join('\n');
  const args = [...get('ARGS').flatMap((a) => a.split(' ').filter(Boolean)), ...get('CMD').flatMap((x) => ['-c', x]), ...(prog ? ['-e', prog] : []), ...get('PARAMS').flatMap((a) => a.split(' '))];
  const timeout = Number(get('TIMEOUT')[0] ?? 30) * 1000;
  const env = { ...process.env, ...t.env, ...Object.fromEntries(get('ENV').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
  const child = spawn(t.cmd[0]!, [...t.cmd.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
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
    if (t.attached.test(r.stderr)) startAfter();
  });
  const fallback = setTimeout(startAfter, 1000);
  const timer = setTimeout(() => {
    r.timedOut = true;
    child.kill('SIGINT');
  }, timeout);
  r.code = await new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  clearTimeout(timer);
  clearTimeout(fallback);
  t.normalise?.(r);
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

/**
 * bpftrace 0.17 output in current bpftrace's form, for what changed between the versions
 * (/work/shared/research/bpftrace-anchor.md §1.12, §2): since 0.24 the attach message goes to stderr as
 * `Attached N probes` (text) or the `attached_probes` record (JSON); current prints no trailing space after a
 * histogram's `@name:` header. Also drops 0.17's RLIMIT_MEMLOCK complaint (about this machine, not the program) and
 * the attach marker line the runner asks for.
 */
function normalise017(r: Result): void {
  const moved: string[] = [];
  r.stdout = r.stdout.replace(/^(?:Attaching (\d+ probes?)\.\.\.|(\{"type": "attached_probes".*))\n/m, (_, n?: string, json?: string) => {
    moved.push(n ? `Attached ${n}\n` : `${json}\n`);
    return '';
  });
  r.stdout = r.stdout.replace(/^(@.*): \n(?=[[(])/gm, '$1:\n');
  r.stderr = moved.join('') + r.stderr.replace(/^(?:ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK.*|__BPFTRACE_NOTIFY_PROBES_ATTACHED)\n/gm, '');
}

/** One line of intended-differences.txt: cases (glob over `suite.NAME`) that differ under bpftrace, or cannot run. */
interface Difference {
  glob: string;
  re: RegExp;
  kind: 'differs' | 'skip';
  reason: string;
}

function parseDifferences(file: string): Difference[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(differs|skip)\s+(\S.*)$/.exec(l);
      if (!m) throw new Error(`${file}: want "GLOB differs|skip reason", got: ${l}`);
      const re = new RegExp(`^${m[1]!.split('*').map(esc).join('.*')}$`);
      return { glob: m[1]!, re, kind: m[2] as Difference['kind'], reason: m[3]! };
    });
}

/** The differential target named by KSCOPE_DIFF, if any. */
function diffTarget(): Target | undefined {
  const want = process.env.KSCOPE_DIFF;
  if (!want) return undefined;
  if (want !== 'bpftrace') throw new Error(`KSCOPE_DIFF=${want}: the only differential target is bpftrace`);
  let path: string;
  try {
    path = execSync('command -v bpftrace', { encoding: 'utf8', shell: '/bin/sh' }).trim();
  } catch {
    throw new Error('KSCOPE_DIFF=bpftrace but there is no bpftrace on PATH');
  }
  // 0.17 prints "Attaching N probes..." before attaching; this variable (its runtime tests' hook) marks the end.
  // 0.17's -c also refuses a command name found twice on PATH (/bin and /usr/bin are one directory here).
  const seen = new Set<string>();
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => {
    const real = existsSync(d) ? realpathSync(d) : d;
    return !seen.has(real) && !!seen.add(real);
  });
  const env = { __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1', PATH: dirs.join(':') };
  return { cmd: [path], env, attached: /^__BPFTRACE_NOTIFY_PROBES_ATTACHED$/m, normalise: normalise017 };
}

const uniqToken = () => `ks${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const bpftrace = diffTarget();
const differences = parseDifferences(join(srcDir, 'intended-differences.txt'));
const filter = process.env.CASES ? new RegExp(process.env.CASES) : undefined;
const casesDir = join(srcDir, 'cases');
const names: string[] = [];
for (const f of readdirSync(casesDir).filter((n) => n.endsWith('.txt')).sort()) {
  const cases = parseCases(join(casesDir, f));
  const suite = f.replace(/\.txt$/, '');
  for (const c of cases) {
    const name = `${suite}.${c.fields.find(([k]) => k === 'NAME')?.[1] ?? '?'}`;
    names.push(name);
    if (filter && !filter.test(name)) continue;
    test(name, async () => {
      const uniq = uniqToken();
      check(c, await run(c, uniq, kscope), uniq);
    });
    if (!bpftrace) continue;
    const d = differences.find((x) => x.re.test(name));
    test(`${name} [bpftrace]`, { skip: d?.kind === 'skip' && `not run under bpftrace: ${d.reason}` }, async (t) => {
      const uniq = uniqToken();
      let failure: Error | undefined;
      try {
        check(c, await run(c, uniq, bpftrace), uniq);
      } catch (e) {
        failure = e as Error;
      }
      if (!d) {
        if (!failure) return;
        throw new Error(`bpftrace differs (not in intended-differences.txt): ${failure.message}`);
      }
      assert.ok(failure, `intended-differences.txt lists ${d.glob} (${d.reason}) but bpftrace now meets the expectations`);
      t.diagnostic(`intended difference: ${d.reason}`);
    });
  }
}

test('intended-differences.txt names only existing cases', () => {
  for (const d of differences) assert.ok(names.some((n) => d.re.test(n)), `${d.glob} matches no case`);
});
