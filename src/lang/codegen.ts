/**
 * Code generation: each probe body, for each of its concrete attach targets, becomes one BPF program built with
 * src/asm. Integers are computed in r0 (the accumulator); strings, tuples and map keys are built in memory (stack
 * slots, or the event record itself for printf arguments, so nothing is copied twice). r6 holds the context, r7
 * the ring buffer record being filled. Values over ON_STACK_LIMIT bytes (long strings, tuples) live in the per-CPU
 * "heap": one PERCPU_ARRAY element looked up once at entry, only by programs that need it; r9 points to it.
 *
 * Events to user space go through one ring buffer as records `u64 id` + packed arguments (see EventDesc).
 */
import { Asm, type Label } from '../asm/builder.js';
import { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, type Reg } from '../asm/opcodes.js';
import { Btf } from '../btf/btf.js';
import { AttachType, ProgType } from '../bpf/program.js';
import { MapType } from '../bpf/map.js';
import { possibleCpus } from '../bpf/cpus.js';
import { feature } from '../bpf/features.js';
import { X86_64_PT_REGS_OFFSET, type UsdtArg } from '../symbols/usdt.js';
import { parseFormat, type ParsedFormat } from '../output/bpftrace.js';
import { kallsyms } from '../symbols/kallsyms.js';
import { ElfFile } from '../symbols/elf.js';
import { children, type Node } from './ast.js';
import type * as A from './ast.js';
import type { Range } from './source.js';
import { AGGREGATES, cgroupId, forMapType, ptonBytes, regOffset, signalNumber, Typer, type MapInfo, type ProgramInfo } from './checker.js';
import type { ProgramTypes } from './ctypes.js';
import { CompileError, Diagnostic } from './diagnostics.js';
import type { Expanded } from './probes.js';
import { I64, isInt, isSigned, storageSize, tupleOffsets, U64, type Ty } from './types.js';


/** A map the program refers to; the runtime creates it and sets `fd` before assembling. */
export interface MapSlot {
  fd: number;
  readonly name: string;
}

export interface MapLayout {
  info: MapInfo;
  slot: MapSlot;
  type: number;
  keySize: number;
  valueSize: number;
  /** hist/lhist: the user key is followed by a u64 bucket index */
  bucketed: boolean;
  /** one value per CPU (aggregations) */
  percpu: boolean;
}

export type EventDesc =
  /** printf, and the formatted actions system() (run by /bin/sh) and cat() (print a file) */
  | { kind: 'printf'; text: string; format: ParsedFormat; args: { ty: Ty; off: number }[]; size: number; action?: 'system' | 'cat' }
  | { kind: 'exit' }
  | { kind: 'time'; format?: string }
  /** join(): a u64 count, then JOIN_MAX_ARGS strings of `strSize` bytes */
  | { kind: 'join'; sep: string; strSize: number }
  | { kind: 'print_map'; map: string }
  | { kind: 'clear' | 'zero'; map: string }
  | { kind: 'print_value'; ty: Ty }
  /** -k: a helper returned an error (the record holds its return value) */
  | { kind: 'helper_error'; helper: string; range: Range };

export interface CompiledProbe {
  name: string;
  expanded: Expanded;
  progType: number;
  expectedAttachType?: number;
  attachBtfId?: number;
  asm: Asm;
  /** first instruction of each callback subprogram (bpf_for_each_map_elem), ascending */
  subprogs: number[];
  /** probe's AST, for messages */
  probe: A.Probe;
}

export interface Compiled {
  info: ProgramInfo;
  maps: Map<string, MapLayout>;
  ringbuf: MapSlot;
  lost: MapSlot;
  stackmap?: MapSlot;
  /** the per-CPU scratch map (one element of `heapSize` bytes), when some program needs it */
  heap?: MapSlot;
  heapSize: number;
  events: EventDesc[];
  probes: CompiledProbe[];
  /** CLOCK_MONOTONIC ns at compile time: `elapsed` counts from here */
  startNs: bigint;
}

const PERCPU_KINDS = new Set(['count', 'sum', 'avg', 'min', 'max', 'stats', 'hist', 'lhist']);

function layoutMap(info: MapInfo): MapLayout {
  const percpu = PERCPU_KINDS.has(info.kind);
  const bucketed = info.kind === 'hist' || info.kind === 'lhist';
  const userKey = info.key ? storageSize(info.key) : bucketed ? 0 : 8;
  const valueSize = info.kind === 'value' ? Math.max(8, storageSize(info.value)) : ['avg', 'stats', 'min', 'max'].includes(info.kind) ? 16 : 8;
  return {
    info,
    slot: { fd: -1, name: info.name === '@' ? 'AT_' : `AT_${info.name.slice(1)}` },
    type: info.declaredType?.includes('lru') ? (percpu ? MapType.LRU_PERCPU_HASH : MapType.LRU_HASH) : percpu ? MapType.PERCPU_HASH : MapType.HASH,
    percpu,
    keySize: userKey + (bucketed ? 8 : 0),
    valueSize,
    bucketed,
  };
}

/** Where a value lives in memory: base register + offset. */
interface Loc {
  base: Reg;
  off: number;
}

const EXIT_ID = 20000;
export const EVENT_ID_BASE = { printf: 0, exit: EXIT_ID } as const;

/** Most strings join() reads from one array (bpftrace's limit). */
const JOIN_MAX_ARGS = 16;

/** Scratch ("heap") elements per CPU: one per nesting level of kscope programs on a CPU (see heapEnter). */
export const HEAP_NEST = 4;

/** Values up to this size go on the BPF stack, bigger ones in the heap. */
const ON_STACK_LIMIT = 64;

/**
 * Memory of one function: its BPF stack and the heap element (r9), both allocated like stacks. A callback's stack
 * shares the 512 bytes with its callers' (the verifier adds up the frames of a call chain, each rounded to 32).
 */
class Frame {
  size = 0;
  /** the most stack bytes in use at any point */
  max = 0;
  /** heap bytes the program needs (0: no heap lookup at entry) */
  heapMax = 0;
  constructor(
    /** stack bytes this function may use */
    readonly limit = 512,
    public heap = 0,
  ) {}
  alloc(bytes: number): Loc {
    const n = Math.ceil(bytes / 8) * 8;
    if (n > ON_STACK_LIMIT) {
      const off = this.heap;
      this.heap += n;
      this.heapMax = Math.max(this.heapMax, this.heap);
      return { base: R9, off };
    }
    return this.allocStack(n);
  }
  /** Stack memory whatever the size (helper arguments that must point to the stack). */
  allocStack(bytes: number): Loc {
    this.size += Math.ceil(bytes / 8) * 8;
    this.max = Math.max(this.max, this.size);
    if (this.size > this.limit) throw new Error('stack');
    return { base: R10, off: -this.size };
  }
}

/** A for-over-map body waiting to be emitted as a callback subprogram after the function that calls it. */
interface PendingCallback {
  label: Label;
  loop: A.ForMap;
  /** the caller's frame (its stack is in use while the callback runs; the callback's heap starts after its heap) */
  caller: Frame;
  heapAt: number;
  /** variables of the caller the body uses: where they are copied in the context struct (stack ones) or shared (heap) */
  captured: { name: string; ctxOff: number; size: number; loc: Loc }[];
}

/** Context struct of a for-over-map callback, on the caller's stack: probe context (r6), heap (r9), variables. */
const CTX_VARS = 16;

const CMP: Record<string, { u: string; s: string; inv: string }> = {
  '==': { u: 'jeq', s: 'jeq', inv: '!=' },
  '!=': { u: 'jne', s: 'jne', inv: '==' },
  '<': { u: 'jlt', s: 'jslt', inv: '>=' },
  '<=': { u: 'jle', s: 'jsle', inv: '>' },
  '>': { u: 'jgt', s: 'jsgt', inv: '<=' },
  '>=': { u: 'jge', s: 'jsge', inv: '<' },
};

const fitsImm = (v: bigint) => v >= -(1n << 31n) && v < 1n << 31n;

/** Compiles one probe body for one target. */
class ProbeCompiler {
  readonly a = new Asm();
  /** the function being emitted: the probe's, or a for-over-map callback's */
  frame = new Frame();
  vars = new Map<string, Loc>();
  readonly typer: Typer;
  private exitLabel: Label;
  private loops: { brk: Label; cont: Label }[] = [];
  /** frame of the probe's main function (its heapMax covers the callbacks') */
  readonly mainFrame = this.frame;
  private readonly pending: PendingCallback[] = [];
  /** labels some jump targets (a callback emits only the exits it needs) */
  private readonly jumped = new Set<Label>();
  /** first instruction of each callback */
  readonly subprogs: number[] = [];
  /** how often each variable is named in the probe (a callback shares those also named outside its body) */
  private readonly varRefs: Map<string, number>;
  /** TRACING programs (tp_btf, fentry/fexit) read fields of BTF pointers with plain loads */
  private readonly tracing: boolean;

  constructor(
    private readonly c: Compiled,
    private readonly exp: Expanded,
    private readonly probe: A.Probe,
    readonly kind: Pick<CompiledProbe, 'progType' | 'expectedAttachType' | 'attachBtfId'>,
    /** emit the heap lookup at entry (known after a first compilation) */
    private readonly withHeap = false,
  ) {
    this.tracing = kind.progType === ProgType.TRACING;
    this.varRefs = countVars(probe);
    const diags: Diagnostic[] = [];
    this.typer = new Typer(c.info, exp.target, (d) => d.severity === 'error' && diags.push(d));
    this.exitLabel = this.a.newLabel('exit');
    // learn every variable's final type, then give each a stack slot
    if (probe.predicate) this.typer.typeOf(probe.predicate);
    collectVars(probe.body, this.typer);
    if (diags.length) throw new CompileError(diags, c.info.source);
    for (const [name, ty] of this.typer.vars) this.vars.set(name, this.frame.alloc(storageSize(ty) || 8));
  }

  /** uprobe/USDT: plain integers used as pointers (argN, retval) point into the process */
  private get userSpace(): boolean {
    return ['uprobe', 'uretprobe', 'usdt'].includes(this.exp.target.provider);
  }

  private err(msg: string, r: Range): never {
    throw new CompileError(Diagnostic.error(msg, r), this.c.info.source);
  }

  private ty(e: A.Expr): Ty {
    return this.typer.typeOf(e);
  }

  /** stack slot holding the pointer to this CPU's scratch depth counter (programs with a heap) */
  private heapDepth?: Loc;
  private heapBare?: Label;

