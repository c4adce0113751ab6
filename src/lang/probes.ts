/**
 * Probe expansion: an attach point as written (`t:syscalls:sys_enter_open*`, `profile:hz:99`, `BEGIN`) becomes
 * one or more concrete attach targets, checked against what this kernel offers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Btf } from '../btf/btf.js';
import { globToRegExp, listEvents } from '../btf/tracefs.js';
import { has, pickHook, whyUnsupported } from '../bpf/features.js';
import { BP_TYPE } from '../bpf/link/watchpoint.js';
import { ElfFile } from '../symbols/elf.js';
import { resolveBinary } from '../symbols/libs.js';
import type { UsdtArg } from '../symbols/usdt.js';
import { KscopeError } from '../sys/errors.js';
import { tracefs } from '../sys/mount.js';
import { PERF_COUNT_SW, PERF_TYPE } from '../sys/perf.js';
import { splitAttachPoint } from './parser.js';

export type Target =
  | { provider: 'begin' | 'end' }
  | { provider: 'tracepoint'; system: string; event: string }
  | { provider: 'rawtracepoint'; event: string }
  | { provider: 'profile' | 'interval' | 'software'; perfType: number; config: number; frequency?: number; period?: number }
  | { provider: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit'; func: string; offset?: number }
  /** `offset`: file offset in `path`; `func`: the symbol (what the func builtin shows) */
  | { provider: 'uprobe' | 'uretprobe'; path: string; func: string; offset: number }
  | { provider: 'usdt'; path: string; name: string; offset: number; semaphore: number; args: UsdtArg[]; func: string }
  /** a hardware breakpoint on `len` bytes at `addr` in the -p/-c process; `type`: HW_BREAKPOINT_R/W/X bits */
  | { provider: 'watchpoint'; addr: bigint; len: number; type: number }
  /** a BPF iterator over kernel objects (`task`, `task_file`, ...), run once after attaching */
  | { provider: 'iter'; name: string };

/** A concrete attach point and the name bpftrace would show for it (the `probe` builtin). */
export interface Expanded {
  name: string;
  target: Target;
}

const SOFTWARE: Record<string, [number, number]> = {
  'cpu-clock': [PERF_COUNT_SW.CPU_CLOCK, 1000000],
  cpu: [PERF_COUNT_SW.CPU_CLOCK, 1000000],
  'task-clock': [PERF_COUNT_SW.TASK_CLOCK, 1000000],
  'page-faults': [PERF_COUNT_SW.PAGE_FAULTS, 100],
  faults: [PERF_COUNT_SW.PAGE_FAULTS, 100],
  'context-switches': [PERF_COUNT_SW.CONTEXT_SWITCHES, 1000],
  cs: [PERF_COUNT_SW.CONTEXT_SWITCHES, 1000],
  'cpu-migrations': [PERF_COUNT_SW.CPU_MIGRATIONS, 1],
  'minor-faults': [PERF_COUNT_SW.PAGE_FAULTS_MIN, 100],
  'major-faults': [PERF_COUNT_SW.PAGE_FAULTS_MAJ, 1],
  'alignment-faults': [PERF_COUNT_SW.ALIGNMENT_FAULTS, 1],
  'emulation-faults': [PERF_COUNT_SW.EMULATION_FAULTS, 1],
  dummy: [PERF_COUNT_SW.DUMMY, 1],
  'bpf-output': [PERF_COUNT_SW.BPF_OUTPUT, 1],
};

export const SOFTWARE_EVENTS = Object.keys(SOFTWARE);

const UNIT_NS: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 };

/** Parses a rate/period like `hz:99`, `s:1`, `ms:10`, `99` (ns) or `1s` into frequency or period (ns). */
function timing(parts: string[]): { frequency?: number; period?: number } | string {
  if (parts.length === 2) {
    const [unit, v] = parts as [string, string];
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) return `invalid rate: ${v}`;
    if (unit === 'hz') return { frequency: n };
    if (unit in UNIT_NS) return { period: n * UNIT_NS[unit]! };
    return `invalid unit: ${unit} (use hz, s, ms, us or ns)`;
  }
  if (parts.length === 1) {
    const m = /^(\d+)(hz|s|ms|us|ns)?$/.exec(parts[0]!);
    if (!m) return `invalid rate: ${parts[0]}`;
    return m[2] === 'hz' ? { frequency: Number(m[1]) } : { period: Number(m[1]) * UNIT_NS[m[2] ?? 'ns']! };
  }
  return 'expected <unit>:<value>';
}

/**
 * Expands one attach point. Returns the concrete targets, or an error message (for a diagnostic at the attach
 * point's range).
 */
