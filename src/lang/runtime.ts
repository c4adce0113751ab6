/**
 * The runtime: creates the maps, loads every program (so all errors surface before anything runs), runs BEGIN
 * probes, attaches the rest, turns ring buffer records into output, and on exit/Ctrl-C/SIGTERM detaches, runs END
 * probes and prints the maps — then releases everything.
 */
import { BpfMap, MapType } from '../bpf/map.js';
import { Program, ProgType, VerifierError } from '../bpf/program.js';
import { RingBufferReader } from '../bpf/ringbuf.js';
import { closeAll } from '../bpf/resources.js';
import { childProcess } from '../sys/builtins.js';
import { writeAll, writeOut } from '../sys/stdio.js';
import { closeSync, openSync, readSync, realpathSync, writeSync } from 'node:fs';
import { readMaps } from '../symbols/procmaps.js';
import { possibleCpus } from '../bpf/cpus.js';
import { attachTracepoint } from '../bpf/link/tracepoint.js';
import { attachPerfEvent } from '../bpf/link/perf_event.js';
import { attachRawTracepoint } from '../bpf/link/raw_tracepoint.js';
import { attachTracing } from '../bpf/link/tracing.js';
import { attachKprobe } from '../bpf/link/kprobe.js';
import { attachIter, IterLink } from '../bpf/link/iter.js';
import { attachWatchpoint } from '../bpf/link/watchpoint.js';
import type { Link } from '../bpf/link/link.js';
import { attachUprobe, refCtrSupported } from '../bpf/link/uprobe.js';
import { progTestRun } from '../sys/bpf.js';
import { KscopeError } from '../sys/errors.js';
import { disassemble } from '../asm/disasm.js';
import { forEachCallbackBtf } from '../btf/writer.js';
import { Symbolizer } from '../symbols/symbolizer.js';
import { formatAttachedProbes, formatExit, formatMap, formatPrintf, formatPrintValue, formatTime, formatTotalLost, type MapSnapshot } from '../output/bpftrace.js';
import { jsonAttachedProbes, jsonExit, jsonMap, jsonPrintf, jsonPrintValue, jsonTime, jsonLostEvents } from '../output/json.js';
import type { StackValue, Value } from '../output/values.js';
import { HEAP_NEST, type Compiled, type CompiledProbe, type MapLayout } from './codegen.js';
import { CompileError, Diagnostic, formatDiagnostic } from './diagnostics.js';
import { getSystemErrorMap } from 'node:util';
import { storageSize, tupleOffsets, type Ty } from './types.js';

export interface RunOptions {
  /** -f json */
  json?: boolean;
  /** -q: no "Attached N probes" */
  quiet?: boolean;
  /** -v: print instructions and verifier statistics */
  verbose?: boolean;
  out?: (s: string) => void;
  err?: (s: string) => void;
  /** ring buffer size in bytes (power of two) */
  ringBytes?: number;
  /** stack traces the stack map holds (kstack/ustack keys; default 16384, BCC's --stack-storage-size) */
  stackMapEntries?: number;
  /** resolves when the traced command (-c) exits */
  until?: Promise<unknown>;
  /** called once every probe is attached (-c releases the command here; tools start their timers) */
  onAttached?: () => void;
  /**
   * Receives printf records as decoded values instead of printing them: tools use printf as a typed event channel
   * (the format string names the event) and format the output themselves.
   */
  onPrintf?: (format: string, args: Value[]) => void;
  /** called after every probe is detached and END has run, while maps can still be read (tools' final report) */
  onExit?: () => void;
  /** print non-empty maps at exit, as bpftrace does (default true) */
  printMapsOnExit?: boolean;
  /** -p PID / the -c command: uprobes and USDT probes attach to this process only */
  pid?: number;
  /**
   * -B: `line` (default) writes the whole lines produced by one ring buffer drain with one write; `full` writes in
   * 64 KiB blocks; `none` writes every piece at once. All is written before exit and before anything goes to stderr.
   */
  buffering?: 'line' | 'full' | 'none';
  /** --no-warnings: no run-time warnings (helper errors of -k) */
  noWarnings?: boolean;
}