  /**
   * Takes this program's scratch element: r9 = heap[depth++] on this CPU. A program can be interrupted on its CPU by
   * another kscope program (perf events in NMI context) or, on preemptible kernels, preempted by one (fentry/fexit
   * and other hooks that run with only migration disabled); each nesting level gets its own element, so they never
   * share one. The exit label gives the level back. Nested deeper than HEAP_NEST, the firing is dropped and counted
   * as a lost event.
   */
  private heapEnter(): void {
    const a = this.a;
    const heap = (this.c.heap ??= { fd: -1, name: 'heap' });
    const k = this.frame.allocStack(8);
    const depth = this.frame.allocStack(8);
    const bare = a.newLabel('exit_bare');
    const deep = a.newLabel('heap_deep');
    const lookup = () => a.ldMapFd(R1, heap).mov(R2, R10).add(R2, k.off).call('map_lookup_elem');
    a.st(8, R10, k.off, HEAP_NEST);
    lookup().jeq(R0, 0, bare).stx(8, R10, depth.off, R0).mov(R1, 1);
    // r1 = depth before this program; without fetch (before 5.12) the add and the read are two steps
    if (feature('atomic_fetch').supported) a.atomic(8, 'fetch_add', R0, 0, R1);
    else a.atomic(8, 'add', R0, 0, R1).ldx(8, R1, R0, 0).sub(R1, 1);
    a.jge(R1, HEAP_NEST, deep).stx(8, R10, k.off, R1);
    lookup().jeq(R0, 0, this.exitLabel).mov(R9, R0);
    this.heapDepth = depth;
    this.heapBare = bare;
    const body = a.newLabel('heap_ok');
    a.ja(body).label(deep);
    this.countLost(this.exitLabel);
    a.ja(this.exitLabel).label(body);
  }

  /** lost events: the per-CPU counter at key 0, += 1; then goto `done` */
  private countLost(done: Label): void {
    const a = this.a;
    const k = this.frame.alloc(8);
    a.st(8, k.base, k.off, 0).ldMapFd(R1, this.c.lost).mov(R2, R10).add(R2, k.off).call('map_lookup_elem').jeq(R0, 0, done);
    a.mov(R1, 1).atomic(8, 'add', R0, 0, R1);
  }

  compile(): Asm {
    const a = this.a;
    a.mov(R6, R1);
    // -k saves r7 around its error records: give it a value before any
    if (this.c.info.config.helperWarnings) a.mov(R7, 0);
    try {
      if (this.withHeap) this.heapEnter();
      // an iterator's program also runs once after the last object, with a NULL object (ctx's second field)
      if (this.exp.target.provider === 'iter') a.ldx(8, R0, R6, 8).jeq(R0, 0, this.exitLabel);
      const pid = this.c.info.config.pid;
      if (pid && !['begin', 'end', 'interval', 'iter'].includes(this.exp.target.provider)) {
        // -p PID: every probe fires for that process only
        a.call('get_current_pid_tgid').rsh(R0, 32).jne(R0, pid, this.exitLabel);
      }
      if (this.probe.predicate) {
        a.mark(this.probe.predicate.range);
        this.cond(this.probe.predicate, this.exitLabel);
      }
      this.block(this.probe.body);
      a.label(this.exitLabel);
      if (this.heapDepth) a.ldx(8, R1, R10, this.heapDepth.off).mov(R2, -1).atomic(8, 'add', R1, 0, R2).label(this.heapBare!);
      a.mov(R0, 0).exit();
      for (let i = 0; i < this.pending.length; i++) this.callback(this.pending[i]!);
    } catch (e) {
      if (e instanceof Error && e.message === 'stack') this.err('the probe needs more than the 512 bytes of BPF stack (for loops over maps share it with their callbacks)', this.probe.range);
      throw e;
    }
    return a;
  }

  /**
   * `for ($kv : @map) body`: bpf_for_each_map_elem(map, callback, &ctx, 0). The caller's variables the body uses
   * are copied into the context struct before and back after; the callback returns 1 to stop (break, exit()).
   */
  private forMap(s: A.ForMap): void {
    const a = this.a;
    const m = this.layout(s.map.name, s.map.range);
    if (m.bucketed || m.info.kind === 'stats') this.err(`for loops cannot iterate over ${m.info.kind}() maps`, s.map.range);
    const inBody = countVars(s.body);
    const captured: PendingCallback['captured'] = [];
    let size = CTX_VARS;
    for (const [name, n] of inBody) {
      if (name === s.variable.name || (this.varRefs.get(name) ?? 0) <= n) continue;
      const loc = this.vars.get(name)!;
      const bytes = storageSize(this.typer.vars.get(name)!) || 8;
      captured.push({ name, ctxOff: loc.base === R10 ? size : -1, size: bytes, loc });
      if (loc.base === R10) size += bytes;
    }
    const ctx = this.frame.allocStack(size);
    const label = a.newLabel('for_map');
    this.pending.push({ label, loop: s, caller: this.frame, heapAt: this.frame.heap, captured });
    a.stx(8, R10, ctx.off, R6);
    if (this.withHeap) a.stx(8, R10, ctx.off + 8, R9);
    else a.st(8, R10, ctx.off + 8, 0);
    const field = (c: PendingCallback['captured'][number]): Loc => ({ base: R10, off: ctx.off + c.ctxOff });
    for (const c of captured) if (c.ctxOff >= 0) this.copy(field(c), c.loc, c.size);
    a.ldMapFd(R1, m.slot).ldFunc(R2, label).mov(R3, R10).add(R3, ctx.off).mov(R4, 0).call('for_each_map_elem');
    for (const c of captured) if (c.ctxOff >= 0) this.copy(c.loc, field(c), c.size);
  }

  /** Emits a callback: r1 = map, r2 = key, r3 = value, r4 = context struct; returns 0 to go on, 1 to stop. */
  private callback(p: PendingCallback): void {
    const a = this.a;
    const s = p.loop;
    const m = this.c.maps.get(s.map.name)!;
    const saved = { frame: this.frame, vars: this.vars, loops: this.loops, exitLabel: this.exitLabel };
    this.frame = new Frame(p.caller.limit - Math.ceil(p.caller.max / 32) * 32, p.heapAt);
    this.vars = new Map();
    const cont = a.newLabel('for_next');
    const brk = a.newLabel('for_stop');
    this.loops = [{ brk, cont }];
    this.exitLabel = brk;
    this.subprogs.push(a.pc);
    a.label(p.label).mark(s.range);
    const ctxPtr = this.frame.allocStack(8);
    a.stx(8, R10, ctxPtr.off, R4).ldx(8, R6, R4, 0);
    if (this.withHeap) a.ldx(8, R9, R4, 8);
    if (this.c.info.config.helperWarnings) a.mov(R7, 0);
    // the loop variable: (key, value)
    const kvTy = this.typer.vars.get(s.variable.name) as { k: 'tuple'; elems: Ty[] };
    const kv = this.frame.alloc(storageSize(kvTy));
    this.vars.set(s.variable.name, kv);
    const keySize = storageSize(kvTy.elems[0]!);
    const value = { base: kv.base, off: kv.off + keySize };
    this.copy(kv, { base: R2, off: 0 }, keySize);
    if (m.percpu) this.copy(value, this.percpuRead(m, kv), 8);
    else this.copy(value, { base: R3, off: 0 }, storageSize(kvTy.elems[1]!));
    // the body's variables: the caller's through the context struct (heap ones shared in place), the others its own
    for (const [name] of countVars(s.body)) {
      if (name === s.variable.name) continue;
      const c = p.captured.find((x) => x.name === name);
      if (c && c.ctxOff < 0) this.vars.set(name, c.loc);
      else this.vars.set(name, this.frame.alloc(storageSize(this.typer.vars.get(name)!) || 8));
    }
    const copyCtx = (back: boolean) => {
      for (const c of p.captured) {
        if (c.ctxOff < 0) continue;
        a.ldx(8, R2, R10, ctxPtr.off);
        const field = { base: R2, off: c.ctxOff };
        if (back) this.copy(field, this.vars.get(c.name)!, c.size);
        else this.copy(this.vars.get(c.name)!, field, c.size);
      }
    };
    copyCtx(false);
    this.block(s.body);
    // every path writes the variables back, then returns r0 (the verifier refuses unreachable code: emit what is used)
    const last = s.body.stmts[s.body.stmts.length - 1];
    const fallsThrough = !last || !(['return', 'break', 'continue'].includes(last.kind) || (last.kind === 'expr_stmt' && last.expr.kind === 'call' && last.expr.name === 'exit'));
    const done = a.newLabel('for_ret');
    if (fallsThrough || this.jumped.has(cont)) a.label(cont).mov(R0, 0);
    a.label(done);
    copyCtx(true);
    a.exit();
    if (this.jumped.has(brk)) a.label(brk).mov(R0, 1).ja(done);
    this.mainFrame.heapMax = Math.max(this.mainFrame.heapMax, this.frame.heapMax);
    Object.assign(this, saved);
  }

  // ------------------------------------------------------------------------------------------------ statements

  /** Emits a block's statements; those after one that always leaves it (exit, return, break, continue) are dead. */
  private block(b: A.Block): void {
    for (const s of b.stmts) {
      this.stmt(s);
      if (['return', 'break', 'continue'].includes(s.kind) || (s.kind === 'expr_stmt' && s.expr.kind === 'call' && s.expr.name === 'exit')) return;
    }
  }

  private withTemps<T>(f: () => T): T {
    const { size, heap } = this.frame;
    try {
      return f();
    } finally {
      this.frame.size = size;
      this.frame.heap = heap;
    }
  }

  /** the statement being compiled (where -k reports helper errors) */
  private stmtRange?: Range;

  /**
   * Calls a helper; with -k a negative return value also sends a helper_error record (the ring buffer record
   * being filled, r7, is kept across it).
   */
  private callChecked(helper: string): void {
    const a = this.a;
    a.call(helper);
    if (!this.c.info.config.helperWarnings) return;
    const ok = a.newLabel('helper_ok');
    const save = this.frame.alloc(16);
    a.jsge(R0, 0, ok).stx(8, save.base, save.off, R7).stx(8, save.base, save.off + 8, R0);
    const id = this.eventId({ kind: 'helper_error', helper, range: this.stmtRange ?? this.probe.range });
    this.record(id, 16, () => a.ldx(8, R1, save.base, save.off + 8).stx(8, R7, 8, R1));
    // r0 keeps the helper's result on both paths
    a.ldx(8, R7, save.base, save.off).ldx(8, R0, save.base, save.off + 8).label(ok);
  }

  private stmt(s: A.Stmt): void {
    this.stmtRange = s.range;
    this.a.mark(s.range);
    this.withTemps(() => this.stmtInner(s));
  }

