/**
 * Semantic analysis: probe expansion, map and variable types, function signatures and printf formats. Produces a
 * ProgramInfo that codegen consumes; every problem is a Diagnostic at the offending range.
 *
 * Map types are fixed by their first assignment in program order (bpftrace semantics); a map read before any
 * assignment in the text is resolved by a second pass.
 */
import { Btf, type BtfArg } from '../btf/btf.js';
import { tracepointFormat, type TraceField } from '../btf/tracefs.js';
import { readFileSync, statfsSync, statSync } from 'node:fs';
import { net, os, zlib } from '../sys/builtins.js';
import { KscopeError } from '../sys/errors.js';
import { X86_64_PT_REGS_OFFSET } from '../symbols/usdt.js';
import { checkFormat, parseFormat, type ParsedFormat } from '../output/bpftrace.js';
import type * as A from './ast.js';
import { buildTypes, ProgramTypes } from './ctypes.js';
import { CompileError, Diagnostic } from './diagnostics.js';
import { expandAttachPoint, type Expanded, type Target } from './probes.js';
import type { Range, Source } from './source.js';
import { BOOL, I64, NONE, U32, U64, fitKey, isInt, sameType, storageSize, typeName, unify, type Ty } from './types.js';

export type AggKind = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'stats' | 'hist' | 'lhist';
export const AGGREGATES: ReadonlySet<string> = new Set(['count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist']);

export interface MapInfo {
  name: string;
  /** 'value' for plain assignment; otherwise the aggregation */
  kind: AggKind | 'value';
  /** undefined for a scalar map (`@x`) */
  key?: Ty;
  /** value type for 'value' maps; integer signedness for sum/min/max */
  value: Ty;
  /** hist: sub-buckets exponent; lhist: min/max/step */
  bits?: number;
  lhist?: { min: number; max: number; step: number };
  maxEntries: number;
  declaredType?: string;
  range: Range;
}

export interface ProbeInfo {
  probe: A.Probe;
  targets: Expanded[];
}

export interface Config {
  /** pid of the -c command (the `cpid` builtin), 0 without -c */
  cpid: number;
  /** -p PID: every probe (but BEGIN/END/interval) fires only in this process; uprobes attach to it */
  pid?: number;
  maxStrlen: number;
  /** appended when printing a string that fills its buffer (no NUL: it was cut); '' prints none */
  strTruncTrailer: string;
  maxMapKeys: number;
  stackLimit: number;
  /** default mode of kstack/ustack */
  stackMode: 'bpftrace' | 'perf' | 'raw';
  printMapsOnExit: boolean;
  /** bytes cat() prints at most */
  maxCatBytes: number;
  /** -k: report helper errors (failed reads, map updates) as warnings at run time */
  helperWarnings: boolean;
  /** --unsafe: system() and signal() are allowed */
  unsafe: boolean;
  /** most probes a program may attach (wildcards expanded) */
  maxProbes: number;
}

/** Map types `let @m = <type>(N)` may declare. */
const MAP_DECL_TYPES = ['hash', 'lruhash', 'percpuhash', 'percpulruhash'];

/** Functions that need --unsafe (cat() does not, in bpftrace either). */
const UNSAFE = new Set(['system', 'signal', 'override']);

/** bpftrace's wording for a call with `n` arguments where `min`..`max` are accepted. */
function argCountError(name: string, n: number, min: number, max: number): string {
  const count = (k: number) => (k === 0 ? 'no arguments' : k === 1 ? 'one argument' : `${k} arguments`);
  const need = min === max ? `requires ${count(min)}` : n < min ? `requires at least ${count(min)}` : `takes up to ${count(max)}`;
  return `${name}() ${need} (${n} provided)`;
}