const STACK_DEPTH = 127;
/** The ring buffer of scripts with event probes (printf, print, time, ...); BEGIN/END-only scripts get 64 KiB. */
export const DEFAULT_RING_BYTES = 4 << 20;

export class Runtime {
  private readonly maps = new Map<string, BpfMap<Buffer, Buffer>>();
  private ring?: BpfMap<Buffer, Buffer>;
  private lost?: BpfMap<Buffer, Buffer>;
  private stackmap?: BpfMap<Buffer, Buffer>;
  private reader?: RingBufferReader;
  private readonly progs = new Map<CompiledProbe, Program>();
  private readonly links: Link[] = [];
  private readonly semaphores: Semaphore[] = [];
  private readonly sym = new Symbolizer();
  private exitRequested = false;
  private wake?: () => void;
  private readonly out: (s: string) => void;
  private readonly err: (s: string) => void;
  private lostReported = 0n;
  private readonly write: (s: string) => void;
  /** output not written yet (see RunOptions.buffering) */
  private pending = '';
  private flushQueued = false;
  private outputClosed = false;

  constructor(
    private readonly c: Compiled,
    private readonly opts: RunOptions = {},
  ) {
    this.write = opts.out ?? ((s) => this.stdout(s));
    const err = opts.err ?? ((s) => writeAll(2, s));
    this.out = (s) => this.buffer(s);
    this.err = (s) => {
      this.flush(false);
      err(s);
    };
  }