  private stmtInner(s: A.Stmt): void {
    const a = this.a;
    switch (s.kind) {
      case 'expr_stmt':
        return this.exprStmt(s.expr);
      case 'assign': {
        const value: A.Expr = s.op ? { kind: 'binary', op: s.op, left: s.target, right: s.value, range: s.range } : s.value;
        if (s.target.kind === 'variable') return this.store(value, this.vars.get(s.target.name)!, this.typer.vars.get(s.target.name)!);
        return this.mapAssign(s.target, value);
      }
      case 'var_decl': {
        const loc = this.vars.get(s.variable.name)!;
        const ty = this.typer.vars.get(s.variable.name)!;
        if (s.value) this.store(s.value, loc, ty);
        else this.zero(loc, storageSize(ty));
        return;
      }
      case 'if': {
        const elseL = a.newLabel('else');
        const end = a.newLabel('endif');
        this.cond(s.cond, elseL);
        this.block(s.then);
        if (s.else) a.ja(end);
        a.label(elseL);
        if (s.else) {
          if (s.else.kind === 'if') this.stmt(s.else);
          else this.block(s.else);
          a.label(end);
        }
        return;
      }
      case 'while': {
        const top = a.newLabel('while');
        const end = a.newLabel('wend');
        a.label(top);
        this.cond(s.cond, end);
        this.loops.push({ brk: end, cont: top });
        this.block(s.body);
        this.loops.pop();
        a.ja(top).label(end);
        return;
      }
      case 'for_range': {
        const v = this.vars.get(s.variable.name)!;
        const endSlot = this.frame.alloc(8);
        this.int(s.end);
        a.stx(8, endSlot.base, endSlot.off, R0);
        this.int(s.start);
        a.stx(8, v.base, v.off, R0);
        const top = a.newLabel('for');
        const next = a.newLabel('fnext');
        const end = a.newLabel('fend');
        a.label(top).ldx(8, R0, v.base, v.off).ldx(8, R1, endSlot.base, endSlot.off).jsge(R0, R1, end);
        this.loops.push({ brk: end, cont: next });
        this.block(s.body);
        this.loops.pop();
        a.label(next).ldx(8, R0, v.base, v.off).add(R0, 1).stx(8, v.base, v.off, R0).ja(top).label(end);
        return;
      }
      case 'unroll':
        for (let i = 0; i < Number((s.count as A.IntLit).value); i++) this.block(s.body);
        return;
      case 'block':
        return this.block(s);
      case 'return':
        if (this.frame !== this.mainFrame) this.err('return inside a for loop over a map is not supported (its body runs in a callback): use break', s.range);
        a.ja(this.exitLabel);
        return;
      case 'break':
      case 'continue': {
        const l = this.loops[this.loops.length - 1];
        if (!l) this.err(`${s.kind} used outside of a loop`, s.range);
        this.jump(s.kind === 'break' ? l.brk : l.cont);
        return;
      }
      case 'discard':
        return this.exprStmt(s.expr);
      case 'for_map':
        return this.forMap(s);
      default:
        this.err(`${s.kind} statements are not supported yet`, s.range);
    }
  }

  private jump(l: Label): void {
    this.jumped.add(l);
    this.a.ja(l);
  }

  private exprStmt(e: A.Expr): void {
    if (e.kind === 'call') {
      switch (e.name) {
        case 'printf':
        case 'system':
        case 'cat':
          return this.printf(e);
        case 'signal': {
          const sig = e.args[0] as A.Expr;
          if (sig.kind === 'string') this.a.mov(R1, signalNumber(sig.value)!);
          else this.int(sig), this.a.mov(R1, R0);
          this.a.call('send_signal');
          return;
        }
        case 'override':
          // bpf_override_return(regs, rc): the kprobed function returns rc without running
          this.int(e.args[0] as A.Expr);
          this.a.mov(R2, R0).mov(R1, R6).call('override_return');
          return;
        case 'exit':
          this.event(this.eventId({ kind: 'exit' }), []);
          this.jump(this.exitLabel);
          return;
        case 'join':
          return this.join(e);
        case 'time': {
          const f = e.args[0];
          this.event(this.eventId({ kind: 'time', format: f?.kind === 'string' ? f.value : undefined }), []);
          return;
        }
        case 'print': {
          const m = e.args[0]!;
          if (m.kind === 'map') {
            const top = e.args[1] ? (e.args[1] as A.Expr) : undefined;
            const div = e.args[2] ? (e.args[2] as A.Expr) : undefined;
            this.event(this.eventId({ kind: 'print_map', map: m.name }), [top ?? lit(0n, m.range), div ?? lit(0n, m.range)]);
            return;
          }
          const ty = this.ty(m as A.Expr);
          this.event(this.eventId({ kind: 'print_value', ty }), [m as A.Expr]);
          return;
        }
        case 'clear':
        case 'zero': {
          const m = e.args[0] as A.MapRef;
          this.event(this.eventId({ kind: e.name, map: m.name }), []);
          return;
        }
        case 'delete': {
          const t = e.args[0] as A.MapAccess | A.MapRef;
          const layout = this.layout(t.kind === 'map' ? t.name : t.map.name, t.range);
          const key = this.key(layout, t.kind === 'map_access' ? t.key : undefined);
          this.a.ldMapFd(R1, layout.slot).mov(R2, key.base).add(R2, key.off);
          this.callChecked('map_delete_elem');
          return;
        }
      }
    }
    if (e.kind === 'incdec') return void this.int(e);
    this.int(e);
  }

  // ------------------------------------------------------------------------------------------------ events

  private eventId(d: EventDesc): number {
    this.c.events.push(d);
    return this.c.events.length - 1;
  }

  /** Reserves a record of `8 + args` bytes in the ring buffer, fills it, submits it; counts failures as lost. */
  private record(id: number, size: number, fill: () => void): void {
    const a = this.a;
    const fail = a.newLabel('lost');
    const done = a.newLabel('sent');
    a.ldMapFd(R1, this.c.ringbuf).mov(R2, size).mov(R3, 0).call('ringbuf_reserve').mov(R7, R0).jeq(R7, 0, fail);
    a.st(8, R7, 0, id);
    fill();
    a.mov(R1, R7).mov(R2, 0).call('ringbuf_submit').ja(done);
    a.label(fail);
    this.countLost(done);
    a.label(done);
  }

  private event(id: number, args: A.Expr[]): void {
    const tys = args.map((x) => this.ty(x));
    const offs: number[] = [];
    let size = 8;
    for (const t of tys) {
      offs.push(size);
      size += storageSize(t);
    }
    const d = this.c.events[id]!;
    if (d.kind === 'print_value') d.ty = tys[0]!;
    this.record(id, size, () => args.forEach((x, i) => this.store(x, { base: R7, off: offs[i]! }, tys[i]!)));
  }

  /**
   * join(argv[, sep]): reads up to JOIN_MAX_ARGS string pointers of a NULL-terminated array, each string into the
   * record; user space prints them joined.
   */
  private join(e: A.Call): void {
    const a = this.a;
    const arr = e.args[0] as A.Expr;
    const at = this.ty(arr);
    const user = (at.k === 'ptr' && at.user) || (at.k === 'int' && this.userSpace);
    const strSize = Math.min(this.c.info.config.maxStrlen, 256);
    const sep = e.args[1] ? (e.args[1] as A.StringLit).value : ' ';
    const id = this.eventId({ kind: 'join', sep, strSize });
    const base = this.frame.alloc(8);
    const ptr = this.frame.alloc(8);
    this.int(arr);
    a.stx(8, base.base, base.off, R0);
    this.record(id, 16 + JOIN_MAX_ARGS * strSize, () => {
      const done = a.newLabel('join_done');
      a.st(8, R7, 8, 0);
      for (let i = 0; i < JOIN_MAX_ARGS; i++) {
        a.mov(R1, R10).add(R1, ptr.off).mov(R2, 8).ldx(8, R3, base.base, base.off).add(R3, i * 8);
        a.call(user ? 'probe_read_user' : 'probe_read_kernel');
        a.jne(R0, 0, done).ldx(8, R3, R10, ptr.off).jeq(R3, 0, done);
        a.mov(R1, R7).add(R1, 16 + i * strSize).mov(R2, strSize).call(user ? 'probe_read_user_str' : 'probe_read_kernel_str');
        a.st(8, R7, 8, i + 1);
      }
      a.label(done);
    });
  }

  private printf(e: A.Call): void {
    const fmt = (e.args[0] as A.StringLit).value;
    const args = e.args.slice(1) as A.Expr[];
    const tys = args.map((x) => this.ty(x));
    let size = 8;
    const layout = tys.map((ty) => {
      const off = size;
      size += storageSize(ty);
      return { ty, off };
    });
    const action = e.name === 'system' || e.name === 'cat' ? e.name : undefined;
    const id = this.eventId({ kind: 'printf', text: fmt, format: parseFormat(fmt), args: layout, size, ...(action ? { action } : {}) });
    this.record(id, size, () => args.forEach((x, i) => this.store(x, { base: R7, off: layout[i]!.off }, tys[i]!)));
  }

  // ------------------------------------------------------------------------------------------------ maps

  private layout(name: string, r: Range): MapLayout {
    return this.c.maps.get(name) ?? this.err(`Undefined map: ${name}`, r);
  }

  /** Builds a map key on the stack; returns its location. */
  private key(m: MapLayout, keyExpr: A.Expr | undefined, bucket?: () => void): Loc {
    const loc = this.frame.alloc(m.keySize);
    const userSize = m.keySize - (m.bucketed ? 8 : 0);
    if (keyExpr && m.info.key) {
      this.zero(loc, userSize);
      this.store(keyExpr, loc, m.info.key);
    } else if (userSize) this.a.st(8, loc.base, loc.off, 0);
    if (m.bucketed && bucket) {
      bucket();
      this.a.stx(8, loc.base, loc.off + userSize, R0);
    }
    return loc;
  }

  private lookup(m: MapLayout, key: Loc): void {
    this.a.ldMapFd(R1, m.slot).mov(R2, key.base).add(R2, key.off).call('map_lookup_elem');
  }

  private update(m: MapLayout, key: Loc, value: Loc): void {
    this.a.ldMapFd(R1, m.slot).mov(R2, key.base).add(R2, key.off).mov(R3, value.base).add(R3, value.off).mov(R4, 0);
    this.callChecked('map_update_elem');
  }