/** A signal number from its name (`SIGKILL`, `KILL`) or number text. */
export function signalNumber(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name) > 0 && Number(name) < 65 ? Number(name) : undefined;
  const n = (os().constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
  return n;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

/**
 * `cgroupid(path)`: the id of a cgroup v2 directory, which is its kernfs inode number (what bpf_get_current_cgroup_id
 * returns, and what name_to_handle_at's handle holds); a message when the path is not a cgroup v2 directory.
 */
export function cgroupId(path: string): bigint | string {
  try {
    if (statfsSync(path).type !== CGROUP2_SUPER_MAGIC) return `cgroupid(): ${path} is not in a cgroup v2 file system`;
    return statSync(path, { bigint: true }).ino;
  } catch (e) {
    return `cgroupid(): cannot resolve cgroup path ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/** Whether the running kernel's build config (/proc/config.gz) sets `option`; undefined when it is not readable. */
function kernelConfigHas(option: string): boolean | undefined {
  try {
    return new RegExp(`^${option}=[ym]$`, 'm').test(zlib().gunzipSync(readFileSync('/proc/config.gz')).toString('latin1'));
  } catch {
    return undefined;
  }
}

/** The bytes of an IPv4 (4) or IPv6 (16) address literal, or undefined. */
export function ptonBytes(text: string): Buffer | undefined {
  if (net().isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!net().isIPv6(text)) return undefined;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const words = (v4 ? text.slice(0, -v4[1]!.length) + '0:0' : text).split('::').map((h) => (h ? h.split(':').map((w) => parseInt(w, 16)) : []));
  const all = words.length === 2 ? [...words[0]!, ...new Array(8 - words[0]!.length - words[1]!.length).fill(0), ...words[1]!] : words[0]!;
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  if (v4) Buffer.from(v4[1]!.split('.').map(Number)).copy(b, 12);
  return b;
}

/** bpftrace's defaults (current release: max_strlen 1024). */
export const DEFAULT_CONFIG: Config = { cpid: 0, maxStrlen: 1024, strTruncTrailer: '..', maxMapKeys: 4096, stackLimit: 127, stackMode: 'bpftrace', printMapsOnExit: true, maxCatBytes: 10240, helperWarnings: false, unsafe: false, maxProbes: 1024 };

/** Config variable names (lower case, without `bpftrace_`; old names too) and the Config field each sets. */
const CONFIG_KEYS: Record<string, 'maxStrlen' | 'strTruncTrailer' | 'maxMapKeys' | 'stackMode' | 'printMapsOnExit' | 'maxCatBytes' | 'maxProbes'> = {
  max_probes: 'maxProbes',
  max_strlen: 'maxStrlen',
  strlen: 'maxStrlen',
  str_trunc_trailer: 'strTruncTrailer',
  max_map_keys: 'maxMapKeys',
  map_keys_max: 'maxMapKeys',
  stack_mode: 'stackMode',
  print_maps_on_exit: 'printMapsOnExit',
  max_cat_bytes: 'maxCatBytes',
  cat_bytes_max: 'maxCatBytes',
};

/**
 * Applies one config variable (`key` as in a config block or an env var name) to `cfg`; returns an error message
 * for a bad value, or undefined. Unknown keys are an error in a config block and ignored in the environment.
 */
export function setConfig(cfg: Config, key: string, value: string | boolean | bigint | { ident: string }, fromEnv = false): string | undefined {
  const name = key.toLowerCase().replace(/^bpftrace_/, '');
  const field = CONFIG_KEYS[name];
  if (!field) return fromEnv ? undefined : `Unrecognized config variable: ${key}`;
  const text = typeof value === 'object' ? value.ident : String(value);
  if (field === 'stackMode') {
    if (text !== 'bpftrace' && text !== 'perf' && text !== 'raw') return `Invalid value for ${name}: ${text} (bpftrace, perf or raw)`;
    cfg.stackMode = text;
  } else if (field === 'strTruncTrailer') {
    cfg.strTruncTrailer = text;
  } else if (field === 'printMapsOnExit') {
    if (!['true', 'false', '1', '0'].includes(text)) return `Invalid value for ${name}: ${text} (true or false)`;
    cfg.printMapsOnExit = text === 'true' || text === '1';
  } else {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n <= 0) return `Invalid value for ${name}: ${text} (a positive integer)`;
    cfg[field] = n;
  }
  return undefined;
}

export interface ProgramInfo {
  source: Source;
  ast: A.Program;
  probes: ProbeInfo[];
  maps: Map<string, MapInfo>;
  formats: ParsedFormat[];
  config: Config;
  params: string[];
  warnings: Diagnostic[];
  /** the kernel's types under the script's own C definitions */
  types: ProgramTypes;
  /** whether any probe is not BEGIN/END (else the program exits after BEGIN) */
  hasEventProbes: boolean;
}

const INT_TYPES: Record<string, Ty> = {
  bool: BOOL,
  int8: { k: 'int', size: 1, signed: true },
  int16: { k: 'int', size: 2, signed: true },
  int32: { k: 'int', size: 4, signed: true },
  int64: I64,
  uint8: { k: 'int', size: 1, signed: false },
  uint16: { k: 'int', size: 2, signed: false },
  uint32: U32,
  uint64: U64,
};

/**
 * The type a cast to `t` gives, or undefined when it is no cast bpftrace accepts; a pointer is in kernel memory
 * (the caller applies the address space of the cast expression).
 */
export function castType(t: A.TypeExpr, types: ProgramTypes): Ty | undefined {
  if (t.kind === 'named_type' && !t.tag) {
    const i = INT_TYPES[t.name];
    if (i) return i;
    // an integer typedef: the script's (`typedef unsigned int myint;`) or the kernel's (`pid_t`)
    const id = t.name === 'string' ? undefined : types.typedef(t.name);
    const ty = id === undefined ? undefined : btfValueType(types, id, false, DEFAULT_CONFIG);
    if (ty?.k === 'int') return ty;
  }
  if (t.kind === 'pointer_type') {
    const id = typeId(t.pointee, types);
    if (id === undefined) {
      const pointee = castType(t.pointee, types);
      return pointee ? { k: 'ptr', pointee, user: false } : { k: 'ptr', user: false };
    }
    const r = types.btf!.resolve(id);
    const k = types.btf!.kind(r);
    return { k: 'ptr', btf: k === 'struct' || k === 'union' ? r : undefined, to: id, user: false };
  }
  return undefined;
}

/**
 * The BTF id of a type as written (`struct task_struct`, `union u`, a typedef name), the script's definition
 * first, or undefined when no BTF has such a type. Throws a KscopeError for an unknown tagged type.
 */
export function typeId(t: A.TypeExpr, types: ProgramTypes): number | undefined {
  if (!types.btf || t.kind !== 'named_type') return undefined;
  if (!t.tag) return types.typedef(t.name);
  const id = types.tagged(t.tag, t.name);
  if (id === undefined) throw new KscopeError(`Unknown type: ${t.tag} ${t.name}`);
  return id;
}

let btfCache: Btf | null | undefined;
function vmlinux(): Btf | undefined {
  if (btfCache === undefined) {
    try {
      btfCache = Btf.vmlinux();
    } catch {
      btfCache = null;
    }
  }
  return btfCache ?? undefined;
}

/** The language type of a tracepoint field. `user`: pointers point to user memory (syscall arguments). */
export function fieldType(f: TraceField, user: boolean, cfg: Config): Ty {
  if (f.dataLoc || f.relLoc) return f.type.startsWith('char') ? { k: 'str', size: cfg.maxStrlen } : U64;
  if (f.isArray && /^(unsigned )?char\b|^(__)?u8\b/.test(f.type)) return { k: 'str', size: f.arrayLen ?? f.size };
  // a pointer to pointers (`const char *const * argv`) indexes to pointers: args.argv[1]
  if (f.type.includes('*')) return (f.type.match(/\*/g)?.length ?? 0) > 1 ? { k: 'ptr', pointee: { k: 'ptr', user }, user } : { k: 'ptr', user };
  const size = f.size === 1 || f.size === 2 || f.size === 4 ? f.size : 8;
  return { k: 'int', size, signed: f.signed };
}

/** Offset in x86-64 pt_regs of a register named as bpftrace's reg() accepts (`ip`, `sp`, `rdi`, `di`, ...). */
export function regOffset(name: string): number | undefined {
  const n = name === 'ip' || name === 'sp' ? `r${name}` : name;
  return X86_64_PT_REGS_OFFSET[n] ?? X86_64_PT_REGS_OFFSET[`r${n}`];
}

const ARGS_PROVIDERS = new Set(['tracepoint', 'rawtracepoint', 'fentry', 'fexit', 'kprobe']);
const FUNC_PROVIDERS = new Set(['kprobe', 'kretprobe', 'fentry', 'fexit', 'uprobe', 'uretprobe', 'usdt']);

/** The builtins every probe offers, with their types. */
function builtinType(name: string, target: Target, cfg: Config, types: ProgramTypes): Ty | string {
  switch (name) {
    case 'pid':
    case 'tid':
    case 'cpu':
    case 'rand':
      return U32;
    case 'cpid':
      return cfg.cpid ? U32 : 'cpid cannot be used without a child command (-c)';
    case 'uid':
    case 'gid':
    case 'nsecs':
    case 'elapsed':
    case 'cgroup':
    case 'jiffies':
    case 'ncpus':
      return U64;
    case 'comm':
      return { k: 'str', size: 16 };
    case 'curtask': {
      const id = types.tagged('struct', 'task_struct');
      return { k: 'ptr', btf: id, to: id, user: false };
    }
    case 'kstack':
      return { k: 'stack', user: false, mode: cfg.stackMode, limit: cfg.stackLimit };
    case 'ustack':
      return { k: 'stack', user: true, mode: cfg.stackMode, limit: cfg.stackLimit };
    case 'probe':
    case 'func':
      // both are constant per compiled target (every wildcard match has its own program)
      if (name === 'func' && !FUNC_PROVIDERS.has(target.provider)) return `the func builtin can not be used with ${target.provider} probes`;
      return { k: 'str', size: 64 };
    case 'args':
      if (!ARGS_PROVIDERS.has(target.provider)) return `The args builtin can only be used with tracepoint, rawtracepoint, fentry/fexit and kprobe probes (${target.provider} used here)`;
      return { k: 'args' };
    case 'retval': {
      if (target.provider !== 'kretprobe' && target.provider !== 'uretprobe' && target.provider !== 'fexit') return 'The retval builtin can only be used with kretprobe, uretprobe and fexit probes';
      const b = target.provider === 'uretprobe' ? undefined : types.kernel;
      const f = b && b.findFunc((target as { func: string }).func);
      if (b && f !== undefined) {
        const t = btfValueType(types, b.funcArgs((target as { func: string }).func).returnType, false, cfg);
        if (isInt(t)) return t;
      }
      return I64;
    }
    case 'ctx': {
      // iterators: struct bpf_iter__<name> { meta; <object>; } (ctx->task, ctx->file, ctx->fd, ...)
      const id = target.provider === 'iter' ? types.kernel?.find(`bpf_iter__${target.name}`, 'struct') : undefined;
      return id !== undefined ? { k: 'ptr', btf: id, to: id, user: false } : { k: 'ptr', user: false };
    }
    default:
      if (/^arg\d+$/.test(name)) {
        if (target.provider === 'usdt') return Number(name.slice(3)) < target.args.length ? U64 : `${name}: the USDT probe ${target.name} has ${target.args.length} arguments`;
        if (!['kprobe', 'uprobe', 'rawtracepoint', 'fentry', 'fexit'].includes(target.provider)) return `the ${name} builtin can only be used with kprobe, uprobe, usdt and rawtracepoint probes`;
        return U64;
      }
      return `unknown builtin: ${name}`;
  }
}

/** Type environment of one probe body compiled for one target. */
export class Typer {
  readonly vars = new Map<string, Ty>();
  constructor(
    readonly info: Pick<ProgramInfo, 'maps' | 'config' | 'params' | 'types'>,
    readonly target: Target,
    readonly diag: (d: Diagnostic) => void,
  ) {}

  private err(msg: string, r: Range): Ty {
    this.diag(Diagnostic.error(msg, r));
    return NONE;
  }

  /** Fields of the tracepoint `args` record. */
  argsFields(): TraceField[] {
    if (this.target.provider !== 'tracepoint') return [];
    return tracepointFormat(this.target.system, this.target.event).fields.filter((f) => !f.common);
  }

  argField(name: string): TraceField | undefined {
    return this.argsFields().find((f) => f.name === name);
  }

  private btfArgsCache?: BtfArg[];
  /** BTF-typed arguments of rawtracepoint (tp_btf), fentry/fexit and kprobe probes; [] for other probes. */
  btfArgs(): BtfArg[] {
    if (this.btfArgsCache) return this.btfArgsCache;
    const t = this.target;
    const b = this.info.types.kernel;
    let args: BtfArg[] = [];
    if (b && t.provider === 'rawtracepoint') args = b.tracepointArgs(t.event);
    else if (b && (t.provider === 'fentry' || t.provider === 'fexit' || t.provider === 'kprobe')) args = b.funcArgs(t.func).args;
    return (this.btfArgsCache = args);
  }

  /** Pointers in syscall tracepoint arguments point to user memory. */
  get userArgs(): boolean {
    return this.target.provider === 'tracepoint' && this.target.system === 'syscalls';
  }

  /** Plain integers used as addresses (argN, retval) point into the traced process (uprobe/uretprobe/USDT). */
  get userSpace(): boolean {
    return ['uprobe', 'uretprobe', 'usdt'].includes(this.target.provider);
  }

  /** The type `*p` reads: a pointer's typed pointee (in the pointer's address space), undefined for void/functions. */
  pointee(t: Extract<Ty, { k: 'ptr' }>): Ty | undefined {
    if (t.pointee) return t.pointee.k === 'ptr' ? { ...t.pointee, user: t.user } : t.pointee;
    const b = this.info.types.btf;
    if (t.to === undefined || !b || b.kind(t.to) === 'func_proto') return undefined;
    return btfValueType(this.info.types, t.to, t.user, this.info.config);
  }

  /** The struct/union/array a field or index reaches, and the member (for fields), or an error message. */
  member(e: A.FieldAccess): { base: Extract<Ty, { k: 'ptr' | 'record' }>; typeId: number; bitOffset: number; bitSize: number; offset: number } | string {
    const t = this.typeOf(e.expr);
    const b = this.info.types.btf;
    if (t.k !== 'ptr' && t.k !== 'record') return `Can not access field '${e.field}' on expression of type '${typeName(t)}'`;
    if (!b || t.btf === undefined || !['struct', 'union'].includes(b.kind(t.btf)))
      return `Can not access field '${e.field}' on ${t.k === 'ptr' && t.to !== undefined && b ? `type '${b.typeName(t.to)} *'` : t.k === 'record' ? `type '${t.name}'` : 'a pointer of unknown type'}; cast it to a struct pointer first`;
    try {
      return { base: t, ...b.member(t.btf, e.field) };
    } catch {
      return `Struct/union of type '${b.typeName(t.btf)}' does not contain a field named '${e.field}'`;
    }
  }

  typeOf(e: A.Expr): Ty {
    switch (e.kind) {
      case 'int':
        return e.value > 0x7fffffffffffffffn ? U64 : I64;
      case 'bool':
        return BOOL;
      case 'string':
        return { k: 'str', size: Buffer.byteLength(e.value, 'latin1') + 1 };
      case 'builtin': {
        const t = builtinType(e.name, this.target, this.info.config, this.info.types);
        return typeof t === 'string' ? this.err(t, e.range) : t;
      }
      case 'positional': {
        const v = this.info.params[e.index - 1] ?? '';
        return /^-?\d+$/.test(v) || v === '' ? I64 : { k: 'str', size: Buffer.byteLength(v) + 1 };
      }
      case 'param_count':
        return I64;
      case 'variable': {
        const t = this.vars.get(e.name);
        return t ?? this.err(`Undefined or undeclared variable: ${e.name}`, e.range);
      }
      case 'map':
      case 'map_access': {
        const name = e.kind === 'map' ? e.name : e.map.name;
        const m = this.info.maps.get(name);
        if (!m) return this.err(`Undefined map: ${name}`, e.range);
        if (m.kind === 'value') return m.value;
        if (m.kind === 'hist' || m.kind === 'lhist' || m.kind === 'stats') return this.err(`${m.kind}() map values can only be printed`, e.range);
        return m.kind === 'count' ? U64 : m.value;
      }
      case 'binary': {
        const l = this.typeOf(e.left);
        const r = this.typeOf(e.right);
        if (['==', '!=', '<', '>', '<=', '>=', '&&', '||'].includes(e.op)) {
          if ((l.k === 'str') !== (r.k === 'str') && l.k !== 'none' && r.k !== 'none') return this.err(`Type mismatch for '${e.op}': comparing ${typeName(l)} with ${typeName(r)}`, e.range);
          if (l.k === 'str' && !['==', '!='].includes(e.op)) return this.err(`Type mismatch for '${e.op}': strings can only be compared with == and !=`, e.range);
          if ((l.k === 'record' || r.k === 'record') && l.k !== 'none' && r.k !== 'none') {
            // structs and arrays compare byte for byte (bpftrace's memcmp), only with their own type
            if (!sameType(l, r)) return this.err(`Type mismatch for '${e.op}': comparing ${typeName(l)} with ${typeName(r)}`, e.range);
            if (!['==', '!='].includes(e.op))
              return this.err(typeName(l).endsWith(']') ? `The ${e.op} operator cannot be used on arrays.` : `The ${e.op} operator can not be used on expressions of types ${typeName(l)}, ${typeName(r)}`, e.range);
          }
          return BOOL;
        }
        if (!isInt(l) || !isInt(r)) return l.k === 'none' || r.k === 'none' ? NONE : this.err(`Type mismatch for '${e.op}': ${typeName(l)} and ${typeName(r)}`, e.range);
        if (l.k === 'ptr' && (e.op === '+' || e.op === '-')) return l;
        // BPF divides unsigned (sdiv/smod only exist from 6.6), as bpftrace does: a non-negative literal is no
        // signed operand, anything else signed gets bpftrace's warning
        const signedOperand = (x: A.Expr, t: Ty) => t.k === 'int' && t.signed && !(x.kind === 'int' && x.value >= 0n);
        if ((e.op === '/' || e.op === '%') && (signedOperand(e.left, l) || signedOperand(e.right, r)))
          this.diag(Diagnostic.warning(`signed operands for '${e.op}' can lead to undefined behavior (cast to unsigned to silence warning)`, e.opRange ?? e.range));
        const signed = (l.k === 'int' && l.signed) || (r.k === 'int' && r.signed) || e.op === '-';
        return signed ? I64 : U64;
      }
      case 'unary': {
        const t = this.typeOf(e.operand);
        if (e.op === '!') return BOOL;
        if (e.op === '*') {
          // a typed pointer reads its pointee; another pointer or an integer address reads a u64 there (bpftrace's rule)
          const p = t.k === 'ptr' ? this.pointee(t) : undefined;
          if (p) return p;
          if (isInt(t) || t.k === 'none') return U64;
          if (t.k === 'record') return this.err(`Can not dereference struct/union of type '${t.name}'. It is not a pointer.`, e.range);
          return this.err(`The dereference operator can not be used on expressions of type '${typeName(t)}'`, e.range);
        }
        return isInt(t) ? (e.op === '-' ? I64 : t.k === 'bool' ? U64 : t) : this.err(`Invalid operand for '${e.op}': ${typeName(t)}`, e.range);
      }
      case 'incdec': {
        const o = e.operand;
        if ((o.kind === 'map' || o.kind === 'map_access') && !this.info.maps.has(o.kind === 'map' ? o.name : o.map.name)) {
          // `@x++` creates an int64 map
          const name = o.kind === 'map' ? o.name : o.map.name;
          const key = o.kind === 'map_access' ? this.typeOf(o.key) : undefined;
          this.info.maps.set(name, { name, kind: 'value', key, value: I64, maxEntries: this.info.config.maxMapKeys, range: o.range });
        }
        return this.typeOf(o);
      }
      case 'ternary': {
        this.typeOf(e.cond);
        const a = e.then ? this.typeOf(e.then) : this.typeOf(e.cond);
        const b = this.typeOf(e.else);
        return unify(a, b) ?? this.err(`Ternary operator branches have different types: ${typeName(a)} and ${typeName(b)}`, e.range);
      }
      case 'tuple':
        return { k: 'tuple', elems: e.elems.map((x) => this.typeOf(x)) };
      case 'tuple_index': {
        const t = this.typeOf(e.expr);
        if (t.k !== 'tuple') return this.err('Can not access index on a non-tuple', e.range);
        return t.elems[e.index] ?? this.err(`Invalid tuple index: ${e.index}. Found ${t.elems.length} elements in tuple.`, e.range);
      }
      case 'field': {
        const t = this.typeOf(e.expr);
        if (t.k === 'args' && this.target.provider !== 'tracepoint') {
          let args: BtfArg[];
          try {
            args = this.btfArgs();
          } catch (x) {
            return this.err(x instanceof KscopeError ? x.message : String(x), e.range);
          }
          const a = args.find((x) => x.name === e.field);
          if (!a) return this.err(`Can't find function parameter ${e.field} (parameters: ${args.map((x) => x.name).join(', ') || 'none'})`, e.range);
          return btfValueType(this.info.types, a.typeId, false, this.info.config);
        }
        if (t.k === 'args') {
          const f = this.argField(e.field);
          if (!f) return this.err(`Can't find field ${e.field} in tracepoint args (${(this.target as { system: string }).system}:${(this.target as { event: string }).event})`, e.range);
          return fieldType(f, this.userArgs, this.info.config);
        }
        if (t.k === 'none') return NONE;
        const m = this.member(e);
        if (typeof m === 'string') return this.err(m, e.range);
        return btfValueType(this.info.types, m.typeId, m.base.user, this.info.config);
      }
      case 'index': {
        // p[i] on a BTF-typed pointer (e.g. `fdt->fd[$fd]`), a[i] on an array member: the element type
        const t = this.typeOf(e.expr);
        const i = this.typeOf(e.index);
        if (!isInt(i)) return this.err(`The array index must be an integer, not ${typeName(i)}`, e.index.range);
        const b = this.info.types.btf;
        if (t.k === 'record' && b?.kind(t.btf) === 'array') {
          const a = b.type(t.btf) as { type: number; nelems: number };
          if (e.index.kind === 'int' && e.index.value >= BigInt(a.nelems) && a.nelems > 0) return this.err(`the index ${e.index.value} is out of bounds for array of size ${a.nelems}`, e.range);
          return btfValueType(this.info.types, a.type, t.user, this.info.config);
        }
        if (t.k === 'str') {
          // a character of a char array
          if (e.index.kind === 'int' && e.index.value >= BigInt(t.size)) return this.err(`the index ${e.index.value} is out of bounds for array of size ${t.size}`, e.range);
          return { k: 'int', size: 1, signed: true };
        }
        const p = t.k === 'ptr' ? this.pointee(t) : undefined;
        if (!p) return this.err(`The array index operator [] can only be used on arrays and typed pointers, not ${t.k === 'ptr' ? 'a pointer of unknown or function type' : typeName(t)}`, e.range);
        return p;
      }
      case 'cast': {
        const inner = this.typeOf(e.expr);
        let t: Ty | undefined;
        try {
          t = castType(e.type, this.info.types);
        } catch (x) {
          return this.err((x as Error).message, e.type.range);
        }
        if (e.type.kind === 'named_type' && (e.type.tag === 'struct' || e.type.tag === 'union')) return this.err(`Cannot cast to struct type "${e.type.tag} ${e.type.name}"`, e.range);
        if (!t) return this.err('Unsupported cast', e.type.range);
        if (!isInt(inner) && inner.k !== 'none') return this.err(`Cannot cast from '${typeName(inner)}' to '${typeName(t)}'`, e.range);
        // a cast pointer keeps the address space of what is cast (an integer's is the probe's)
        return t.k === 'ptr' ? { ...t, user: inner.k === 'ptr' ? inner.user : this.userSpace } : t;
      }
      case 'sizeof':
      case 'offsetof':
        return typeof this.layoutOf(e) === 'number' ? U64 : NONE;
      case 'call':
        return this.callType(e);
      case 'ident':
        return this.info.types.constant(e.name) !== undefined ? I64 : this.err(`Unknown identifier: '${e.name}'`, e.range);
      default:
        return this.err(`${e.kind} expressions are not supported yet`, e.range);
    }
  }

  /** The compile-time value of sizeof/offsetof (bytes), or undefined after reporting why there is none. */
  layoutOf(e: A.Sizeof | A.Offsetof): number | undefined {
    const arg = e.arg;
    const types = this.info.types;
    let id: number | undefined;
    try {
      if (arg.kind === 'named_type' || arg.kind === 'pointer_type' || arg.kind === 'array_type') {
        if (arg.kind === 'pointer_type') return e.kind === 'sizeof' ? 8 : void this.err('offsetof() needs a struct or union type', e.range);
        const i = arg.kind === 'named_type' ? INT_TYPES[arg.name] : undefined;
        if (i && e.kind === 'sizeof') return i.k === 'int' ? i.size : 1;
        id = arg.kind === 'named_type' ? typeId(arg, types) : undefined;
        if (id === undefined) return void this.err(`Unknown type: ${arg.kind === 'named_type' ? `${arg.tag ? arg.tag + ' ' : ''}${arg.name}` : 'array'}`, e.range);
      } else if (arg.kind === 'typeof') return void this.err('typeof() is not supported here', e.range);
      else if (arg.kind === 'ident' && types.typedef(arg.name) !== undefined) id = types.typedef(arg.name);
      else {
        const t = this.typeOf(arg as A.Expr);
        if (e.kind === 'sizeof') return t.k === 'int' || t.k === 'record' ? t.size : storageSize(t);
        if (t.k !== 'record' && !(t.k === 'ptr' && t.btf !== undefined)) return void this.err('offsetof() needs a struct or union', e.range);
        id = t.btf;
      }
      if (e.kind === 'sizeof') return types.btf!.sizeof(id!);
      return types.btf!.member(id!, e.fields.join('.')).offset;
    } catch (x) {
      return void this.err((x as Error).message, e.range);
    }
  }

  private argc(e: A.Call, min: number, max = min): boolean {
    if (e.args.length < min || e.args.length > max) {
      this.diag(Diagnostic.error(argCountError(e.name, e.args.length, min, max), e.range));
      return false;
    }
    return true;
  }

  expr(e: A.Call, i: number): A.Expr {
    return e.args[i] as A.Expr;
  }

  callType(e: A.Call): Ty {
    // map arguments of print/clear/zero are whole maps, not values
    const modeArg = (a: A.Expr) => (e.name === 'kstack' || e.name === 'ustack') && a.kind === 'ident';
    const args = e.args.map((a) => (a.kind === 'typeof' || a.kind === 'map' || modeArg(a as A.Expr) ? NONE : this.typeOf(a)));
    for (const a of e.args) if (a.kind === 'map' && !this.info.maps.has(a.name)) this.err(`Undefined map: ${a.name}`, a.range);
    if (UNSAFE.has(e.name) && !this.info.config.unsafe) return this.err(`${e.name}() is an unsafe function being used in safe mode`, e.range);
    switch (e.name) {
      case 'system':
      case 'cat':
      case 'printf': {
        if (!e.args.length || e.args[0]!.kind !== 'string') return this.err(`${e.name}() requires a string literal as its first argument`, e.range);
        const f = parseFormat((e.args[0] as A.StringLit).value);
        const bad = checkFormat(f, e.args.length - 1);
        if (bad) this.err(bad, e.range);
        return NONE;
      }
      case 'exit':
        this.argc(e, 0, 1);
        return NONE;
      case 'print':
        this.argc(e, 1, 3);
        return NONE;
      case 'clear':
      case 'zero':
        this.argc(e, 1);
        if (e.args[0]?.kind !== 'map') this.err(`${e.name}() expects a map argument`, e.range);
        return NONE;
      case 'delete':
        if (!this.argc(e, 1, 2)) return NONE;
        if (e.args[0]?.kind !== 'map_access' && e.args[0]?.kind !== 'map') this.err('delete() expects a map element', e.range);
        return BOOL;
      case 'time':
        this.argc(e, 0, 1);
        return NONE;
      case 'join':
        if (!this.argc(e, 1, 2)) return NONE;
        if (!isInt(args[0]!)) return this.err(`join() expects a pointer to an array of strings (${typeName(args[0]!)} provided)`, e.range);
        if (e.args[1] && e.args[1].kind !== 'string') return this.err('join() separator must be a string literal', e.args[1].range);
        return NONE;
      case 'str': {
        // str(p, n) reads at most n - 1 characters (n counts the NUL); a literal n gives a string[n + 1] (bpftrace's
        // type), at most max_strlen bytes
        if (!this.argc(e, 1, 2)) return NONE;
        // str($1) is the parameter's text, also when it is a number (bpftrace: `str($1)` of 42 is "42")
        const p0 = e.args[0]!;
        const t = p0.kind === 'positional' ? { k: 'str' as const, size: Buffer.byteLength(this.info.params[p0.index - 1] ?? '') + 1 } : args[0]!;
        if (!isInt(t) && t.k !== 'str' && t.k !== 'none') return this.err(`str() expects a string, integer or a pointer type as first argument (${typeName(t)} provided)`, e.range);
        const n = e.args[1];
        const max = this.info.config.maxStrlen;
        if (n && !isInt(args[1]!) && args[1]!.k !== 'none') return this.err(`str() only supports int arguments (${args[1]!.k === 'str' ? 'string' : typeName(args[1]!)} provided)`, n.range);
        if (n?.kind === 'unary' && n.op === '-' && n.operand.kind === 'int') return this.err(`str() cannot use a negative length (-${n.operand.value})`, n.range);
        let size = max;
        if (n?.kind === 'int') {
          if (n.value + 1n > BigInt(max)) this.diag(Diagnostic.warning(`length param (${n.value}) is too long and will be shortened to ${max} bytes (see BPFTRACE_MAX_STRLEN)`, e.range));
          else size = Number(n.value) + 1;
        }
        // a string argument is copied (cut after n - 1 characters): it keeps its size when that is smaller
        return { k: 'str', size: t.k === 'str' ? Math.min(t.size, n ? size : t.size) : size };
      }
      case 'ksym':
        this.argc(e, 1);
        return { k: 'ksym' };
      case 'usym':
        this.argc(e, 1);
        return { k: 'usym' };
      case 'uptr':
      case 'kptr': {
        // bpftrace's address-space annotations: str(), * and fields then read user (uptr) or kernel (kptr) memory
        if (!this.argc(e, 1)) return NONE;
        const t = args[0]!;
        if (!isInt(t) && t.k !== 'none') return this.err(`${e.name}() expects an integer or a pointer (${typeName(t)} provided)`, e.range);
        return t.k === 'ptr' ? { ...t, user: e.name === 'uptr' } : { k: 'ptr', user: e.name === 'uptr' };
      }
      case 'ntop': {
        if (!this.argc(e, 1, 2)) return NONE;
        const t = args[args.length - 1]!;
        if (!isInt(t) && !(t.k === 'str' && (t.size === 4 || t.size === 16)) && t.k !== 'none')
          return this.err(`ntop() expects an integer or a char[4]/char[16] address (${typeName(t)} provided)`, e.range);
        return { k: 'inet' };
      }
      case 'kaddr':
        this.argc(e, 1);
        if (e.args[0]?.kind !== 'string') this.err('kaddr() expects a string literal', e.range);
        return U64;
      case 'cgroupid': {
        if (!this.argc(e, 1)) return NONE;
        const a = e.args[0]!;
        if (a.kind !== 'string') return this.err('cgroupid() expects a string literal (a cgroup v2 directory)', e.range);
        const id = cgroupId(a.value);
        return typeof id === 'string' ? this.err(id, e.range) : U64;
      }
      case 'macaddr': {
        if (!this.argc(e, 1)) return NONE;
        const t = args[0]!;
        if (t.k === 'str' ? t.size < 6 : !isInt(t) && t.k !== 'none') return this.err(`macaddr() expects an array of at least 6 bytes or a pointer (${typeName(t)} provided)`, e.range);
        return { k: 'macaddr' };
      }
      case 'override': {
        if (!this.argc(e, 1)) return NONE;
        if (!isInt(args[0]!) && args[0]!.k !== 'none') return this.err(`override() expects an integer return value (${typeName(args[0]!)} provided)`, e.range);
        if (this.target.provider !== 'kprobe') return this.err('override() can only be used inside kprobes', e.range);
        if (kernelConfigHas('CONFIG_BPF_KPROBE_OVERRIDE') === false) return this.err('override() needs a kernel built with CONFIG_BPF_KPROBE_OVERRIDE, which this one is not', e.range);
        return NONE;
      }
      case 'strncmp':
        if (!this.argc(e, 3)) return NONE;
        if (args[0]!.k !== 'str' || args[1]!.k !== 'str') return this.err('strncmp() expects two strings and a length', e.range);
        if (e.args[2]!.kind !== 'int') return this.err('strncmp() length must be an integer literal', e.args[2]!.range);
        return I64;
      case 'strcontains':
        if (!this.argc(e, 2)) return NONE;
        if (args[0]!.k !== 'str') return this.err(`strcontains() expects a string haystack (${typeName(args[0]!)} provided)`, e.range);
        if (e.args[1]!.kind !== 'string') return this.err('strcontains() needle must be a string literal', e.args[1]!.range);
        return BOOL;
      case 'has_key': {
        if (!this.argc(e, 2)) return NONE;
        const m = e.args[0]!.kind === 'map' ? this.info.maps.get((e.args[0] as A.MapRef).name) : undefined;
        if (e.args[0]!.kind !== 'map') return this.err('has_key() expects a map as first argument', e.range);
        if (m && !m.key) return this.err(`has_key() can not be used on a map without keys (${m.name})`, e.range);
        return BOOL;
      }
      case 'len':
        if (!this.argc(e, 1)) return NONE;
        if (e.args[0]!.kind !== 'map') return this.err('len() expects a map', e.range);
        return I64;
      case 'signal': {
        if (!this.argc(e, 1)) return NONE;
        const a = e.args[0]!;
        if (a.kind === 'string' && signalNumber(a.value) === undefined) return this.err(`signal(): unknown signal ${a.value}`, a.range);
        if (a.kind !== 'string' && !isInt(args[0]!)) return this.err('signal() expects a signal name or number', a.range);
        return NONE;
      }
      case 'strftime': {
        if (!this.argc(e, 2)) return NONE;
        if (e.args[0]!.kind !== 'string') return this.err('strftime() expects a format string literal', e.range);
        if (!isInt(args[1]!)) return this.err(`strftime() expects an integer timestamp (${typeName(args[1]!)} provided)`, e.args[1]!.range);
        return { k: 'timestamp', format: (e.args[0] as A.StringLit).value };
      }
      case 'buf': {
        if (!this.argc(e, 1, 2)) return NONE;
        const t = args[0]!;
        if (!isInt(t) && t.k !== 'str') return this.err(`buf() expects a pointer or an array (${typeName(t)} provided)`, e.range);
        const n = e.args[1];
        if (n && !isInt(args[1]!)) return this.err('buf() length must be an integer', n.range);
        const size = n?.kind === 'int' ? Number(n.value) : t.k === 'str' ? t.size - 1 : this.info.config.maxStrlen;
        return { k: 'buf', size: Math.min(size, this.info.config.maxStrlen) };
      }
      case 'pton': {
        if (!this.argc(e, 1)) return NONE;
        const a = e.args[0]!;
        const bytes = a.kind === 'string' ? ptonBytes(a.value) : undefined;
        if (!bytes) return this.err('pton() expects an IPv4 or IPv6 address literal', e.range);
        return { k: 'str', size: bytes.length };
      }
      case 'kstack':
      case 'ustack': {
        // kstack([mode][, limit]): mode is bpftrace, perf or raw
        let mode = this.info.config.stackMode;
        let limit = this.info.config.stackLimit;
        for (const a of e.args) {
          if (a.kind === 'ident' && (a.name === 'bpftrace' || a.name === 'perf' || a.name === 'raw')) mode = a.name;
          else if (a.kind === 'int' && a.value >= 0n && a.value <= 1024n) limit = Math.min(Number(a.value), this.info.config.stackLimit);
          else this.err(`${e.name}() arguments are a mode (bpftrace, perf or raw) and/or a literal frame limit`, a.range);
        }
        return { k: 'stack', user: e.name === 'ustack', mode, limit };
      }
      case 'reg': {
        this.argc(e, 1);
        const r = e.args[0];
        if (r?.kind !== 'string' || regOffset(r.value) === undefined) return this.err(`reg() expects a register name literal (one of: ${Object.keys(X86_64_PT_REGS_OFFSET).join(', ')}, ip, sp)`, e.range);
        if (!['kprobe', 'kretprobe', 'uprobe', 'uretprobe', 'usdt', 'profile'].includes(this.target.provider)) return this.err(`reg() can not be used with ${this.target.provider} probes`, e.range);
        return U64;
      }
      case 'uaddr': {
        this.argc(e, 1);
        if (e.args[0]?.kind !== 'string') return this.err('uaddr() expects a string literal', e.range);
        if (this.target.provider !== 'uprobe' && this.target.provider !== 'uretprobe' && this.target.provider !== 'usdt') return this.err('uaddr() can only be used in uprobe, uretprobe and usdt probes', e.range);
        return U64;
      }
      case 'count':
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
      case 'stats':
      case 'hist':
      case 'lhist':
        return this.err(`${e.name}() should be directly assigned to a map`, e.range);
      default: {
        if (['pid', 'tid', 'comm', 'nsecs', 'cpu', 'uid', 'gid', 'elapsed'].includes(e.name)) return this.typeOf({ kind: 'builtin', name: e.name, range: e.range });
        return this.err(`Unknown function: '${e.name}'`, e.nameRange);
      }
    }
  }
}

