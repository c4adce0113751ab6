/**
 * `kscope -l [PATTERN]` / `-lv`: the probes this machine offers, with bpftrace's wildcards, and with -lv their
 * arguments (`    type name` lines): tracepoint fields from tracefs formats, raw tracepoint arguments from BTF
 * (btf_trace_*), fentry/kprobe arguments from BTF function prototypes, uprobe symbols from ELF and USDT probes
 * from `.note.stapsdt`. uprobe and usdt listings need a binary: `-l 'uprobe:/bin/bash:*'`.
 */
import { Btf } from '../btf/btf.js';
import { allEvents, globToRegExp, tracepointFormat } from '../btf/tracefs.js';
import { kernelFunctions, SOFTWARE_EVENTS } from '../lang/probes.js';
import { splitAttachPoint } from '../lang/parser.js';
import { ElfFile } from '../symbols/elf.js';
import { resolveBinary } from '../symbols/libs.js';

/** One listed probe: its name and, for -lv, its argument lines. */
interface Listed {
  name: string;
  args?: () => string[];
}

function vmlinux(): Btf | undefined {
  try {
    return Btf.vmlinux();
  } catch {
    return undefined;
  }
}

/** `type name` as C declares it (`char comm[16]`, `const char * filename`). */
function decl(type: string, name: string): string {
  const arr = /^(.*?)(\[\d*\])$/.exec(type);
  return arr ? `${arr[1]} ${name}${arr[2]}` : `${type} ${name}`;
}

function tracepoints(): Listed[] {
  return allEvents().map((e) => ({
    name: `tracepoint:${e.system}:${e.name}`,
    args: () => tracepointFormat(e.system, e.name).fields.filter((f) => !f.common).map((f) => decl(f.type, f.name)),
  }));
}

function rawTracepoints(b: Btf | undefined): Listed[] {
  if (!b) return [];
  const out: Listed[] = [];
  for (let id = b.firstId; id < b.nextId; id++) {
    if (b.kind(id) !== 'typedef') continue;
    const m = /^btf_trace_(\w+)$/.exec(b.type(id).name);
    if (m) out.push({ name: `rawtracepoint:${m[1]}`, args: () => b.tracepointArgs(m[1]!).map((a) => decl(b.typeName(a.typeId), a.name)) });
  }
  return out;
}

/** Arguments of a kernel function from BTF, and with `ret` its return value. */
function funcArgs(b: Btf | undefined, func: string, ret: boolean): string[] {
  if (!b || b.findFunc(func) === undefined) return [];
  const f = b.funcArgs(func);
  return [...f.args.map((a) => decl(b.typeName(a.typeId), a.name)), ...(ret ? [decl(b.typeName(f.returnType), 'retval')] : [])];
}

function kprobes(b: Btf | undefined): Listed[] {
  return kernelFunctions('kprobe').map((func) => ({ name: `kprobe:${func}`, args: () => funcArgs(b, func, false) }));
}

function fentries(b: Btf | undefined): Listed[] {
  return b ? kernelFunctions('fentry').map((func) => ({ name: `fentry:${func}`, args: () => funcArgs(b, func, true) })) : [];
}

function uprobes(bin: string): Listed[] {
  const path = resolveBinary(bin);
  const seen = new Set<string>();
  return ElfFile.open(path)
    .symbols()
    .filter((s) => (s.type === 'func' || s.type === 'ifunc') && s.value !== 0 && !seen.has(s.name) && seen.add(s.name))
    .map((s) => ({ name: `uprobe:${path}:${s.name}` }));
}

function usdts(bin: string): Listed[] {
  const path = resolveBinary(bin);
  return ElfFile.open(path)
    .usdtProbes()
    .map((u) => ({ name: `usdt:${path}:${u.provider}:${u.name}`, args: () => u.args.map((a, i) => `${a.signed ? 'int' : 'uint'}${a.size * 8}_t arg${i} (${a.spec})`) }));
}

const software = (): Listed[] => SOFTWARE_EVENTS.map((s) => ({ name: `software:${s}:` }));

/**
 * The probes matching `pattern` (`*` and no provider: everything but uprobes/usdt; a bare word matches anywhere
 * in the name), each followed by its argument lines when `verbose`.
 */
export function listProbes(pattern: string, verbose = false): string[] {
  const b = vmlinux();
  let sources: (() => Listed[])[] = [tracepoints, () => rawTracepoints(b), () => kprobes(b), () => fentries(b), software];
  let glob = pattern.includes(':') ? pattern : `*${pattern}*`;
  const ap = pattern.includes(':') ? splitAttachPoint(pattern) : undefined;
  if (ap && typeof ap !== 'string' && !/[*?[]/.test(ap.provider)) {
    const bin = ap.parts[0] ?? '';
    const byProvider: Record<string, () => Listed[]> = {
      tracepoint: tracepoints,
      rawtracepoint: () => rawTracepoints(b),
      kprobe: () => kprobes(b),
      kretprobe: () => kprobes(b).map((l) => ({ ...l, name: l.name.replace(/^kprobe/, 'kretprobe') })),
      fentry: () => fentries(b),
      fexit: () => fentries(b).map((l) => ({ ...l, name: l.name.replace(/^fentry/, 'fexit') })),
      uprobe: () => uprobes(bin),
      uretprobe: () => uprobes(bin).map((l) => ({ ...l, name: l.name.replace(/^uprobe/, 'uretprobe') })),
      usdt: () => usdts(bin),
      software,
    };
    const src = byProvider[ap.provider];
    if (!src) return [];
    sources = [src];
    // the canonical provider name (t: → tracepoint:, kfunc: → fentry:) and the resolved binary path
    const rest = ap.parts.slice(ap.provider === 'uprobe' || ap.provider === 'uretprobe' || ap.provider === 'usdt' ? 1 : 0);
    const head = ap.provider === 'uprobe' || ap.provider === 'uretprobe' || ap.provider === 'usdt' ? [ap.provider, resolveBinary(bin)] : [ap.provider];
    if (ap.provider === 'usdt' && rest.length === 1) rest.unshift('*');
    glob = [...head, ...rest].join(':');
  }
  const re = globToRegExp(glob);
  const out: string[] = [];
  for (const src of sources)
    for (const l of src()) {
      if (!re.test(l.name)) continue;
      out.push(l.name);
      if (verbose && l.args) {
        try {
          for (const a of l.args()) out.push(`    ${a}`);
        } catch {
          // arguments unknown (no format/BTF for this one): the name alone
        }
      }
    }
  return out;
}