  private mapAssign(target: A.MapRef | A.MapAccess, value: A.Expr): void {
    const a = this.a;
    const m = this.layout(target.kind === 'map' ? target.name : target.map.name, target.range);
    const keyExpr = target.kind === 'map_access' ? target.key : undefined;
    if (value.kind === 'call' && AGGREGATES.has(value.name)) {
      const args = value.args as A.Expr[];
      const v = this.frame.alloc(16);
      // the new sample (or 1 for count) and a second word: 1 (count / is-set)
      if (value.name === 'count' || value.name === 'hist' || value.name === 'lhist') a.st(8, v.base, v.off, 1);
      else {
        this.int(args[0]!);
        a.stx(8, v.base, v.off, R0);
      }
      a.st(8, v.base, v.off + 8, 1);
      let bucket: (() => void) | undefined;
      if (value.name === 'hist') bucket = () => (this.int(args[0]!), this.histBucket(m.info.bits ?? 0));
      if (value.name === 'lhist') bucket = () => (this.int(args[0]!), this.lhistBucket(m.info.lhist!));
      const key = this.key(m, keyExpr, bucket);
      const init = a.newLabel('init');
      const done = a.newLabel('done');
      this.lookup(m, key);
      a.jeq(R0, 0, init);
      switch (value.name) {
        case 'count':
        case 'hist':
        case 'lhist':
          a.ldx(8, R1, R0, 0).add(R1, 1).stx(8, R0, 0, R1);
          break;
        case 'sum':
          a.ldx(8, R1, R0, 0).ldx(8, R2, v.base, v.off).add(R1, R2).stx(8, R0, 0, R1);
          break;
        case 'avg':
        case 'stats':
          a.ldx(8, R1, R0, 0).ldx(8, R2, v.base, v.off).add(R1, R2).stx(8, R0, 0, R1);
          a.ldx(8, R1, R0, 8).add(R1, 1).stx(8, R0, 8, R1);
          break;
        case 'min':
        case 'max': {
          const signed = isSigned(m.info.value);
          const keep = a.newLabel('keep');
          const set = a.newLabel('set');
          a.ldx(8, R1, R0, 8).jeq(R1, 0, set);
          a.ldx(8, R1, R0, 0).ldx(8, R2, v.base, v.off);
          // keep the current value unless the new one beats it
          const jbeat = value.name === 'min' ? (signed ? 'jslt' : 'jlt') : signed ? 'jsgt' : 'jgt';
          a.jmp(jbeat === 'jslt' ? 'jsge' : jbeat === 'jlt' ? 'jge' : jbeat === 'jsgt' ? 'jsle' : 'jle', R2, R1, keep);
          a.label(set).ldx(8, R2, v.base, v.off).stx(8, R0, 0, R2).st(8, R0, 8, 1);
          a.label(keep);
          break;
        }
      }
      a.ja(done).label(init);
      this.update(m, key, v);
      a.label(done);
      return;
    }
    const v = this.frame.alloc(m.valueSize);
    if (storageSize(m.info.value) < m.valueSize || ['str', 'tuple', 'record'].includes(m.info.value.k)) this.zero(v, m.valueSize);
    this.store(value, v, m.info.value);
    const key = this.key(m, keyExpr);
    this.update(m, key, v);
  }

  /** r0 = bpftrace's log2 bucket index of r0 with `bits` sub-buckets per power of two. */
  private histBucket(bits: number): void {
    const a = this.a;
    const neg = a.newLabel('hneg');
    const small = a.newLabel('hsmall');
    const done = a.newLabel('hdone');
    a.jslt(R0, 0, neg);
    a.jlt(R0, 1 << bits, small);
    // r1 = n, r2 = floor(log2 n)
    a.mov(R1, R0).mov(R2, 0).mov(R3, R0);
    for (const sh of [32, 16, 8, 4, 2, 1]) {
      const skip = a.newLabel('l2');
      a.mov(R4, R3).rsh(R4, sh).jeq(R4, 0, skip).mov(R3, R4).add(R2, sh).label(skip);
    }
    // index = ((l - k + 1) << k) + ((n >> (l - k)) & (2^k - 1)) + 1
    a.mov(R0, R2).add(R0, 1 - bits).lsh(R0, bits);
    if (bits) a.mov(R4, R2).add(R4, -bits).mov(R5, R1).rsh(R5, R4).and(R5, (1 << bits) - 1).add(R0, R5);
    a.add(R0, 1).ja(done);
    a.label(small).add(R0, 1).ja(done);
    a.label(neg).mov(R0, 0);
    a.label(done);
  }

  /** r0 = lhist bucket: 0 below min, 1 + (n - min) / step, last for n >= max. */
  private lhistBucket(l: { min: number; max: number; step: number }): void {
    const a = this.a;
    const below = a.newLabel('lbelow');
    const above = a.newLabel('labove');
    const done = a.newLabel('ldone');
    a.jslt(R0, l.min, below).jsge(R0, l.max, above);
    a.add(R0, -l.min).div(R0, l.step).add(R0, 1).ja(done);
    a.label(below).mov(R0, 0).ja(done);
    a.label(above).mov(R0, 1 + Math.trunc((l.max - l.min) / l.step));
    a.label(done);
  }

  // ------------------------------------------------------------------------------------------------ values in memory

  private zero(loc: Loc, size: number): void {
    for (let o = 0; o < size; o += 8) this.a.st(8, loc.base, loc.off + o, 0);
  }

  private copy(dst: Loc, src: Loc, size: number): void {
    for (let o = 0; o < size; o += 8) this.a.ldx(8, R1, src.base, src.off + o).stx(8, dst.base, dst.off + o, R1);
  }

  /** Writes the value of `e`, converted to `ty`, at `loc`. */
  private store(e: A.Expr, loc: Loc, ty: Ty): void {
    const a = this.a;
    if (e.kind === 'tuple_index' && e.expr.kind === 'tuple') return this.store(e.expr.elems[e.index]!, loc, ty);
    if (ty.k === 'usym') {
      this.int(e);
      a.stx(8, loc.base, loc.off, R0).call('get_current_pid_tgid').rsh(R0, 32).stx(8, loc.base, loc.off + 8, R0);
      return;
    }
    if (ty.k === 'buf') return this.storeBuf(e as A.Call, loc, ty.size);
    if (isInt(ty) || ty.k === 'stack' || ty.k === 'timestamp') {
      this.int(e);
      if (ty.k === 'int' && ty.size < 8) this.truncate(ty);
      a.stx(8, loc.base, loc.off, R0);
      return;
    }
    if (ty.k === 'tuple') {
      const offs = tupleOffsets(ty);
      if (e.kind === 'tuple') {
        e.elems.forEach((x, i) => this.store(x, { base: loc.base, off: loc.off + offs[i]! }, ty.elems[i]!));
        return;
      }
    }
    if (ty.k === 'str') return this.storeStr(e, loc, ty.size);
    if (ty.k === 'record' && !['variable', 'map', 'map_access', 'tuple_index'].includes(e.kind)) return this.readAt(e, loc, ty.size);
    if (ty.k === 'inet' && e.kind === 'call' && e.name === 'ntop') return this.storeInet(e, loc);
    if (ty.k === 'macaddr' && e.kind === 'call' && e.name === 'macaddr') return this.storeMac(e, loc);
    // values that already live in memory: variables and map values
    const src = this.memOf(e, storageSize(ty));
    if (src) return this.copy(loc, src, storageSize(ty));
    this.err(`cannot use a ${ty.k} value here`, e.range);
  }

  /** `buf(p[, n])`: the length read (n, at most `size`), then the bytes. */
  private storeBuf(e: A.Call, loc: Loc, size: number): void {
    const a = this.a;
    const src = e.args[0] as A.Expr;
    const st = this.ty(src);
    const data = { base: loc.base, off: loc.off + 8 };
    if (st.k === 'str') {
      this.storeStr(src, data, Math.min(size + 1, st.size));
      a.st(8, loc.base, loc.off, Math.min(size, st.size));
      return;
    }
    if (e.args[1]) {
      // clamp the run-time length to the buffer (the verifier needs the bound)
      const n = e.args[1] as A.Expr;
      this.int(n);
      const ok = a.newLabel('buf_len');
      a.jle(R0, size, ok).mov(R0, size).label(ok);
    } else a.mov(R0, size);
    a.stx(8, loc.base, loc.off, R0);
    this.int(src);
    a.mov(R3, R0).ldx(8, R2, loc.base, loc.off).mov(R1, data.base).add(R1, data.off);
    const user = (st.k === 'ptr' && st.user) || (st.k === 'int' && this.userSpace);
    this.callChecked(user ? 'probe_read_user' : 'probe_read_kernel');
  }

  /** `ntop([af,] addr)`: the family (AF_INET unless given or a 16-byte address), then the address bytes. */
  private storeInet(e: A.Call, loc: Loc): void {
    const a = this.a;
    const addr = e.args[e.args.length - 1] as A.Expr;
    const at = this.ty(addr);
    const bytes = { base: loc.base, off: loc.off + 8 };
    this.zero(bytes, 16);
    if (at.k === 'str') this.storeStr(addr, bytes, at.size);
    else {
      this.int(addr);
      a.stx(4, bytes.base, bytes.off, R0);
    }
    if (e.args.length === 2) this.int(e.args[0] as A.Expr);
    else a.mov(R0, at.k === 'str' && at.size === 16 ? 10 : 2);
    a.stx(8, loc.base, loc.off, R0);
  }

  /** `macaddr(addr)`: the first 6 bytes of an array, or 6 bytes read at a pointer, zero-padded to 8. */
  private storeMac(e: A.Call, loc: Loc): void {
    const a = this.a;
    const addr = e.args[0] as A.Expr;
    const at = this.ty(addr);
    this.zero(loc, 8);
    if (at.k === 'str') {
      const tmp = this.frame.alloc(storageSize(at));
      this.storeStr(addr, tmp, at.size);
      a.ldx(4, R0, tmp.base, tmp.off).stx(4, loc.base, loc.off, R0).ldx(2, R0, tmp.base, tmp.off + 4).stx(2, loc.base, loc.off + 4, R0);
      return;
    }
    this.int(addr);
    a.mov(R3, R0).mov(R2, 6).mov(R1, loc.base).add(R1, loc.off);
    this.callChecked((at.k === 'ptr' && at.user) || (at.k === 'int' && this.userSpace) ? 'probe_read_user' : 'probe_read_kernel');
  }

  /** A location holding the value of e (variables, map values copied to a temp), or undefined. */
  private memOf(e: A.Expr, size: number): Loc | undefined {
    if (e.kind === 'variable') return this.vars.get(e.name);
    if (e.kind === 'tuple_index') {
      const t = this.ty(e.expr) as { k: 'tuple'; elems: Ty[] };
      const base = this.memOf(e.expr, storageSize(t));
      return base && { base: base.base, off: base.off + tupleOffsets(t)[e.index]! };
    }
    if (e.kind === 'map' || e.kind === 'map_access') {
      const m = this.layout(e.kind === 'map' ? e.name : e.map.name, e.range);
      if (m.percpu) return this.percpuRead(m, this.key(m, e.kind === 'map_access' ? e.key : undefined));
      const tmp = this.frame.alloc(size);
      const key = this.key(m, e.kind === 'map_access' ? e.key : undefined);
      const miss = this.a.newLabel('miss');
      const done = this.a.newLabel('got');
      this.lookup(m, key);
      this.a.jeq(R0, 0, miss);
      this.copy(tmp, { base: R0, off: 0 }, size);
      this.a.ja(done).label(miss);
      this.zero(tmp, size);
      this.a.label(done);
      return tmp;
    }
    return undefined;
  }