  private buffer(s: string): void {
    const mode = this.opts.buffering ?? 'line';
    if (mode === 'none') return this.write(s);
    this.pending += s;
    if (mode === 'full') {
      if (this.pending.length >= 65536) this.flush(true);
    } else if (!this.flushQueued) {
      this.flushQueued = true;
      // after the drain that produced it (a microtask: no timer or async resource, ~1 ms at start-up)
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush(false);
      });
    }
  }

  /** Writes the pending output: only whole lines unless `all`. */
  private flush(all: boolean): void {
    const end = all ? this.pending.length : this.pending.lastIndexOf('\n') + 1;
    if (!end) return;
    const text = this.pending.slice(0, end);
    this.pending = this.pending.slice(end);
    this.write(text);
  }

  /** Creates maps and loads every program; throws (with the script line) on a verifier rejection. */
  load(): void {
    const c = this.c;
    // 4 MiB: >10x what the consumer lags behind at 200k printf/s (~60 ms, ~300 KB); the mapping counts twice in RSS
    // (the kernel maps the data pages twice for wrap-around), so 8 MiB put 16 MiB on every tracing run
    this.ring = BpfMap.raw(MapType.RINGBUF, 0, 0, this.opts.ringBytes ?? (this.c.info.hasEventProbes ? DEFAULT_RING_BYTES : 64 << 10), 'ringbuf');
    c.ringbuf.fd = this.ring.fd;
    this.lost = BpfMap.raw(MapType.PERCPU_ARRAY, 4, 8, 1, 'lost_events');
    c.lost.fd = this.lost.fd;
    if (c.stackmap) {
      this.stackmap = BpfMap.raw(MapType.STACK_TRACE, 4, STACK_DEPTH * 8, this.opts.stackMapEntries ?? 16384, 'stack_traces');
      c.stackmap.fd = this.stackmap.fd;
    }
    // HEAP_NEST scratch elements per CPU, then the element whose first u64 is the nesting depth
    if (c.heap) c.heap.fd = BpfMap.raw(MapType.PERCPU_ARRAY, 4, Math.max(8, c.heapSize), HEAP_NEST + 1, 'heap').fd;
    for (const [name, l] of c.maps) {
      const m = BpfMap.raw(l.type, l.keySize, l.valueSize, l.info.maxEntries, l.slot.name);
      l.slot.fd = m.fd;
      this.maps.set(name, m);
    }
    for (const p of c.probes) this.progs.set(p, this.loadProbe(p));
  }

  private loadProbe(p: CompiledProbe): Program {
    const asm = p.asm.assemble();
    if (this.opts.verbose) {
      this.err(`\nProgram ${p.name}:\n`);
      this.err(disassemble(asm.insns, { mapName: (fd) => this.mapNameByFd(fd) }).join('\n') + '\n');
    }
    try {
      const prog = Program.load({
        type: p.progType,
        insns: asm.bytes,
        name: p.name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 15),
        expectedAttachType: p.expectedAttachType,
        attachBtfId: p.attachBtfId,
        wantLog: this.opts.verbose,
        ...(p.subprogs.length ? funcInfoOf(p) : {}),
      });
      if (this.opts.verbose) this.err(`${prog.stats() ? `verifier: processed ${prog.stats()!.processed} insns` : ''}\n`);
      return prog;
    } catch (e) {
      if (e instanceof VerifierError) {
        const tag = e.insnIndex !== undefined ? (asm.tags[e.insnIndex] as { start: number; end: number } | undefined) : undefined;
        const lines = e.log.trim().split('\n');
        const why = explainVerifier(e.log) ?? VerifierError.reason(e.log);
        throw new CompileError(
          Diagnostic.error(`the BPF verifier rejected the program for ${p.name} at instruction ${e.insnIndex ?? '?'}: ${why}`, tag ?? p.probe.range, [
            `the last verifier lines were:\n${lines.slice(-6).join('\n')}`,
            'this is a kscope bug if the script is valid: please report it with the script and the output of -v',
          ]),
          this.c.info.source,
        );
      }
      throw e;
    }
  }

  private mapNameByFd(fd: number): string | undefined {
    for (const [n, m] of this.maps) if (m.fd === fd) return n;
    if (fd === this.ring?.fd) return 'ringbuf';
    return undefined;
  }

  private runSpecial(kind: 'begin' | 'end'): void {
    for (const p of this.c.probes) if (p.expanded.target.provider === kind) progTestRun(this.progs.get(p)!.fd, Buffer.alloc(8));
  }

  private attach(p: CompiledProbe, prog: Program): Link {
    const t = p.expanded.target;
    switch (t.provider) {
      case 'tracepoint':
        return attachTracepoint(prog, t.system, t.event);
      case 'rawtracepoint':
        return p.progType === ProgType.TRACING ? attachTracing(prog, p.name) : attachRawTracepoint(prog, t.event);
      case 'uprobe':
      case 'uretprobe':
        return attachUprobe(prog, { path: t.path, offset: BigInt(t.offset), retprobe: t.provider === 'uretprobe', pid: this.opts.pid });
      case 'usdt': {
        // the kernel raises the semaphore in every process that maps the file (4.20+); older kernels: /proc/PID/mem
        const kernelRef = t.semaphore !== 0 && refCtrSupported();
        const link = attachUprobe(prog, { path: t.path, offset: BigInt(t.offset), pid: this.opts.pid, refCtrOffset: kernelRef ? BigInt(t.semaphore) : undefined });
        if (t.semaphore && !kernelRef) this.semaphores.push(new Semaphore(t.path, t.semaphore, this.opts.pid, p.name, this.err));
        return link;
      }
      case 'profile':
        return attachPerfEvent(prog, { type: t.perfType, config: t.config, frequency: t.frequency, period: t.period }, p.name);
      case 'interval':
        return attachPerfEvent(prog, { type: t.perfType, config: t.config, frequency: t.frequency, period: t.period, cpus: [0] }, p.name);
      case 'software':
        return attachPerfEvent(prog, { type: t.perfType, config: t.config, period: t.period }, p.name);
      case 'kprobe':
      case 'kretprobe':
        return attachKprobe(prog, { func: t.func, offset: t.offset !== undefined ? BigInt(t.offset) : undefined, retprobe: t.provider === 'kretprobe' });
      case 'fentry':
      case 'fexit':
        return attachTracing(prog, p.name);
      case 'iter':
        return attachIter(prog, p.name);
      case 'watchpoint':
        return attachWatchpoint(prog, { addr: t.addr, len: t.len, type: t.type, pid: this.opts.pid! }, p.name);
      default:
        throw new KscopeError(`${p.name}: attaching ${t.provider} probes is not supported yet`);
    }
  }

  /** Runs the program to completion; returns the exit code. */
  async run(): Promise<number> {
    const sigs: [NodeJS.Signals, () => void][] = [];
    try {
      this.load();
      this.reader = new RingBufferReader(this.ring!, (d) => this.onRecord(d), { coalesceMs: 1, timerMs: 100 });
      this.runSpecial('begin');
      this.reader.drain();
      const others = this.c.probes.filter((p) => p.expanded.target.provider !== 'begin' && p.expanded.target.provider !== 'end');
      if (!this.exitRequested && (this.c.info.hasEventProbes || this.opts.until)) {
        for (const p of others) this.links.push(this.attach(p, this.progs.get(p)!));
        if (!this.opts.quiet && this.links.length) this.err(this.opts.json ? jsonAttachedProbes(this.links.length) : formatAttachedProbes(this.links.length));
        this.reader.start();
        this.opts.onAttached?.();
        // iterators run once, now; a program whose only event probes are iterators is then done
        for (const l of this.links) if (l instanceof IterLink && !this.exitRequested) l.run(), this.reader.drain();
        if (others.every((p) => p.expanded.target.provider === 'iter')) this.requestExit();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.exitRequested) resolve();
          for (const s of ['SIGINT', 'SIGTERM'] as const) {
            const h = () => resolve();
            process.on(s, h);
            sigs.push([s, h]);
          }
          this.opts.until?.then(() => resolve());
        });
        // what the probes printed goes out now: detaching waits for an RCU grace period (~30 ms here), and exit()
        // one-liners would otherwise show their output only after it
        this.flush(false);
        this.reader.stop();
        for (const l of this.links) l.close();
        for (const s of this.semaphores.splice(0)) s.release();
        this.reader.drain();
      }
      this.exitRequested = false;
      this.runSpecial('end');
      this.reader.drain();
      this.opts.onExit?.();
      if (this.opts.printMapsOnExit !== false && this.c.info.config.printMapsOnExit) this.printExitMaps();
      this.reportLost(true);
      return 0;
    } finally {
      this.flush(true);
      for (const s of this.semaphores.splice(0)) s.release();
      for (const [s, h] of sigs) process.off(s, h);
      this.reader?.close();
      closeAll();
    }
  }

  private reportLost(final: boolean): void {
    if (!this.lost) return;
    const v = this.lost.lookupPerCpu(Buffer.alloc(4));
    const total = (v ?? []).reduce((s, b) => s + b.readBigUInt64LE(0), 0n);
    if (total > this.lostReported) {
      const n = total - this.lostReported;
      this.lostReported = total;
      if (this.opts.json) this.err(jsonLostEvents(n));
      else this.err(`Lost ${n} events\n`);
    }
    if (final && total > 0n && !this.opts.json) this.err(formatTotalLost(total));
  }

  /** Asks the runtime to stop, as exit() does: detach, run END, final report. */
  stop(): void {
    this.requestExit();
  }

  /** Deletes every entry of a map (tools clear their histograms after each interval). */
  clearMap(name: string): void {
    this.maps.get(name)?.clear();
  }

  /** Total events lost so far (ring buffer full). */
  lostEvents(): bigint {
    const v = this.lost?.lookupPerCpu(Buffer.alloc(4));
    return (v ?? []).reduce((s, b) => s + b.readBigUInt64LE(0), 0n);
  }

  /** Writes to fd 1; when the reader has gone (`| head`), output stops and tracing ends as on Ctrl-C. */
  private stdout(s: string): void {
    // traced strings are binary strings (one char per byte): their bytes go out as they were
    if (this.outputClosed || writeOut(s, 'latin1')) return;
    this.outputClosed = true;
    this.requestExit();
  }

  private requestExit(): void {
    this.exitRequested = true;
    this.wake?.();
  }

  // ------------------------------------------------------------------------------------------------ records

  private onRecord(d: Buffer): void {
    if (this.exitRequested) return;
    const id = d.readUInt32LE(0);
    const ev = this.c.events[id];
    if (!ev) return;
    switch (ev.kind) {
      case 'printf': {
        const args = ev.args.map((a) => this.decode(a.ty, d, a.off));
        if (this.opts.onPrintf) return this.opts.onPrintf(ev.text, args);
        const text = formatPrintf(ev.format, args);
        if (ev.action) return this.action(ev.action, text);
        this.out(this.opts.json ? jsonPrintf(text) : text);
        return;
      }
      case 'exit':
        this.requestExit();
        return;
      case 'join': {
        const n = Number(d.readBigUInt64LE(8));
        const parts = Array.from({ length: n }, (_, i) => cString(d, 16 + i * ev.strSize, ev.strSize));
        const text = `${parts.join(ev.sep)}\n`;
        this.out(this.opts.json ? `${JSON.stringify({ type: 'join', data: text })}\n` : text);
        return;
      }
      case 'time': {
        const text = formatTime(ev.format);
        this.out(this.opts.json ? jsonTime(text) : text);
        return;
      }
      case 'print_map': {
        const top = Number(d.readBigInt64LE(8));
        const div = Number(d.readBigInt64LE(16));
        const snap = this.snapshot(ev.map);
        if (snap) this.out(this.opts.json ? jsonMap(snap, { top, div: div || undefined }) : formatMap(snap, { top, div: div || undefined }));
        return;
      }
      case 'clear':
      case 'zero': {
        const m = this.maps.get(ev.map);
        if (m) {
          if (ev.kind === 'clear') m.clear();
          else for (const [k] of m.dump()) m.update(k, Buffer.alloc(m.valueBytes));
        }
        return;
      }
      case 'helper_error': {
        if (this.opts.noWarnings) return;
        const ret = Number(d.readBigInt64LE(8));
        const why = getSystemErrorMap().get(ret)?.[1] ?? 'error';
        this.err(formatDiagnostic(Diagnostic.warning(`Failed to ${ev.helper}: ${why} (${ret})`, ev.range), this.c.info.source) + '\n');
        return;
      }
      case 'print_value': {
        const v = this.decode(ev.ty, d, 8);
        this.out(this.opts.json ? jsonPrintValue(v) : formatPrintValue(v));
        return;
      }
    }
  }

  /** system(): runs the command under /bin/sh and prints its output; cat(): prints the file (max_cat_bytes). */
  private action(kind: 'system' | 'cat', text: string): void {
    let out: string;
    try {
      if (kind === 'system') out = childProcess().execFileSync('/bin/sh', ['-c', text], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'latin1' });
      else {
        const fd = openSync(text, 'r');
        try {
          const b = Buffer.alloc(this.c.info.config.maxCatBytes);
          out = b.toString('latin1', 0, readSync(fd, b, 0, b.length, null));
        } finally {
          closeSync(fd);
        }
      }
    } catch (e) {
      const x = e as { stdout?: string; message: string };
      if (kind === 'system' && typeof x.stdout === 'string') out = x.stdout;
      else return this.err(`WARNING: ${kind}(): ${x.message}\n`);
    }
    this.out(this.opts.json ? `${JSON.stringify({ type: kind === 'system' ? 'syscall' : 'cat', data: out })}\n` : out);
  }

  // ------------------------------------------------------------------------------------------------ decoding

  decode(ty: Ty, b: Buffer, off: number): Value {
    switch (ty.k) {
      case 'int':
        return ty.signed ? b.readBigInt64LE(off) : b.readBigUInt64LE(off);
      case 'bool':
        return b.readBigUInt64LE(off) !== 0n;
      case 'str': {
        // a string that fills its bytes (no NUL) was cut: bpftrace marks it with the trailer
        const s = cString(b, off, ty.size);
        return s.length === ty.size ? s + this.c.info.config.strTruncTrailer : s;
      }
      case 'tuple': {
        const offs = tupleOffsets(ty);
        return { kind: 'tuple', items: ty.elems.map((e, i) => this.decode(e, b, off + offs[i]!)) };
      }
      case 'stack':
        return this.stackValue(b.readBigUInt64LE(off), ty);
      case 'usym':
        return this.sym.user(Number(b.readBigUInt64LE(off + 8)), b.readBigUInt64LE(off), { offset: false });
      case 'ksym': {
        const loc = this.sym.kernelSymbol(b.readBigUInt64LE(off));
        return loc ? loc.name : `0x${b.readBigUInt64LE(off).toString(16)}`;
      }
      case 'macaddr':
        return [...b.subarray(off, off + 6)].map((c) => c.toString(16).toUpperCase().padStart(2, '0')).join(':');
      case 'inet':
        return inetText(b.readBigUInt64LE(off) === 10n ? b.subarray(off + 8, off + 24) : b.subarray(off + 8, off + 12));
      case 'timestamp':
        return strftime(ty.format, bootToWall(b.readBigUInt64LE(off)));
      case 'buf': {
        const n = Math.min(Number(b.readBigUInt64LE(off)), ty.size);
        return [...b.subarray(off + 8, off + 8 + n)].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
      }
      case 'ptr':
        return { kind: 'symbolic', text: `0x${b.readBigUInt64LE(off).toString(16)}`, value: b.readBigUInt64LE(off) };
      case 'record':
        return this.c.info.types.decode(ty.btf, b, off);
      default:
        return null;
    }
  }

  private readonly stackCache = new Map<string, StackValue>();

  private stackValue(v: bigint, ty: Extract<Ty, { k: 'stack' }>): StackValue {
    const { user, mode, limit } = ty;
    const ck = `${v}:${mode}:${limit}`;
    const cached = this.stackCache.get(ck);
    if (cached) return cached;
    const fmt = { module: mode === 'perf' };
    const id = Number(v & 0xffffffffn);
    const pid = Number(v >> 32n);
    const frames: string[] = [];
    // the raw addresses too: tools symbolise them in their own style (BCC's name+0xoff [module])
    const addrs: bigint[] = [];
    if (id < 0x80000000 && this.stackmap) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(id);
      const raw = this.stackmap.lookup(key);
      if (raw)
        for (let i = 0; i < Math.min(limit, STACK_DEPTH); i++) {
          const ip = raw.readBigUInt64LE(i * 8);
          if (!ip) break;
          addrs.push(ip);
          frames.push(mode === 'raw' ? '' : user ? this.sym.user(pid, ip, fmt) : this.sym.kernel(ip, fmt));
        }
    }
    const s: StackValue = { kind: 'stack', frames, addrs, ...(mode === 'bpftrace' ? {} : { mode }) };
    this.stackCache.set(ck, s);
    return s;
  }

  /** Reads a map from the kernel and reduces per-CPU values. */
  snapshot(name: string): MapSnapshot | undefined {
    const l = this.c.maps.get(name);
    const m = this.maps.get(name);
    if (!l || !m) return undefined;
    const { keys, values, count } = m.dumpRaw();
    const ncpu = l.percpu ? possibleCpus() : 1;
    const stride = Math.ceil(l.valueSize / 8) * 8;
    const userKey = l.keySize - (l.bucketed ? 8 : 0);
    const keyOf = (i: number): Value | undefined => (l.info.key ? this.decode(l.info.key, keys, i * l.keySize) : undefined);
    const sum = (i: number, word: number): bigint => {
      let s = 0n;
      for (let c = 0; c < ncpu; c++) s += values.readBigUInt64LE(i * m.valueBytes + c * stride + word * 8);
      return s;
    };
    const signed = l.info.value.k === 'int' && l.info.value.signed;
    const asSigned = (x: bigint) => (signed ? BigInt.asIntN(64, x) : x);
    switch (l.info.kind) {
      case 'count':
      case 'sum': {
        const entries = [];
        for (let i = 0; i < count; i++) entries.push({ key: keyOf(i), value: asSigned(sum(i, 0)) });
        return { name, kind: l.info.kind, entries };
      }
      case 'avg':
      case 'stats': {
        const entries = [];
        for (let i = 0; i < count; i++) entries.push({ key: keyOf(i), value: { total: asSigned(sum(i, 0)), count: sum(i, 1) } });
        return { name, kind: l.info.kind, entries };
      }
      case 'min':
      case 'max': {
        const entries = [];
        for (let i = 0; i < count; i++) {
          let best: bigint | undefined;
          for (let c = 0; c < ncpu; c++) {
            const base = i * m.valueBytes + c * stride;
            if (!values.readBigUInt64LE(base + 8)) continue;
            const v = signed ? values.readBigInt64LE(base) : values.readBigUInt64LE(base);
            if (best === undefined || (l.info.kind === 'min' ? v < best : v > best)) best = v;
          }
          entries.push({ key: keyOf(i), value: best ?? 0n });
        }
        return { name, kind: l.info.kind, entries };
      }
      case 'hist':
      case 'lhist': {
        const byKey = new Map<string, { key: Value | undefined; counts: bigint[] }>();
        for (let i = 0; i < count; i++) {
          const kb = keys.subarray(i * l.keySize, i * l.keySize + userKey).toString('hex');
          const bucket = Number(keys.readBigUInt64LE(i * l.keySize + userKey));
          let e = byKey.get(kb);
          if (!e) byKey.set(kb, (e = { key: keyOf(i), counts: [] }));
          while (e.counts.length <= bucket) e.counts.push(0n);
          e.counts[bucket] = sum(i, 0);
        }
        const entries = [...byKey.values()].map((e) => ({ key: e.key, value: e.counts }));
        return l.info.kind === 'hist' ? { name, kind: 'hist', bits: l.info.bits ?? 0, entries } : { name, kind: 'lhist', ...l.info.lhist!, entries };
      }
      default: {
        if (l.info.value.k === 'int') {
          // integer maps sort by value
          const entries = [];
          for (let i = 0; i < count; i++) entries.push({ key: keyOf(i), value: this.decode(l.info.value, values, i * m.valueBytes) as bigint });
          return { name, kind: 'int', entries };
        }
        const entries = [];
        for (let i = 0; i < count; i++) entries.push({ key: keyOf(i), value: this.decode(l.info.value, values, i * m.valueBytes) });
        return { name, kind: 'value', entries };
      }
    }
  }

  private printExitMaps(): void {
    const snaps: MapSnapshot[] = [];
    for (const name of [...this.c.maps.keys()].sort()) {
      const s = this.snapshot(name);
      if (s && s.entries.length) snaps.push(s);
    }
    this.out(this.opts.json ? jsonExit(snaps) : formatExit(snaps));
  }
}