/**
 * The language type of a BTF-typed value (kernel or script type) read through a pointer or held in a struct.
 * Struct/union pointees are the script's type when it defines one of that name (see ProgramTypes.shadow).
 */
export function btfValueType(types: ProgramTypes, id: number, user: boolean, cfg: Config): Ty {
  const b = types.btf!;
  const rid = types.shadow(b.resolve(id));
  const t = b.type(rid);
  switch (t.kind) {
    case 'int':
      return { k: 'int', size: (t.size === 1 || t.size === 2 || t.size === 4 ? t.size : 8) as 8, signed: t.signed };
    case 'enum':
    case 'enum64':
      return { k: 'int', size: (t.size === 4 ? 4 : 8) as 8, signed: false };
    case 'ptr': {
      const to = types.shadow(b.resolve(t.type));
      const k = to ? b.kind(to) : 'void';
      if (k === 'func_proto') return { k: 'ptr', user };
      return { k: 'ptr', btf: k === 'struct' || k === 'union' ? to : undefined, to: to || undefined, user };
    }
    case 'array':
      // bpftrace's string[N] for a kernel char[N] (full: printed with the trailer), string[N + 1] for one of the
      // script's C definitions (its C parser reads the byte after the array, to tell a full array from a cut one)
      if (types.isString(rid)) return { k: 'str', size: Math.min(t.nelems + (types.isScript(rid) ? 1 : 0), cfg.maxStrlen) };
      return { k: 'record', btf: rid, size: b.sizeof(rid), name: b.typeName(rid), user };
    case 'struct':
    case 'union':
      return { k: 'record', btf: rid, size: t.size, name: b.typeName(rid), user };
    default:
      return U64;
  }
}