  /**
   * The value of a per-CPU aggregation (count/sum/avg/min/max) as bpftrace shows it, reduced over every CPU with
   * map_lookup_percpu_elem; returns the stack slot holding it.
   */
  private percpuRead(m: MapLayout, key: Loc): Loc {
    const a = this.a;
    const kind = m.info.kind;
    const signed = isSigned(m.info.value);
    const acc = this.frame.alloc(16);
    const top = a.newLabel('pcpu');
    const done = a.newLabel('pcpu_done');
    a.st(8, acc.base, acc.off, 0).st(8, acc.base, acc.off + 8, 0).mov(R8, 0);
    a.label(top).jge(R8, possibleCpus(), done);
    a.ldMapFd(R1, m.slot).mov(R2, key.base).add(R2, key.off).mov(R3, R8).call('map_lookup_percpu_elem');
    a.add(R8, 1).jeq(R0, 0, top);
    if (kind === 'min' || kind === 'max') {
      // per-CPU {value, is_set}: keep the best set value
      const set = a.newLabel('pcpu_set');
      a.ldx(8, R1, R0, 8).jeq(R1, 0, top).ldx(8, R1, R0, 0).ldx(8, R2, acc.base, acc.off + 8).jeq(R2, 0, set);
      a.ldx(8, R2, acc.base, acc.off);
      const keep = kind === 'min' ? (signed ? 'jsge' : 'jge') : signed ? 'jsle' : 'jle';
      a.jmp(keep, R1, R2, top).label(set).stx(8, acc.base, acc.off, R1).st(8, acc.base, acc.off + 8, 1).ja(top);
    } else {
      a.ldx(8, R1, R0, 0).ldx(8, R2, acc.base, acc.off).add(R2, R1).stx(8, acc.base, acc.off, R2);
      if (kind === 'avg') a.ldx(8, R1, R0, 8).ldx(8, R2, acc.base, acc.off + 8).add(R2, R1).stx(8, acc.base, acc.off + 8, R2);
      a.ja(top);
    }
    a.label(done);
    if (kind === 'avg') {
      const empty = a.newLabel('avg_empty');
      a.ldx(8, R1, acc.base, acc.off + 8).jeq(R1, 0, empty).ldx(8, R0, acc.base, acc.off);
      if (signed) {
        // sign and magnitude: BPF has no signed division before 6.6
        const pos = a.newLabel('avg_pos');
        const div = a.newLabel('avg_div');
        a.jsge(R0, 0, pos).neg(R0).div(R0, R1).neg(R0).ja(div).label(pos).div(R0, R1).label(div);
      } else a.div(R0, R1);
      a.stx(8, acc.base, acc.off, R0).label(empty);
    }
    return acc;
  }

  private storeStr(e: A.Expr, loc: Loc, size: number): void {
    const a = this.a;
    if (e.kind === 'tuple_index' && e.expr.kind === 'tuple') return this.storeStr(e.expr.elems[e.index]!, loc, size);
    const ptr = () => (loc.base === R10 ? a.mov(R1, R10).add(R1, loc.off) : a.mov(R1, loc.base).add(R1, loc.off));
    switch (e.kind) {
      case 'string': {
        const bytes = Buffer.alloc(Math.ceil(size / 8) * 8);
        bytes.write(e.value.slice(0, size - 1), 'latin1');
        for (let o = 0; o < bytes.length; o += 4) a.st(4, loc.base, loc.off + o, bytes.readInt32LE(o));
        return;
      }
      case 'builtin':
        if (e.name === 'comm') {
          ptr();
          a.mov(R2, Math.min(16, size)).call('get_current_comm');
          return;
        }
        if (e.name === 'probe') return this.storeStr({ kind: 'string', value: this.exp.name, range: e.range }, loc, size);
        if (e.name === 'func') return this.storeStr({ kind: 'string', value: (this.exp.target as { func: string }).func, range: e.range }, loc, size);
        break;
      case 'positional':
        return this.storeStr({ kind: 'string', value: this.c.info.params[e.index - 1] ?? '', range: e.range }, loc, size);
      case 'call':
        if (e.name === 'str') return this.strCall(e, loc, size);
        if (e.name === 'comm') return this.storeStr({ kind: 'builtin', name: 'comm', range: e.range }, loc, size);
        if (e.name === 'pton') {
          const b = Buffer.alloc(Math.ceil(size / 8) * 8);
          ptonBytes((e.args[0] as A.StringLit).value)!.copy(b);
          for (let o = 0; o < b.length; o += 4) a.st(4, loc.base, loc.off + o, b.readInt32LE(o));
          return;
        }
        break;
      case 'field': {
        const base = this.ty(e.expr);
        if (base.k === 'args') {
          const f = this.typer.argField(e.field)!;
          if (f.dataLoc || f.relLoc) {
            // u32 at the field: data offset (low 16 bits) within the record
            a.ldx(4, R3, R6, f.offset).and(R3, 0xffff);
            if (f.relLoc) a.add(R3, f.offset + 4);
            a.add(R3, R6);
            return this.readStr(loc, size, false, this.strReadLimit());
          }
          ptr();
          a.mov(R2, Math.min(size, f.size)).mov(R3, R6).add(R3, f.offset);
          this.callChecked('probe_read_kernel');
          return;
        }
        if (base.k === 'ptr' || base.k === 'record') return this.readAt(e, loc, size);
        break;
      }
      case 'index':
        return this.readAt(e, loc, size);
      case 'unary':
        if (e.op === '*') return this.readAt(e, loc, size);
        break;
      case 'ternary': {
        const elseL = a.newLabel('telse');
        const end = a.newLabel('tend');
        this.cond(e.cond, elseL);
        this.storeStr(e.then ?? e.cond, loc, size);
        a.ja(end).label(elseL);
        this.storeStr(e.else, loc, size);
        a.label(end);
        return;
      }
    }
    const src = this.memOf(e, Math.ceil(size / 8) * 8);
    if (src) return this.copy(loc, src, Math.ceil(size / 8) * 8);
    this.err(`cannot use this expression as a string`, e.range);
  }

  /** Bytes str() reads at most, NUL included (bpftrace's padded max_strlen): max_strlen characters below 1024, else max_strlen - 1. */
  private strReadLimit(): number {
    const m = this.c.info.config.maxStrlen;
    return m < 1024 ? m + 1 : m;
  }

  /**
   * `str(p[, n])` into `loc` (a string of `size` bytes) as bpftrace reads it: at most n - 1 characters (n counts the
   * NUL; any integer expression), within strReadLimit(). A string argument is copied, then cut after n - 1 characters.
   */
  private strCall(e: A.Call, loc: Loc, size: number): void {
    const a = this.a;
    const first = e.args[0] as A.Expr;
    // str($1): the parameter's text, a number's too (the checker typed it so)
    const param = first.kind === 'positional' ? this.c.info.params[first.index - 1] ?? '' : undefined;
    const arg: A.Expr = param !== undefined ? { kind: 'string', value: param, range: first.range } : first;
    const lim = e.args[1] as A.Expr | undefined;
    const at = param !== undefined ? { k: 'str' as const, size: Buffer.byteLength(param) + 1 } : this.ty(arg);
    const most = this.strReadLimit();
    if (at.k === 'str') {
      this.storeStr(arg, loc, size);
      if (!lim) return;
      // the NUL goes at index min(n, most) - 1 (0 for n = 0) when that is inside the string
      if (lim.kind === 'int') {
        const k = Math.max(Math.min(Number(lim.value), most) - 1, 0);
        if (k < size) a.st(1, loc.base, loc.off + k, 0);
        return;
      }
      const zero = a.newLabel('str_cut0');
      const done = a.newLabel('str_cut');
      this.int(lim);
      a.jeq(R0, 0, zero).sub(R0, 1).label(zero);
      if (most - 1 < size) {
        const ok = a.newLabel('str_cut_in');
        a.jle(R0, most - 1, ok).mov(R0, most - 1).label(ok);
      } else a.jge(R0, size, done);
      a.mov(R1, loc.base).add(R1, loc.off).add(R1, R0).st(1, R1, 0, 0).label(done);
      return;
    }
    let limit: number | Loc = most;
    if (lim?.kind === 'int') limit = Math.min(Number(lim.value), most);
    else if (lim) {
      this.int(lim);
      const ok = a.newLabel('str_len');
      a.jle(R0, most, ok).mov(R0, most).label(ok);
      limit = this.frame.alloc(8);
      a.stx(8, limit.base, limit.off, R0);
    }
    this.int(arg);
    a.mov(R3, R0);
    this.readStr(loc, size, (at.k === 'ptr' && at.user) || (at.k === 'int' && this.userSpace), limit);
  }

  /**
   * Reads the NUL-terminated string at the address in r3 into `loc`, a string of `size` bytes, as a probe_read_*_str
   * of `limit` bytes would (at most limit - 1 characters; `limit` is a number, or a stack slot holding a length
   * already clamped to strReadLimit()). When that can be more characters than `size`, a string that fills the
   * `size` bytes keeps no NUL (bpftrace's truncated string): `size` bytes are read and, if they filled up, the last
   * character again with a plain read (a NUL there when the string had exactly size - 1 characters).
   */
  private readStr(loc: Loc, size: number, user: boolean, limit: number | Loc): void {
    const a = this.a;
    const most = typeof limit === 'number' ? limit : this.strReadLimit();
    const src = most > size ? this.frame.alloc(8) : undefined;
    if (src) a.stx(8, src.base, src.off, R3);
    if (typeof limit === 'number') {
      // a 0-byte read writes nothing
      if (!limit) return void a.st(1, loc.base, loc.off, 0);
      a.mov(R2, Math.min(limit, size));
    } else {
      const ok = a.newLabel('str_fit');
      a.st(1, loc.base, loc.off, 0).ldx(8, R2, limit.base, limit.off).jle(R2, size, ok).mov(R2, size).label(ok);
    }
    a.mov(R1, loc.base).add(R1, loc.off);
    this.callChecked(user ? 'probe_read_user_str' : 'probe_read_kernel_str');
    if (!src) return;
    const done = a.newLabel('str_read');
    a.jne(R0, size, done);
    if (typeof limit !== 'number') a.ldx(8, R1, limit.base, limit.off).jle(R1, size, done);
    a.ldx(8, R3, src.base, src.off).add(R3, size - 1).mov(R1, loc.base).add(R1, loc.off + size - 1).mov(R2, 1);
    this.callChecked(user ? 'probe_read_user' : 'probe_read_kernel');
    a.label(done);
  }

  /** Copies `size` bytes of the value e addresses (see addrOf) to `loc`. */
  private readAt(e: A.Expr, loc: Loc, size: number): void {
    const user = this.addrOf(e);
    this.a.mov(R3, R0).mov(R1, loc.base).add(R1, loc.off).mov(R2, size);
    this.callChecked(user ? 'probe_read_user' : 'probe_read_kernel');
  }