/** The latin1 text of the string in the `size` bytes at `off`, up to its NUL (all of them when there is none). */
function cString(b: Buffer, off: number, size: number): string {
  const end = b.subarray(off, off + size).indexOf(0);
  return b.toString('latin1', off, end < 0 ? off + size : off + end);
}

/**
 * Wall-clock ns of a boot-time timestamp (`nsecs`): the offset between the clocks is taken once. Node reads
 * CLOCK_MONOTONIC, which differs from CLOCK_BOOTTIME only by time spent suspended.
 */
const wallOffsetNs = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
function bootToWall(ns: bigint): bigint {
  return ns + wallOffsetNs;
}

/** strftime(3) in local time for the common conversions, plus bpftrace's `%f` (microseconds). */
export function strftime(format: string, wallNs: bigint): string {
  const d = new Date(Number(wallNs / 1000000n));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const conv: Record<string, () => string> = {
    Y: () => String(d.getFullYear()),
    y: () => p(d.getFullYear() % 100),
    m: () => p(d.getMonth() + 1),
    d: () => p(d.getDate()),
    e: () => String(d.getDate()).padStart(2, ' '),
    H: () => p(d.getHours()),
    I: () => p(d.getHours() % 12 || 12),
    M: () => p(d.getMinutes()),
    S: () => p(d.getSeconds()),
    p: () => (d.getHours() < 12 ? 'AM' : 'PM'),
    f: () => p(Number((wallNs / 1000n) % 1000000n), 6),
    j: () => p(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86400000) + 1, 3),
    a: () => days[d.getDay()]!,
    b: () => months[d.getMonth()]!,
    s: () => String(Math.floor(d.getTime() / 1000)),
    z: () => {
      const o = -d.getTimezoneOffset();
      return `${o < 0 ? '-' : '+'}${p(Math.floor(Math.abs(o) / 60))}${p(Math.abs(o) % 60)}`;
    },
    '%': () => '%',
  };
  conv.T = () => `${conv.H!()}:${conv.M!()}:${conv.S!()}`;
  conv.D = () => `${conv.m!()}/${conv.d!()}/${conv.y!()}`;
  conv.F = () => `${conv.Y!()}-${conv.m!()}-${conv.d!()}`;
  return format.replace(/%(.)/g, (all, c: string) => conv[c]?.() ?? all);
}