function mapKeyOf(t: A.MapRef | A.MapAccess): A.Expr | undefined {
  return t.kind === 'map_access' ? t.key : undefined;
}

/** Runs semantic analysis; throws CompileError with every error found. */
export function check(ast: A.Program, source: Source, opts: { params?: string[]; config?: Partial<Config>; env?: Record<string, string | undefined> } = {}): ProgramInfo {
  const diags: Diagnostic[] = [];
  const diag = (d: Diagnostic) => diags.push(d);
  const config: Config = { ...DEFAULT_CONFIG, ...opts.config };
  // the config block, then BPFTRACE_* environment variables, which take precedence (as in bpftrace)
  for (const c of ast.config?.entries ?? []) {
    const bad = setConfig(config, c.key, c.value);
    if (bad) diag(Diagnostic.error(bad, c.range));
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!k.startsWith('BPFTRACE_') || v === undefined) continue;
    const bad = setConfig(config, k, v, true);
    if (bad) throw new KscopeError(`${k}: ${bad}`);
  }
  const built = buildTypes(ast, vmlinux);
  if (built.diags.length) throw new CompileError(built.diags, source);
  const info: ProgramInfo = { source, ast, probes: [], maps: new Map(), formats: [], config, params: opts.params ?? [], warnings: [], types: built.types, hasEventProbes: false };

  for (const p of ast.probes) {
    const targets: Expanded[] = [];
    for (const ap of p.attachPoints) {
      let r: Expanded[] | string;
      try {
        r = expandAttachPoint(ap.raw, info.params);
      } catch (e) {
        r = e instanceof KscopeError ? e.message : String(e);
      }
      if (typeof r === 'string') diag(Diagnostic.error(r, ap.range));
      else if (r.some((x) => x.target.provider === 'watchpoint') && !config.pid && !config.cpid) diag(Diagnostic.error('watchpoint probes need a process to watch: use -p PID or -c CMD', ap.range));
      else targets.push(...r);
    }
    info.probes.push({ probe: p, targets });
    if (targets.some((t) => t.target.provider !== 'begin' && t.target.provider !== 'end')) info.hasEventProbes = true;
  }
  const attached = info.probes.reduce((n, pi) => n + pi.targets.filter((t) => t.target.provider !== 'begin' && t.target.provider !== 'end').length, 0);
  if (attached > config.maxProbes)
    diag(Diagnostic.error(`Can't attach to ${attached} probes because it exceeds the current limit of ${config.maxProbes} probes. You can increase the limit through the BPFTRACE_MAX_PROBES environment variable, but BE CAREFUL since a high number of probes attached can cause your system to crash.`));
  if (diags.length) throw new CompileError(diags, source);

  // Two passes: the first fixes map types from assignments (errors discarded), the second reports. The body is
  // checked for every target (each tracepoint of a wildcard has its own args); a repeated diagnostic is shown once.
  const seen = new Set<string>();
  const report = (d: Diagnostic) => {
    const k = `${d.message}@${d.range?.start}`;
    if (!seen.has(k)) seen.add(k), diag(d);
  };
  for (const pass of [0, 1]) {
    const sink = pass === 0 ? () => undefined : report;
    for (const pi of info.probes) {
      pi.targets.forEach((x, i) => {
        if (i > 0 && x.target.provider !== 'tracepoint') return;
        const typer = new Typer(info, x.target, sink);
        if (pi.probe.predicate) typer.typeOf(pi.probe.predicate);
        checkBlock(pi.probe.body, typer, info, sink, pass === 1 && i === 0);
      });
    }
  }
  for (const d of ast.mapDecls) {
    const m = info.maps.get(d.map.name);
    if (!MAP_DECL_TYPES.includes(d.mapType)) diag(Diagnostic.error(`Invalid map type: ${d.mapType} (one of: ${MAP_DECL_TYPES.join(', ')})`, d.range));
    else if (!m) diag(Diagnostic.warning(`Unused map: ${d.map.name}`, d.range));
    else {
      const percpu = m.kind !== 'value';
      if (percpu !== d.mapType.startsWith('percpu'))
        diag(Diagnostic.error(`Incompatible map types. Type from declaration: ${d.mapType}. Type from value/key type: ${percpu ? 'percpuhash' : 'hash'}`, d.range));
      m.declaredType = d.mapType;
      m.maxEntries = Number(d.maxEntries);
    }
  }
  for (const m of info.maps.values()) {
    if (!m.key) continue;
    // hash keys are at most 512 bytes (hist/lhist keys end with the u64 bucket)
    const key = fitKey(m.key, 512 - (m.kind === 'hist' || m.kind === 'lhist' ? 8 : 0));
    if (key) m.key = key;
    else diag(Diagnostic.error(`The key of ${m.name} is too big: map keys are at most 512 bytes (${typeName(m.key)})`, m.range));
  }
  if (diags.some((d) => d.severity === 'error')) throw new CompileError(diags, source);
  info.warnings = diags;
  return info;
}