  /**
   * r0 = the address of the value of e, which is a struct member or array element (reached from a pointer, or
   * from a struct/array value held in a variable or map), `*p`, or a struct/array value itself; returns whether
   * it is user memory. Values held in the program's own memory are read back with probe_read_kernel, which
   * needs no alignment and takes a variable index.
   */
  private addrOf(e: A.Expr): boolean {
    const a = this.a;
    if (e.kind === 'field') {
      const base = this.ty(e.expr);
      const m = this.types.btf!.member((base as { btf: number }).btf, e.field);
      let user: boolean;
      if (base.k === 'ptr') {
        this.int(e.expr);
        user = base.user;
      } else user = this.addrOf(e.expr);
      if (m.offset) a.add(R0, m.offset);
      return user;
    }
    if (e.kind === 'index') {
      const base = this.ty(e.expr);
      const el = this.stride(base);
      const k = this.constant(e.index);
      if (base.k === 'ptr') this.int(e.expr);
      const user = base.k === 'ptr' ? base.user : this.addrOf(e.expr);
      if (k !== undefined) {
        if (k) a.add(R0, Number(k) * el);
        return user;
      }
      const t = this.frame.alloc(8);
      a.stx(8, t.base, t.off, R0);
      this.int(e.index);
      // an index past an array's end gives address 0, which reads as 0 (the checker rejects constant ones)
      const n = base.k === 'record' ? (this.types.btf!.type(base.btf) as { nelems: number }).nelems : base.k === 'str' ? base.size : 0;
      const inside = a.newLabel('in_bounds');
      const done = a.newLabel('indexed');
      if (n) a.jlt(R0, n, inside).mov(R0, 0).ja(done).label(inside);
      a.mul(R0, el).ldx(8, R1, t.base, t.off).add(R0, R1).label(done);
      return user;
    }
    if (e.kind === 'unary' && e.op === '*') {
      const t = this.ty(e.operand);
      this.int(e.operand);
      return t.k === 'ptr' ? t.user : this.userSpace;
    }
    const ty = this.ty(e);
    const loc = this.memOf(e, storageSize(ty));
    if (!loc) this.err(`cannot take the address of this ${ty.k === 'record' ? ty.name : 'expression'}`, e.range);
    a.mov(R0, loc.base).add(R0, loc.off);
    return false;
  }

  /** The distance between the elements `e[i]` reads: an array's element size, or the size of a pointer's pointee. */
  private stride(base: Ty): number {
    if (base.k === 'str') return 1;
    const b = this.types.btf!;
    if (base.k === 'record') return b.sizeof((b.type(base.btf) as { type: number }).type);
    const p = base as Extract<Ty, { k: 'ptr' }>;
    if (p.to !== undefined) return b.sizeof(p.to);
    return p.pointee?.k === 'int' ? p.pointee.size : 8;
  }

  private get types(): ProgramTypes {
    return this.c.info.types;
  }

  // ------------------------------------------------------------------------------------------------ integers

  private truncate(ty: { size: number; signed: boolean }): void {
    const a = this.a;
    if (ty.signed) a.lsh(R0, 64 - ty.size * 8).arsh(R0, 64 - ty.size * 8);
    else if (ty.size === 4) a.mov32(R0, R0);
    else a.and(R0, ty.size === 1 ? 0xff : 0xffff);
  }

  /** A compile-time integer value of e (literals, `$#`, numeric positional params), or undefined. */
  private constant(e: A.Expr): bigint | undefined {
    if (e.kind === 'int') return BigInt.asIntN(64, e.value);
    if (e.kind === 'bool') return e.value ? 1n : 0n;
    if (e.kind === 'param_count') return BigInt(this.c.info.params.length);
    if (e.kind === 'positional' && this.ty(e).k === 'int') return BigInt(this.c.info.params[e.index - 1] || '0');
    return undefined;
  }

  /**
   * Evaluates `left` into r0 and returns the right operand: an immediate for constants, else r1. A right operand
   * that is a constant or a scratch variable is loaded straight into r1; otherwise `left` is parked on the stack
   * while `right` is computed (left-to-right evaluation order is kept).
   */
  private operands(left: A.Expr, right: A.Expr): Reg | number {
    const a = this.a;
    const k = this.constant(right);
    if (k !== undefined && fitsImm(k)) {
      this.int(left);
      return Number(k);
    }
    if (k !== undefined || right.kind === 'variable') {
      this.int(left);
      if (k !== undefined) a.ldImm64(R1, k);
      else {
        const l = this.vars.get((right as A.Variable).name)!;
        a.ldx(8, R1, l.base, l.off);
      }
      return R1;
    }
    const t = this.frame.alloc(8);
    this.int(left);
    a.stx(8, t.base, t.off, R0);
    this.int(right);
    a.mov(R1, R0).ldx(8, R0, t.base, t.off);
    return R1;
  }

  /** Evaluates an integer expression into r0. */
  int(e: A.Expr): void {
    const a = this.a;
    switch (e.kind) {
      case 'int':
        if (fitsImm(BigInt.asIntN(64, e.value))) a.mov(R0, Number(BigInt.asIntN(64, e.value)));
        else a.ldImm64(R0, BigInt.asIntN(64, e.value));
        return;
      case 'bool':
        a.mov(R0, e.value ? 1 : 0);
        return;
      case 'positional': {
        const v = this.c.info.params[e.index - 1] ?? '0';
        return this.int(lit(BigInt(/^-?\d+$/.test(v) ? v : '0'), e.range));
      }
      case 'param_count':
        return this.int(lit(BigInt(this.c.info.params.length), e.range));
      case 'variable': {
        const l = this.vars.get(e.name)!;
        a.ldx(8, R0, l.base, l.off);
        return;
      }
      case 'builtin':
        return this.builtin(e.name, e.range);
      case 'tuple_index':
      case 'map':
      case 'map_access': {
        if (e.kind === 'tuple_index' && e.expr.kind === 'tuple') return this.int(e.expr.elems[e.index]!);
        const l = this.memOf(e, 8);
        if (!l) this.err('cannot use this expression as an integer', e.range);
        a.ldx(8, R0, l.base, l.off);
        return;
      }
      case 'binary':
        return this.binary(e);
      case 'unary':
        this.int(e.operand);
        if (e.op === '-') a.neg(R0);
        else if (e.op === '~') a.xor(R0, -1);
        else if (e.op === '!') this.bool(() => a.jeq(R0, 0, this.tmpTrue!));
        else if (e.op === '*') {
          const t = this.ty(e.operand);
          const ft = this.ty(e);
          this.deref(ft.k === 'int' ? ft.size : 8, t.k === 'ptr' ? t.user : this.userSpace);
          if (ft.k === 'int' && ft.signed && ft.size < 8) this.truncate(ft);
        }
        return;
      case 'ternary': {
        const elseL = a.newLabel('telse');
        const end = a.newLabel('tend');
        if (!e.then) {
          this.int(e.cond);
          a.jne(R0, 0, end);
          this.int(e.else);
          a.label(end);
          return;
        }
        this.cond(e.cond, elseL);
        this.int(e.then);
        a.ja(end).label(elseL);
        this.int(e.else);
        a.label(end);
        return;
      }
      case 'cast': {
        this.int(e.expr);
        const t = this.ty(e);
        if (t.k === 'int' && t.size < 8) this.truncate(t);
        return;
      }
      case 'field': {
        const base = this.ty(e.expr);
        const ft = this.ty(e);
        if (base.k === 'args' && this.exp.target.provider !== 'tracepoint') {
          this.ctxArg(this.typer.btfArgs().findIndex((x) => x.name === e.field), e.range);
          if (ft.k === 'int' && ft.size < 8) this.truncate(ft);
          return;
        }
        if (base.k === 'args') {
          const f = this.typer.argField(e.field)!;
          const size = f.size === 1 || f.size === 2 || f.size === 4 ? f.size : 8;
          a.ldx(size, R0, R6, f.offset);
          if (f.signed && size < 8) a.lsh(R0, 64 - size * 8).arsh(R0, 64 - size * 8);
          return;
        }
        const size = ft.k === 'int' ? ft.size : 8;
        const direct = this.directPath(e);
        if (direct && direct.size === size && direct.off < 0x8000) {
          // a plain load through a pointer the verifier types (PTR_TO_BTF_ID); NULL reads as 0
          const load = a.newLabel('nonnull');
          const done = a.newLabel('loaded');
          this.int(direct.ptr);
          // the NULL branch sets a scalar 0: the verifier keeps some pointer types on it
          a.jne(R0, 0, load).mov(R0, 0).ja(done).label(load).ldx(size as 1 | 2 | 4 | 8, R0, R0, direct.off).label(done);
          if (ft.k === 'int' && ft.signed && size < 8) this.truncate(ft);
          return;
        }
        const m = this.types.btf!.member((base as { btf: number }).btf, e.field);
        if (!m.bitSize) {
          this.deref(size, this.addrOf(e));
          if (ft.k === 'int' && ft.signed && size < 8) this.truncate(ft);
          return;
        }
        // a bitfield: the bytes holding it, shifted so its top bit is bit 63, then shifted back (sign-extending)
        const shift = m.bitOffset & 7;
        if (shift + m.bitSize > 64) this.err(`the bitfield ${e.field} spans 9 bytes, which is not supported`, e.range);
        this.deref(Math.ceil((shift + m.bitSize) / 8), this.addrOf(e));
        a.lsh(R0, 64 - shift - m.bitSize);
        if (ft.k === 'int' && ft.signed) a.arsh(R0, 64 - m.bitSize);
        else a.rsh(R0, 64 - m.bitSize);
        return;
      }
      case 'index': {
        // a[i] / p[i] = *(a + i * sizeof(*a)), read through probe_read
        const ft = this.ty(e);
        const size = ft.k === 'int' ? ft.size : 8;
        this.deref(size, this.addrOf(e));
        if (ft.k === 'int' && ft.signed && size < 8) this.truncate(ft);
        return;
      }
      case 'incdec':
        return this.incdec(e);
      case 'sizeof':
      case 'offsetof':
        return this.int(lit(BigInt(this.typer.layoutOf(e) ?? 0), e.range));
      case 'ident':
        return this.int(lit(this.types.constant(e.name) ?? this.err(`Unknown identifier: '${e.name}'`, e.range), e.range));
      case 'call':
        return this.callInt(e);
      default:
        this.err(`${e.kind} expressions are not supported yet`, e.range);
    }
  }

  /** r0 = the `size` (1 to 8) bytes at r0, zero-extended, through probe_read (user or kernel memory). */
  private deref(size: number, user: boolean): void {
    const t = this.frame.allocStack(8);
    const a = this.a;
    const whole = size === 1 || size === 2 || size === 4 || size === 8;
    if (!whole) a.st(8, R10, t.off, 0);
    a.mov(R3, R0).mov(R1, R10).add(R1, t.off).mov(R2, size);
    this.callChecked(user ? 'probe_read_user' : 'probe_read_kernel');
    a.ldx(whole ? size : 8, R0, R10, t.off);
  }

  private tmpTrue?: Label;