/** Known verifier verdicts, in the script's terms. */
/** An address as inet_ntop(3) writes it: dotted quad for 4 bytes; for 16, hex groups with the longest run of 2+ zero
 * groups as `::`, and IPv4-mapped/compatible addresses ending in a dotted quad. */
export function inetText(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const w = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.len < 2) best = { at: -1, len: 0 };
  const v4 = best.at === 0 && (best.len === 6 || (best.len === 7 && w[7] !== 1) || (best.len === 5 && w[5] === 0xffff));
  const hex = (ws: number[]) => ws.map((x) => x.toString(16));
  if (v4) return `::${best.len === 5 ? 'ffff:' : ''}${inetText(b.subarray(12))}`;
  if (best.at < 0) return hex(w).join(':');
  return `${hex(w.slice(0, best.at)).join(':')}::${hex(w.slice(best.at + best.len)).join(':')}`;
}

const VERIFIER_EXPLANATIONS: [RegExp, string][] = [
  [/infinite loop detected/, 'infinite loop detected: the loop can never end; the verifier only accepts loops that provably terminate'],
  [/BPF program is too large/, 'the program is too complex to verify (over 1M instructions explored): a loop runs too many iterations; lower its bound'],
  [/back-edge|unreachable insn/, 'the program has a jump the verifier does not accept'],
];