/**
 * The type of the variable of `for ($kv : @map)`: the tuple (key, value), the key itself a tuple for multi-key maps.
 * Aggregations give their value over all CPUs, as reading the map in an expression does.
 */
export function forMapType(s: A.ForMap, t: Typer): Ty {
  const m = t.info.maps.get(s.map.name);
  if (!m) return t.typeOf(s.map);
  if (!m.key) {
    t.diag(Diagnostic.error(`${s.map.name} has no keys: for loops iterate over maps with keys`, s.map.range));
    return NONE;
  }
  const value = t.typeOf(s.map);
  return value.k === 'none' ? NONE : { k: 'tuple', elems: [m.key, value] };
}

function checkBlock(b: A.Block, t: Typer, info: ProgramInfo, diag: (d: Diagnostic) => void, final: boolean): void {
  for (const s of b.stmts) checkStmt(s, t, info, diag, final);
}

function assignMap(target: A.MapRef | A.MapAccess, value: A.Expr, t: Typer, info: ProgramInfo, diag: (d: Diagnostic) => void): void {
  const name = target.kind === 'map' ? target.name : target.map.name;
  const keyExpr = mapKeyOf(target);
  const keyTy = keyExpr ? t.typeOf(keyExpr) : undefined;
  let kind: MapInfo['kind'] = 'value';
  let valueTy: Ty;
  let bits: number | undefined;
  let lhist: MapInfo['lhist'];
  if (value.kind === 'call' && AGGREGATES.has(value.name)) {
    kind = value.name as AggKind;
    const args = value.args as A.Expr[];
    const want = { count: [0, 0], sum: [1, 1], avg: [1, 1], min: [1, 1], max: [1, 1], stats: [1, 1], hist: [1, 2], lhist: [4, 4] }[kind];
    if (args.length < want[0] || args.length > want[1]) diag(Diagnostic.error(argCountError(kind, args.length, want[0], want[1]), value.range));
    const argTy = args[0] ? t.typeOf(args[0]) : U64;
    if (args[0] && !isInt(argTy) && argTy.k !== 'none') diag(Diagnostic.error(`${kind}() expects an integer argument (${typeName(argTy)} provided)`, args[0].range));
    valueTy = argTy.k === 'int' && argTy.signed ? I64 : U64;
    if (kind === 'hist') {
      const k = args[1];
      bits = k ? (k.kind === 'int' ? Number(k.value) : -1) : 0;
      if (bits < 0 || bits > 5) diag(Diagnostic.error('hist() second argument must be an integer literal between 0 and 5', (k ?? value).range));
    }
    if (kind === 'lhist') {
      const lits = args.slice(1).map((a) => (a.kind === 'int' ? Number(a.value) : a.kind === 'unary' && a.op === '-' && a.operand.kind === 'int' ? -Number(a.operand.value) : NaN));
      if (lits.length === 3 && lits.every((x) => Number.isFinite(x))) {
        const [min, max, step] = lits as [number, number, number];
        if (step <= 0) diag(Diagnostic.error('lhist() step must be >= 1', args[3]!.range));
        else if (min >= max) diag(Diagnostic.error('lhist() min must be less than max', args[1]!.range));
        lhist = { min, max, step };
      } else if (args.length === 4) diag(Diagnostic.error('lhist() min, max and step must be integer literals', value.range));
    }
  } else {
    valueTy = t.typeOf(value);
    if (valueTy.k === 'none' && value.kind === 'call') diag(Diagnostic.error(`${value.name}() has no value to assign`, value.range));
  }
  const prev = info.maps.get(name);
  if (!prev) {
    info.maps.set(name, { name, kind, key: keyTy, value: valueTy, bits, lhist, maxEntries: info.config.maxMapKeys, range: target.range });
    return;
  }
  if (prev.kind !== kind) diag(Diagnostic.error(`Type mismatch for ${name}: trying to assign value of type '${kind === 'value' ? typeName(valueTy) : `${kind}_t`}' when map already contains a value of type '${prev.kind === 'value' ? typeName(prev.value) : `${prev.kind}_t`}'`, value.range));
  if ((prev.key === undefined) !== (keyTy === undefined)) diag(Diagnostic.error(`${name} used both with and without a key`, target.range));
  else if (prev.key && keyTy) {
    const u = unify(prev.key, keyTy);
    if (!u) diag(Diagnostic.error(`Argument mismatch for ${name}: trying to access with arguments: '${typeName(keyTy)}' when map expects arguments: '${typeName(prev.key)}'`, target.range));
    else prev.key = u;
  }
  if (kind === 'value') {
    const u = unify(prev.value, valueTy);
    if (!u && valueTy.k !== 'none') diag(Diagnostic.error(`Type mismatch for ${name}: trying to assign value of type '${typeName(valueTy)}' when map already contains a value of type '${typeName(prev.value)}'`, value.range));
    else if (u) prev.value = u;
  }
}