  /** r0 = 1 when `jumpIfTrue` (emitted by f, targeting this.tmpTrue) jumps, else 0. */
  private bool(f: () => void): void {
    const a = this.a;
    const t = a.newLabel('true');
    const end = a.newLabel('bend');
    const saved = this.tmpTrue;
    this.tmpTrue = t;
    f();
    this.tmpTrue = saved;
    a.mov(R0, 0).ja(end).label(t).mov(R0, 1).label(end);
  }

  private builtin(name: string, r: Range): void {
    const a = this.a;
    switch (name) {
      case 'pid':
        a.call('get_current_pid_tgid').rsh(R0, 32);
        return;
      case 'tid':
        a.call('get_current_pid_tgid').mov32(R0, R0);
        return;
      case 'uid':
        a.call('get_current_uid_gid').mov32(R0, R0);
        return;
      case 'gid':
        a.call('get_current_uid_gid').rsh(R0, 32);
        return;
      case 'nsecs':
        a.call('ktime_get_boot_ns');
        return;
      case 'elapsed':
        a.call('ktime_get_ns').ldImm64(R1, this.c.startNs).sub(R0, R1);
        return;
      case 'cpu':
        a.call('get_smp_processor_id');
        return;
      case 'rand':
        a.call('get_prandom_u32');
        return;
      case 'cpid':
        a.mov(R0, this.c.info.config.cpid);
        return;
      case 'cgroup':
        a.call('get_current_cgroup_id');
        return;
      case 'curtask':
        // the BTF-typed helper lets TRACING programs load task fields directly
        a.call(this.tracing ? 'get_current_task_btf' : 'get_current_task');
        return;
      case 'jiffies':
        a.call('get_jiffies_64');
        return;
      case 'ctx':
        a.mov(R0, R6);
        return;
      case 'kstack':
      case 'ustack':
        return this.stack(name === 'ustack');
      case 'retval':
        // fexit: after the arguments in ctx; else x86_64 pt_regs->ax
        if (this.exp.target.provider === 'fexit') a.ldx(8, R0, R6, this.typer.btfArgs().length * 8);
        else a.ldx(8, R0, R6, 80);
        return;
      default: {
        const m = /^arg(\d+)$/.exec(name);
        const t = this.exp.target;
        if (m && t.provider === 'usdt') return this.usdtArg(t.args[Number(m[1])]!, r);
        if (m && (t.provider === 'rawtracepoint' || t.provider === 'fentry' || t.provider === 'fexit')) {
          a.ldx(8, R0, R6, Number(m[1]) * 8);
          return;
        }
        if (m) {
          // x86_64 pt_regs: di, si, dx, cx, r8, r9
          const off = [112, 104, 96, 88, 72, 64][Number(m[1])];
          if (off === undefined) this.err(`${name} is not available (only arg0-arg5 are passed in registers)`, r);
          a.ldx(8, R0, R6, off);
          return;
        }
        this.err(`the ${name} builtin is not supported yet`, r);
      }
    }
  }

  /** r0 = argument i of the probed function or raw tracepoint, by position (ctx slots or pt_regs registers). */
  private ctxArg(i: number, r: Range): void {
    const t = this.exp.target.provider;
    if (t === 'kprobe') return this.builtin(`arg${i}`, r);
    this.a.ldx(8, R0, R6, i * 8);
  }

  /** r0 = a USDT argument decoded from its `.note.stapsdt` spec (register, constant or memory operand). */
  private usdtArg(u: UsdtArg, r: Range): void {
    const a = this.a;
    const regOff = (reg: string) => X86_64_PT_REGS_OFFSET[reg] ?? this.err(`USDT argument ${u.spec}: register ${reg} is not supported`, r);
    switch (u.kind) {
      case 'const':
        a.ldImm64(R0, u.value);
        return;
      case 'reg':
        a.ldx(8, R0, R6, regOff(u.reg));
        break;
      case 'mem': {
        if (u.symbol || u.reg === 'rip') this.err(`USDT argument ${u.spec}: rip-relative operands are not supported yet`, r);
        a.ldx(8, R0, R6, regOff(u.reg));
        if (u.index) a.ldx(8, R1, R6, regOff(u.index)).mul(R1, u.scale ?? 1).add(R0, R1);
        if (u.offset) a.add(R0, u.offset);
        this.deref(u.size, true);
        break;
      }
      default:
        this.err(`USDT argument ${u.spec} is not supported`, r);
    }
    if (u.size < 8) this.truncate({ size: u.size, signed: u.signed });
  }

  /**
   * For a field reached from a pointer the verifier knows as BTF-typed (tp_btf/fentry arguments, curtask, fields
   * of those) through constant offsets only: that pointer expression, the offset and the member size.
   */
  private directPath(e: A.FieldAccess): { ptr: A.Expr; off: number; size: number } | undefined {
    if (!this.tracing) return undefined;
    const base = this.ty(e.expr);
    // only kernel types: the verifier checks the load against the kernel's layout
    if ((base.k !== 'ptr' && base.k !== 'record') || base.btf === undefined || this.types.isScript(base.btf)) return undefined;
    const b = this.types.btf!;
    const m = b.member(base.btf, e.field);
    if (m.bitSize || m.bitOffset % 8) return undefined;
    const size = b.sizeof(m.typeId);
    if (base.k === 'ptr') return this.trusted(e.expr) ? { ptr: e.expr, off: m.offset, size } : undefined;
    const inner = e.expr.kind === 'field' ? this.directPath(e.expr) : undefined;
    return inner && { ptr: inner.ptr, off: inner.off + m.offset, size };
  }

  /** Whether e evaluates to a pointer the verifier tracks as BTF-typed (PTR_TO_BTF_ID). */
  private trusted(e: A.Expr): boolean {
    if (e.kind === 'builtin') return e.name === 'curtask';
    if (e.kind !== 'field') return false;
    const t = this.ty(e);
    if (t.k !== 'ptr' || t.btf === undefined) return false;
    if (this.ty(e.expr).k === 'args') return this.exp.target.provider !== 'tracepoint';
    return this.directPath(e)?.size === 8;
  }

  private stack(user: boolean): void {
    const a = this.a;
    if (!this.c.stackmap) this.c.stackmap = { fd: -1, name: 'stack_traces' };
    a.mov(R1, R6).ldMapFd(R2, this.c.stackmap).mov(R3, user ? 1 << 8 : 0).call('get_stackid');
    if (user) {
      // tgid in the high half, so user space knows whose address space the frames belong to
      const id = this.frame.alloc(8);
      a.mov32(R0, R0).stx(8, id.base, id.off, R0).call('get_current_pid_tgid').rsh(R0, 32).lsh(R0, 32).ldx(8, R1, id.base, id.off).or(R0, R1);
    }
  }

  private incdec(e: A.IncDec): void {
    const a = this.a;
    const d = e.op === '++' ? 1 : -1;
    const t = e.operand;
    if (t.kind === 'variable') {
      const l = this.vars.get(t.name)!;
      a.ldx(8, R0, l.base, l.off);
      if (!e.prefix) a.mov(R1, R0).add(R1, d).stx(8, l.base, l.off, R1);
      else a.add(R0, d).stx(8, l.base, l.off, R0);
      return;
    }
    const m = this.layout(t.kind === 'map' ? t.name : t.map.name, t.range);
    const key = this.key(m, t.kind === 'map_access' ? t.key : undefined);
    const init = a.newLabel('iinit');
    const done = a.newLabel('idone');
    this.lookup(m, key);
    a.jeq(R0, 0, init).ldx(8, R1, R0, 0).add(R1, d).stx(8, R0, 0, R1).mov(R0, R1);
    if (!e.prefix) a.add(R0, -d);
    a.ja(done).label(init);
    const v = this.frame.alloc(m.valueSize);
    this.zero(v, m.valueSize);
    a.st(8, v.base, v.off, d);
    this.update(m, key, v);
    a.mov(R0, e.prefix ? d : 0).label(done);
  }

  private callInt(e: A.Call): void {
    const a = this.a;
    switch (e.name) {
      case 'reg':
        a.ldx(8, R0, R6, regOffset((e.args[0] as A.StringLit).value)!);
        return;
      case 'uaddr': {
        const name = (e.args[0] as A.StringLit).value;
        const s = ElfFile.open((this.exp.target as { path: string }).path).symbolByName(name);
        if (!s) this.err(`Could not resolve symbol: ${(this.exp.target as { path: string }).path}:${name}`, e.range);
        a.ldImm64(R0, BigInt(s.value));
        return;
      }
      case 'cgroupid':
        a.ldImm64(R0, cgroupId((e.args[0] as A.StringLit).value) as bigint);
        return;
      case 'kaddr': {
        const name = (e.args[0] as A.StringLit).value;
        const addr = kallsyms().address(name);
        if (addr === undefined) this.err(`Failed to resolve kernel symbol: ${name}`, e.range);
        a.ldImm64(R0, addr);
        return;
      }
      case 'ksym':
      case 'usym':
      case 'uptr':
      case 'kptr':
        return this.int(e.args[0] as A.Expr);
      case 'strftime':
        return this.int(e.args[1] as A.Expr);
      case 'has_key': {
        const m = this.layout((e.args[0] as A.MapRef).name, e.range);
        this.lookup(m, this.key(m, e.args[1] as A.Expr));
        this.bool(() => a.jne(R0, 0, this.tmpTrue!));
        return;
      }
      case 'len': {
        // the kernel's per-map element counter (kfunc, 6.6+)
        const m = this.layout((e.args[0] as A.MapRef).name, e.range);
        const id = this.types.kernel?.findFunc('bpf_map_sum_elem_count');
        if (id === undefined) this.err('len() needs the bpf_map_sum_elem_count kfunc (Linux 6.6 or later)', e.range);
        a.ldMapFd(R1, m.slot).callKfunc(id);
        return;
      }
      case 'strncmp':
        return this.strncmp(e);
      case 'strcontains':
        return this.strcontains(e);
      case 'kstack':
      case 'ustack':
        return this.stack(e.name === 'ustack');
      case 'delete':
        this.exprStmt(e);
        a.mov(R0, 1);
        return;
      case 'pid':
      case 'tid':
      case 'nsecs':
      case 'cpu':
      case 'uid':
      case 'gid':
      case 'elapsed':
        return this.builtin(e.name, e.range);
      default:
        this.err(`${e.name}() cannot be used as an integer value`, e.range);
    }
  }

