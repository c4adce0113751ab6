/**
 * BTF reader benchmark: indexing vmlinux BTF in a fresh process, member lookups, full decode, and bpftool's dump
 * of the same file for scale. Run: node .build/NAME/bench/btf.js [runs]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Btf } from '../src/btf/btf.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

interface ChildResult { read: number; index: number; firstLookup: number; types: number }

/** In a fresh process: read the file, index it, then one cold struct + member lookup. */
function child(): void {
  const t0 = performance.now();
  const buf = readFileSync(VMLINUX);
  const t1 = performance.now();
  const btf = Btf.parse(buf);
  const t2 = performance.now();
  btf.member(btf.findStruct('task_struct')!, 'pid');
  const t3 = performance.now();
  const r: ChildResult = { read: t1 - t0, index: t2 - t1, firstLookup: (t3 - t2) * 1000, types: btf.nextId - 1 };
  process.stdout.write(JSON.stringify(r));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  const runs = Number(process.argv[2] ?? 11);
  const self = fileURLToPath(import.meta.url);
  const fresh: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [self, '--child'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    fresh.push(JSON.parse(r.stdout) as ChildResult);
  }

  // Warm member lookups (memoised per struct after the first).
  const btf = Btf.vmlinux();
  const paths: [number, string][] = [
    [btf.findStruct('task_struct')!, 'pid'],
    [btf.findStruct('task_struct')!, 'real_parent'],
    [btf.findStruct('sock')!, '__sk_common.skc_dport'],
    [btf.findStruct('sock_common')!, 'skc_dport'],
  ];
  const N = 200_000;
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const [s, p] = paths[i & 3];
    btf.member(s, p);
  }
  const memberUs = ((performance.now() - t) * 1000) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) btf.findStruct('task_struct');
  const findUs = ((performance.now() - t) * 1000) / N;

  // Full decode of every type on a fresh instance (in this warm process).
  const buf = readFileSync(VMLINUX);
  const decode: number[] = [];
  for (let i = 0; i < 3; i++) {
    const b = Btf.parse(buf);
    t = performance.now();
    for (let id = 1; id < b.nextId; id++) b.type(id);
    decode.push(performance.now() - t);
  }

  let bpftool: number | undefined;
  try {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      execFileSync('sh', ['-c', `bpftool btf dump file ${VMLINUX} > /dev/null`], { stdio: 'pipe' });
      times.push(performance.now() - t);
    }
    bpftool = median(times);
  } catch {
    bpftool = undefined;
  }

  const row = (what: string, value: string): string => `| ${what.padEnd(58)} | ${value.padStart(12)} |`;
  console.log(`vmlinux BTF: ${fresh[0].types} types, ${readFileSync(VMLINUX).length} bytes; ${runs} fresh processes`);
  console.log(row('measure', 'median'));
  console.log(row('-'.repeat(58), '-'.repeat(12)));
  console.log(row('read /sys/kernel/btf/vmlinux (fresh process)', `${median(fresh.map((r) => r.read)).toFixed(1)} ms`));
  console.log(row('index: offsets, kinds, name hash (fresh process)', `${median(fresh.map((r) => r.index)).toFixed(1)} ms`));
  console.log(row('first findStruct + member after index (fresh process)', `${median(fresh.map((r) => r.firstLookup)).toFixed(0)} µs`));
  console.log(row('member(struct, path), warm', `${memberUs.toFixed(3)} µs/op`));
  console.log(row('findStruct(name), warm', `${findUs.toFixed(3)} µs/op`));
  console.log(row('decode all types (memoised objects)', `${median(decode).toFixed(0)} ms`));
  console.log(row('bpftool btf dump file vmlinux > /dev/null (wall)', bpftool === undefined ? 'no bpftool' : `${bpftool.toFixed(0)} ms`));
}

if (process.argv[2] === '--child') child();
else main();