export function expandAttachPoint(raw: string, params: readonly string[] = []): Expanded[] | string {
  const ap = splitAttachPoint(raw, params);
  if (typeof ap === 'string') return ap;
  const p = ap.parts;
  switch (ap.provider) {
    case 'begin':
    case 'end':
      if (p.length) return `${ap.provider.toUpperCase()} takes no arguments`;
      return [{ name: ap.provider === 'begin' ? 'BEGIN' : 'END', target: { provider: ap.provider } }];
    case 'tracepoint': {
      if (p.length !== 2) return 'tracepoint probes are tracepoint:<category>:<event>';
      const events = listEvents(`${p[0]}:${p[1]}`);
      if (!events.length) return /[*?[]/.test(raw) ? `no tracepoints match ${p[0]}:${p[1]}` : `tracepoint not found: ${p[0]}:${p[1]}`;
      return events.map((e) => ({ name: `tracepoint:${e.system}:${e.name}`, target: { provider: 'tracepoint', system: e.system, event: e.name } }));
    }
    case 'rawtracepoint': {
      const ev = p[p.length - 1];
      if (!ev || p.length > 2) return 'rawtracepoint probes are rawtracepoint:[module:]<event>';
      return [{ name: `rawtracepoint:${ev}`, target: { provider: 'rawtracepoint', event: ev } }];
    }
    case 'profile':
    case 'interval': {
      const t = timing(p);
      if (typeof t === 'string') return `${ap.provider}: ${t}`;
      const name = `${ap.provider}:${p.join(':')}`;
      return [{ name, target: { provider: ap.provider, perfType: PERF_TYPE.SOFTWARE, config: PERF_COUNT_SW.CPU_CLOCK, ...t } }];
    }
    case 'software': {
      const ev = SOFTWARE[p[0] ?? ''];
      if (!ev) return `unknown software event: ${p[0] ?? ''} (one of: ${SOFTWARE_EVENTS.join(', ')})`;
      const count = p[1] !== undefined ? Number(p[1]) : ev[1];
      if (!Number.isInteger(count) || count <= 0) return `invalid count: ${p[1]}`;
      return [{ name: `software:${p.join(':')}`, target: { provider: 'software', perfType: PERF_TYPE.SOFTWARE, config: ev[0], period: count } }];
    }
    case 'kprobe':
    case 'kretprobe':
    case 'fentry':
    case 'fexit': {
      const spec = p[p.length - 1] ?? '';
      const m = /^([^+]+)(?:\+(\d+|0x[0-9a-f]+))?$/i.exec(spec);
      if (!m) return `${ap.provider} probes are ${ap.provider}:<function>`;
      const [func, offset] = [m[1]!, m[2] !== undefined ? Number(m[2]) : undefined];
      if (/[*?[]/.test(func)) return kernelWildcard(ap.provider, func, offset);
      const hook = kernelHook(ap.provider, func, offset !== undefined);
      if ('why' in hook) {
        const tp = suggestTracepoint(func, ap.provider === 'kretprobe' || ap.provider === 'fexit');
        return `${ap.provider}:${func} can not be attached on this kernel (${hook.why})${tp ? `; try ${tp}` : ''}`;
      }
      return [{ name: `${ap.provider}:${spec}`, target: { provider: hook.hook, func, offset } }];
    }
    case 'uprobe':
    case 'uretprobe':
      if (p.length < 2) return `${ap.provider} probes are ${ap.provider}:<binary>:<function>`;
      return userProbes(ap.provider, p[0]!, p.slice(1).join(':'));
    case 'usdt':
      if (p.length < 2) return 'usdt probes are usdt:<binary>:[<provider>:]<name>';
      return usdtProbes(p[0]!, p.length > 2 ? p[1]! : '*', p[p.length - 1]!);
    case 'watchpoint': {
      if (p.length !== 3) return 'watchpoint probes are watchpoint:<address>:<length>:<mode> (mode: r, w, x or a mix of r and w)';
      const [addr, len, mode] = p as [string, string, string];
      if (!ADDR.test(addr)) return `watchpoint: invalid address ${addr}`;
      if (!['1', '2', '4', '8'].includes(len)) return `watchpoint: invalid length ${len} (1, 2, 4 or 8)`;
      if (!/^(?:x|[rw]{1,2})$/.test(mode) || new Set(mode).size !== mode.length) return `watchpoint: invalid mode ${mode} (r, w, rw or x)`;
      const type = [...mode].reduce((t, c) => t | BP_TYPE[c as 'r' | 'w' | 'x'], 0);
      if (!existsSync('/sys/bus/event_source/devices/breakpoint')) return `watchpoint:${p.join(':')} can not be attached on this kernel (no breakpoint PMU)`;
      return [{ name: `watchpoint:${p.join(':')}`, target: { provider: 'watchpoint', addr: BigInt(addr), len: Number(len), type } }];
    }
    case 'iter': {
      if (p.length !== 1) return p.length === 2 ? 'pinned iterators (iter:<name>:<pin>) are not supported' : 'iter probes are iter:<name> (task, task_file, task_vma, ...)';
      const name = p[0]!;
      let known = false;
      try {
        known = Btf.vmlinux().findFunc(`bpf_iter_${name}`) !== undefined;
      } catch {
        // no kernel BTF: the feature check below says so
      }
      if (!known && has('btf')) return `iter:${name}: this kernel has no such iterator (no bpf_iter_${name} in its BTF)`;
      if (!has('iter')) return `iter:${name} can not be attached on this kernel (${whyUnsupported(['iter'])})`;
      return [{ name: `iter:${name}`, target: { provider: 'iter', name } }];
    }
    default:
      return `${ap.provider} probes are not supported yet`;
  }
}

/**
 * The kernel functions a probe type can name: for fentry/fexit the BTF FUNC names; for kprobes tracefs'
 * available_filter_functions, else (when it is not readable) kallsyms' text symbols. Each name once, in list order.
 */
export function kernelFunctions(kind: 'kprobe' | 'fentry'): string[] {
  if (kind === 'fentry') {
    const b = Btf.vmlinux();
    const out: string[] = [];
    for (let id = b.firstId; id < b.nextId; id++) if (b.kind(id) === 'func') out.push(b.type(id).name);
    return [...new Set(out)];
  }
  let names: string[];
  try {
    names = readFileSync(`${tracefs()}/available_filter_functions`, 'utf8').split('\n').map((l) => l.split(' ')[0]!);
  } catch {
    names = readFileSync('/proc/kallsyms', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/))
      .filter((f) => f[1] === 't' || f[1] === 'T')
      .map((f) => f[2]!);
  }
  // `.cold` parts of split functions are not function entries
  return [...new Set(names.filter((n) => n && !/\.cold(\.\d+)?$/.test(n)))];
}

/**
 * `kprobe:vfs_*`, `kfunc:tcp_*`: one target per matching kernel function, each with its own hook choice. When a
 * match can not be attached here, one error for the whole wildcard saying why.
 */
function kernelWildcard(provider: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit', glob: string, offset: number | undefined): Expanded[] | string {
  const re = globToRegExp(glob);
  const funcs = kernelFunctions(provider === 'fentry' || provider === 'fexit' ? 'fentry' : 'kprobe').filter((f) => re.test(f));
  if (!funcs.length) return `no kernel functions match ${provider}:${glob}`;
  const out: Expanded[] = [];
  for (const func of funcs) {
    const hook = kernelHook(provider, func, offset !== undefined);
    if ('why' in hook) return `${provider}:${glob} can not be attached on this kernel (${hook.why}; ${funcs.length} functions match)`;
    out.push({ name: `${provider}:${func}${offset !== undefined ? `+${offset}` : ''}`, target: { provider: hook.hook, func, offset } });
  }
  return out;
}

/**
 * The hook a kernel function probe uses here: fentry/fexit (typed arguments) when the kernel has trampolines and
 * BTF for the function, else kprobe/kretprobe; a kprobe with an offset stays a kprobe. When neither works, why.
 */
function kernelHook(provider: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit', func: string, hasOffset: boolean): { hook: 'kprobe' | 'kretprobe' | 'fentry' | 'fexit' } | { why: string } {
  const exit = provider === 'kretprobe' || provider === 'fexit';
  let inBtf = false;
  try {
    inBtf = Btf.vmlinux().findFunc(func) !== undefined;
  } catch {
    // no kernel BTF: kprobes only
  }
  const order = hasOffset || !inBtf ? (['kprobe'] as const) : exit ? (['fexit', 'kprobe'] as const) : (['fentry', 'kprobe'] as const);
  const hook = pickHook<'fentry' | 'fexit' | 'kprobe'>(order);
  if (hook === 'kprobe') return { hook: exit ? 'kretprobe' : 'kprobe' };
  return hook ? { hook } : { why: whyUnsupported(order) };
}

/** Well-known kernel functions and the tracepoint that reports the same event. */
const TRACEPOINT_FOR: Record<string, [string, string?]> = {
  vfs_read: ['syscalls:sys_enter_read', 'syscalls:sys_exit_read'],
  vfs_write: ['syscalls:sys_enter_write', 'syscalls:sys_exit_write'],
  vfs_open: ['syscalls:sys_enter_openat', 'syscalls:sys_exit_openat'],
  do_sys_openat2: ['syscalls:sys_enter_openat', 'syscalls:sys_exit_openat'],
  tcp_sendmsg: ['sock:sock_send_length'],
  tcp_recvmsg: ['sock:sock_recv_length'],
  tcp_connect: ['sock:inet_sock_set_state'],
  tcp_v4_connect: ['sock:inet_sock_set_state'],
  tcp_set_state: ['sock:inet_sock_set_state'],
  tcp_retransmit_skb: ['tcp:tcp_retransmit_skb'],
  do_exit: ['sched:sched_process_exit'],
  wake_up_new_task: ['sched:sched_process_fork'],
  finish_task_switch: ['sched:sched_switch'],
  blk_account_io_start: ['block:block_io_start'],
  blk_account_io_done: ['block:block_io_done'],
  kmem_cache_alloc: ['kmem:kmem_cache_alloc'],
  kfree: ['kmem:kfree'],
};

/** `tracepoint:<sys>:<event>` covering what a kernel function probe would see, when this kernel has one. */
export function suggestTracepoint(func: string, exit: boolean): string | undefined {
  const known = TRACEPOINT_FOR[func];
  const sysname = /^(?:__x64_sys_|__ia32_sys_|__se_sys_|__do_sys_|ksys_|do_sys_|sys_)(\w+)$/.exec(func)?.[1];
  const candidates = [
    ...(known ? [exit ? (known[1] ?? known[0]) : known[0]] : []),
    ...(sysname ? [`syscalls:sys_${exit ? 'exit' : 'enter'}_${sysname}`] : []),
    `*:${func}`,
  ];
  for (const c of candidates) {
    try {
      const e = listEvents(c)[0];
      if (e) return `tracepoint:${e.system}:${e.name}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Parses `0x1234` / `1234` (addresses) and `sym+off`. */
const ADDR = /^(0x[0-9a-f]+|\d+)$/i;

/**
 * uprobe/uretprobe targets in a binary or library (path, program on PATH or library short name like `libc`):
 * a symbol, a glob over function symbols, `symbol+offset`, or a virtual address.
 */
function userProbes(provider: 'uprobe' | 'uretprobe', bin: string, spec: string): Expanded[] | string {
  const path = resolveBinary(bin);
  const elf = ElfFile.open(path);
  const at = (func: string, vaddr: number): Expanded => {
    const offset = elf.fileOffsetOf(vaddr);
    if (offset === null) throw new KscopeError(`${provider}:${bin}:${spec}: address 0x${vaddr.toString(16)} is not in a loaded segment of ${path}`);
    return { name: `${provider}:${path}:${func}`, target: { provider, path, func, offset } };
  };
  if (ADDR.test(spec)) {
    const vaddr = Number(spec);
    const s = elf.symbolizeName(vaddr);
    return [{ ...at(s ? s.name : spec, vaddr), name: `${provider}:${path}:${spec}` }];
  }
  const m = /^(.+?)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(spec)!;
  const [sym, off] = [m[1]!, m[2] ? Number(m[2]) : 0];
  if (/[*?[]/.test(sym)) {
    const re = globToRegExp(sym);
    const seen = new Set<number>();
    const out = elf
      .symbols()
      .filter((s) => (s.type === 'func' || s.type === 'ifunc') && s.value !== 0 && re.test(s.name) && !seen.has(s.value) && seen.add(s.value))
      .map((s) => at(s.name, s.value));
    return out.length ? out : `no functions in ${path} match ${sym}`;
  }
  const s = elf.symbolByName(sym);
  if (!s || s.value === 0) return `Could not resolve symbol: ${path}:${sym}`;
  if (off && s.size && off >= s.size) return `Offset ${off} is outside the function ${sym} (size ${s.size})`;
  const e = at(sym, s.value + off);
  return [off ? { ...e, name: `${provider}:${path}:${spec}` } : e];
}

/** USDT probes (`.note.stapsdt`) of a binary or library matching provider and name globs. */
function usdtProbes(bin: string, provider: string, name: string): Expanded[] | string {
  const path = resolveBinary(bin);
  const pr = globToRegExp(provider);
  const nr = globToRegExp(name);
  const out = ElfFile.open(path)
    .usdtProbes()
    .filter((u) => pr.test(u.provider) && nr.test(u.name))
    .map((u): Expanded => ({
      name: `usdt:${path}:${u.provider}:${u.name}`,
      target: { provider: 'usdt', path, name: `${u.provider}:${u.name}`, offset: u.fileOffset, semaphore: u.semaphoreFileOffset, args: u.args, func: u.name },
    }));
  return out.length ? out : `no USDT probes in ${path} match ${provider}:${name}`;
}