function explainVerifier(log: string): string | undefined {
  return VERIFIER_EXPLANATIONS.find(([re]) => re.test(log))?.[1];
}

export { storageSize };
export type { MapLayout };

/**
 * A USDT semaphore on kernels whose uprobes lack ref_ctr_offset (before 4.20): a u16 in the traced process that
 * `<sys/sdt.h>` code tests before building a probe's arguments. It is raised while the probe is attached by writing
 * the process's memory (/proc/PID/mem), and lowered again on detach. A -c command maps the binary only once it has exec'd: until then it is retried every 5 ms. Without a
 * process (no -p/-c) it cannot be set: the probe then fires only when the program enables it itself.
 */
class Semaphore {
  private addr?: number;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly fileOffset: number,
    private readonly pid: number | undefined,
    what: string,
    warn: (s: string) => void,
  ) {
    if (pid === undefined) {
      warn(`WARNING: ${what} has a semaphore; without -p or -c it stays 0 and the probe may never fire\n`);
      return;
    }
    if (this.raise()) return;
    const until = Date.now() + 5000;
    this.retry = setInterval(() => {
      if (this.raise() || Date.now() > until) clearInterval(this.retry);
    }, 5);
  }

  /** Increments the semaphore once the file is mapped; whether it was. */
  private raise(): boolean {
    const base = mappingBase(this.pid!, this.path, this.fileOffset);
    if (base === undefined) return false;
    this.addr = base;
    this.add(1);
    return true;
  }

  private add(d: number): void {
    const fd = openSync(`/proc/${this.pid}/mem`, 'r+');
    try {
      const b = Buffer.alloc(2);
      readSync(fd, b, 0, 2, this.addr!);
      b.writeUInt16LE(Math.max(0, b.readUInt16LE(0) + d));
      writeSync(fd, b, 0, 2, this.addr!);
    } finally {
      closeSync(fd);
    }
  }

  release(): void {
    clearInterval(this.retry);
    if (this.addr === undefined) return;
    try {
      this.add(-1);
    } catch {
      // the process has exited
    }
    this.addr = undefined;
  }
}

/** The address where file offset `off` of `path` is mapped in process `pid`. */
function mappingBase(pid: number, path: string, off: number): number | undefined {
  const real = realpathSync(path);
  try {
    for (const m of readMaps(pid)) {
      if (m.path !== real && m.path !== path) continue;
      if (off >= m.offset && off < m.offset + (m.end - m.start)) return m.start + (off - m.offset);
    }
  } catch {
    // the process is gone
  }
  return undefined;
}

/** BTF and func_info naming a probe's for-over-map callbacks (the verifier needs them for callback subprograms). */
function funcInfoOf(p: CompiledProbe): { btf: Buffer; funcInfo: Buffer } {
  const { btf, funcInfo } = forEachCallbackBtf(p.name, p.subprogs.map((insn, i) => ({ name: `for_map_${i + 1}`, insn })));
  return { btf, funcInfo };
}