function checkStmt(s: A.Stmt, t: Typer, info: ProgramInfo, diag: (d: Diagnostic) => void, final: boolean): void {
  switch (s.kind) {
    case 'expr_stmt':
      if (s.expr.kind === 'call' && s.expr.name === 'printf' && final && s.expr.args[0]?.kind === 'string') info.formats.push(parseFormat(s.expr.args[0].value));
      t.typeOf(s.expr);
      return;
    case 'assign': {
      const value: A.Expr = s.op ? { kind: 'binary', op: s.op, left: s.target, right: s.value, range: s.range } : s.value;
      if (s.target.kind === 'variable') {
        const ty = t.typeOf(value);
        const prev = t.vars.get(s.target.name);
        if (prev) {
          const u = unify(prev, ty);
          if (!u) diag(Diagnostic.error(`Type mismatch for ${s.target.name}: trying to assign value of type '${typeName(ty)}' when variable already contains a value of type '${typeName(prev)}'`, s.range));
          else t.vars.set(s.target.name, u);
        } else t.vars.set(s.target.name, ty);
      } else {
        // `@m op= v` on a map nothing assigned yet starts from 0, as bpftrace does: type it by `v` first
        const name = s.target.kind === 'map' ? s.target.name : s.target.map.name;
        if (s.op && !info.maps.has(name)) assignMap(s.target, s.value, t, info, diag);
        assignMap(s.target, value, t, info, diag);
      }
      return;
    }
    case 'var_decl':
      if (s.value) t.vars.set(s.variable.name, t.typeOf(s.value));
      else if (s.type) t.vars.set(s.variable.name, castType(s.type, info.types) ?? U64);
      return;
    case 'if':
      t.typeOf(s.cond);
      checkBlock(s.then, t, info, diag, final);
      if (s.else) s.else.kind === 'if' ? checkStmt(s.else, t, info, diag, final) : checkBlock(s.else, t, info, diag, final);
      return;
    case 'while':
      t.typeOf(s.cond);
      checkBlock(s.body, t, info, diag, final);
      return;
    case 'unroll':
      if (s.count.kind !== 'int' || s.count.value < 1n || s.count.value > 100n) diag(Diagnostic.error('unroll() count must be an integer literal between 1 and 100', s.count.range));
      checkBlock(s.body, t, info, diag, final);
      return;
    case 'for_range':
      t.typeOf(s.start);
      t.typeOf(s.end);
      t.vars.set(s.variable.name, I64);
      checkBlock(s.body, t, info, diag, final);
      return;
    case 'block':
      checkBlock(s, t, info, diag, final);
      return;
    case 'return':
    case 'break':
    case 'continue':
      return;
    case 'discard':
      t.typeOf(s.expr);
      return;
    case 'for_map': {
      const ty = forMapType(s, t), prev = t.vars.get(s.variable.name);
      if (prev && ty.k !== 'none' && !unify(prev, ty)) diag(Diagnostic.error(`${s.variable.name} is already a ${typeName(prev)}, this loop would make it a ${typeName(ty)}: name the loop variable differently`, s.variable.range));
      t.vars.set(s.variable.name, ty);
      checkBlock(s.body, t, info, diag, final);
      return;
    }
    default:
      diag(Diagnostic.error(`${s.kind} statements are not supported yet`, s.range));
  }
}

export { isInt };