  private binary(e: A.Binary): void {
    const a = this.a;
    if (CMP[e.op] || e.op === '&&' || e.op === '||') {
      this.bool(() => {
        const f = a.newLabel('bfalse');
        this.cond(e, f);
        a.ja(this.tmpTrue!).label(f);
      });
      return;
    }
    const signed = isSigned(this.ty(e.left));
    const src = this.operands(e.left, e.right);
    const ops: Record<string, Parameters<Asm['alu64']>[0]> = { '+': 'add', '-': 'sub', '*': 'mul', '&': 'and', '|': 'or', '^': 'xor', '<<': 'lsh' };
    // division is unsigned, as in bpftrace (the checker warns about signed operands)
    const op = ops[e.op] ?? (e.op === '/' ? 'div' : e.op === '%' ? 'mod' : e.op === '>>' ? (signed ? 'arsh' : 'rsh') : undefined);
    if (!op) this.err(`operator ${e.op} is not supported`, e.range);
    // pointer arithmetic on BTF pointers is scaled by the pointee size
    a.alu64(op, R0, src);
  }

  /** Emits code that jumps to `falseL` when e is false (falls through when true). */
  cond(e: A.Expr, falseL: Label): void {
    const a = this.a;
    if (e.kind === 'binary' && e.op === '&&') {
      this.cond(e.left, falseL);
      this.cond(e.right, falseL);
      return;
    }
    if (e.kind === 'binary' && e.op === '||') {
      const t = a.newLabel('or');
      const next = a.newLabel('or2');
      this.cond(e.left, next);
      a.ja(t).label(next);
      this.cond(e.right, falseL);
      a.label(t);
      return;
    }
    if (e.kind === 'unary' && e.op === '!') {
      const t = a.newLabel('not');
      this.cond(e.operand, t);
      a.ja(falseL).label(t);
      return;
    }
    if (e.kind === 'binary' && CMP[e.op]) {
      const lt = this.ty(e.left);
      const rt = this.ty(e.right);
      if (lt.k === 'str' || rt.k === 'str') return this.strCond(e, falseL);
      if (lt.k === 'record') return this.recordCond(e, lt, falseL);
      const signed = isSigned(lt) && isSigned(rt);
      const inv = CMP[CMP[e.op]!.inv]!;
      const j = (signed ? inv.s : inv.u) as Parameters<Asm['jmp']>[0];
      a.jmp(j, R0, this.operands(e.left, e.right), falseL);
      return;
    }
    this.int(e);
    a.jeq(R0, 0, falseL);
  }

  /** Stores a string operand in a temporary; returns where, and its size. */
  private strTemp(e: A.Expr): { loc: Loc; size: number } {
    const size = (this.ty(e) as { size: number }).size;
    const loc = this.frame.alloc(size);
    this.storeStr(e, loc, size);
    return { loc, size };
  }

  /** r0 = strncmp(a, b, n): 0 when the first n bytes (up to a NUL) are equal, else 1. */
  private strncmp(e: A.Call): void {
    const a = this.a;
    const l = this.strTemp(e.args[0] as A.Expr);
    const r = this.strTemp(e.args[1] as A.Expr);
    const n = Math.min(Number((e.args[2] as A.IntLit).value), l.size, r.size);
    const differ = a.newLabel('ncmp_ne');
    const end = a.newLabel('ncmp_end');
    for (let i = 0; i < n; i++) a.ldx(1, R1, l.loc.base, l.loc.off + i).ldx(1, R2, r.loc.base, r.loc.off + i).jne(R1, R2, differ).jeq(R1, 0, end);
    a.ja(end).label(differ).mov(R0, 1);
    const done = a.newLabel('ncmp_done');
    a.ja(done).label(end).mov(R0, 0).label(done);
  }

  /**
   * r0 = whether the string contains the literal needle: a bounded loop over the haystack's start positions, the
   * needle's bytes compared unrolled.
   */
  private strcontains(e: A.Call): void {
    const a = this.a;
    const needle = Buffer.from((e.args[1] as A.StringLit).value, 'latin1');
    const h = this.strTemp(e.args[0] as A.Expr);
    const found = a.newLabel('sc_found');
    const none = a.newLabel('sc_none');
    const done = a.newLabel('sc_done');
    if (!needle.length) return void a.mov(R0, 1);
    if (needle.length >= h.size) return void a.mov(R0, 0);
    const top = a.newLabel('sc_top');
    const next = a.newLabel('sc_next');
    // r8 = start index; r3 = &haystack[r8]
    a.mov(R8, 0).label(top).jge(R8, h.size - needle.length, none);
    a.mov(R3, h.loc.base).add(R3, h.loc.off).add(R3, R8);
    a.ldx(1, R1, R3, 0).jeq(R1, 0, none);
    needle.forEach((c, j) => a.ldx(1, R1, R3, j).jne(R1, c, next));
    a.ja(found).label(next).add(R8, 1).ja(top);
    a.label(found).mov(R0, 1).ja(done).label(none).mov(R0, 0).label(done);
  }

  /** Struct/array ==/!=: both values in zeroed temporaries, compared word by word (padding included, as memcmp). */
  private recordCond(e: A.Binary, ty: Ty, falseL: Label): void {
    const a = this.a;
    const size = storageSize(ty);
    const [l, r] = [e.left, e.right].map((x) => {
      const loc = this.frame.alloc(size);
      this.zero(loc, size);
      this.store(x, loc, ty);
      return loc;
    }) as [Loc, Loc];
    const differ = a.newLabel('recne');
    for (let o = 0; o < size; o += 8) a.ldx(8, R1, l.base, l.off + o).ldx(8, R2, r.base, r.off + o).jne(R1, R2, differ);
    if (e.op === '==') {
      const equal = a.newLabel('receq');
      a.ja(equal).label(differ).ja(falseL).label(equal);
    } else a.ja(falseL).label(differ);
  }

  /** String ==/!=: byte compare up to the shorter size, stopping at the first NUL. */
  private strCond(e: A.Binary, falseL: Label): void {
    const a = this.a;
    const lt = this.ty(e.left) as { k: 'str'; size: number };
    const rt = this.ty(e.right) as { k: 'str'; size: number };
    const l = this.frame.alloc(lt.size);
    const r = this.frame.alloc(rt.size);
    this.storeStr(e.left, l, lt.size);
    this.storeStr(e.right, r, rt.size);
    const n = Math.min(lt.size, rt.size);
    const equal = a.newLabel('streq');
    const differ = a.newLabel('strne');
    for (let i = 0; i < n; i++) {
      a.ldx(1, R1, l.base, l.off + i).ldx(1, R2, r.base, r.off + i).jne(R1, R2, differ).jeq(R1, 0, equal);
    }
    a.ja(equal);
    const end = a.newLabel('strend');
    if (e.op === '==') a.label(differ).ja(falseL).label(equal);
    else a.label(equal).ja(falseL).label(differ);
    a.label(end);
  }
}

function lit(value: bigint, range: Range): A.IntLit {
  return { kind: 'int', value, range };
}

function collectVars(b: A.Block, t: Typer): void {
  const walk = (s: A.Stmt): void => {
    switch (s.kind) {
      case 'assign':
        if (s.target.kind === 'variable') {
          const v: A.Expr = s.op ? { kind: 'binary', op: s.op, left: s.target, right: s.value, range: s.range } : s.value;
          const ty = t.typeOf(v);
          const prev = t.vars.get(s.target.name);
          t.vars.set(s.target.name, prev && prev.k === 'str' && ty.k === 'str' ? { k: 'str', size: Math.max(prev.size, ty.size) } : (prev ?? ty));
        }
        return;
      case 'var_decl':
        t.vars.set(s.variable.name, s.value ? t.typeOf(s.value) : U64);
        return;
      case 'for_range':
        t.vars.set(s.variable.name, I64);
        return s.body.stmts.forEach(walk);
      case 'if':
        s.then.stmts.forEach(walk);
        if (s.else) s.else.kind === 'if' ? walk(s.else) : s.else.stmts.forEach(walk);
        return;
      case 'for_map':
        t.vars.set(s.variable.name, forMapType(s, t));
        return s.body.stmts.forEach(walk);
      case 'while':
      case 'unroll':
        return s.body.stmts.forEach(walk);
      case 'block':
        return s.stmts.forEach(walk);
      default:
        return;
    }
  };
  b.stmts.forEach(walk);
}

/** How often each scratch variable is named under `node`. */
function countVars(node: Node): Map<string, number> {
  const n = new Map<string, number>();
  const walk = (x: Node): void => {
    if (x.kind === 'variable') n.set(x.name, (n.get(x.name) ?? 0) + 1);
    children(x).forEach(walk);
  };
  walk(node);
  return n;
}

function progTypeFor(x: Expanded): Pick<CompiledProbe, 'progType' | 'expectedAttachType' | 'attachBtfId'> {
  switch (x.target.provider) {
    case 'tracepoint':
      return { progType: ProgType.TRACEPOINT };
    case 'rawtracepoint': {
      // tp_btf when the kernel has it: typed arguments the verifier lets us read directly
      const id = feature('tp_btf').supported ? Btf.vmlinux().findTypedef(`btf_trace_${x.target.event}`) : undefined;
      if (id !== undefined) return { progType: ProgType.TRACING, expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: id };
      return { progType: ProgType.RAW_TRACEPOINT };
    }
    case 'begin':
    case 'end':
      return { progType: ProgType.RAW_TRACEPOINT };
    case 'profile':
    case 'interval':
    case 'software':
    case 'watchpoint':
      return { progType: ProgType.PERF_EVENT };
    case 'iter':
      return { progType: ProgType.TRACING, expectedAttachType: AttachType.TRACE_ITER, attachBtfId: Btf.vmlinux().findFunc(`bpf_iter_${x.target.name}`) };
    case 'fentry':
    case 'fexit':
      return {
        progType: ProgType.TRACING,
        expectedAttachType: x.target.provider === 'fentry' ? AttachType.TRACE_FENTRY : AttachType.TRACE_FEXIT,
        attachBtfId: Btf.vmlinux().findFunc(x.target.func),
      };
    default:
      return { progType: ProgType.KPROBE };
  }
}

/** Generates the BPF programs of a checked program. */
export function generate(info: ProgramInfo): Compiled {
  const maps = new Map<string, MapLayout>();
  for (const [name, m] of info.maps) maps.set(name, layoutMap(m));
  const c: Compiled = {
    info,
    maps,
    ringbuf: { fd: -1, name: 'ringbuf' },
    lost: { fd: -1, name: 'lost_events' },
    heapSize: 0,
    events: [],
    probes: [],
    startNs: process.hrtime.bigint(),
  };
  for (const pi of info.probes) {
    for (const x of pi.targets) {
      const kind = progTypeFor(x);
      const events = c.events.length;
      let pc = new ProbeCompiler(c, x, pi.probe, kind);
      let asm = pc.compile();
      if (pc.frame.heapMax) {
        // again with the heap lookup at entry (same allocations, so the same events)
        c.events.length = events;
        pc = new ProbeCompiler(c, x, pi.probe, kind, true);
        asm = pc.compile();
        c.heapSize = Math.max(c.heapSize, pc.frame.heapMax);
      }
      c.probes.push({ name: x.name, expanded: x, asm, subprogs: pc.subprogs, probe: pi.probe, ...kind });
    }
  }
  return c;
}
