/**
 * Address → name, with caches: kernel addresses through /proc/kallsyms; user addresses through the process's
 * maps, the mapped ELF file's symbols (or its separate debug file), or the JIT perf map for anonymous code.
 */
import { existsSync } from 'node:fs';
import { demangle } from './demangle.js';
import { ElfFile } from './elf.js';
import { kallsyms, type KernelLocation } from './kallsyms.js';
import { PerfMap, perfMapSize, readPerfMap } from './perfmap.js';
import { findMappingIndex, isFileMapping, readMaps, type Mapping } from './procmaps.js';

/** A symbolised user address: the symbol, the offset into it, and the file (or perf map) it came from. */
export interface UserLocation {
  name: string;
  offset: number;
  module: string;
}

export interface FormatOptions {
  /** Append `+offset` (decimal, as bpftrace prints). Default true. */
  offset?: boolean;
  /** Append the module: ` [ext4]` for kernel modules, ` (/usr/lib/…/libc.so.6)` for user code. Default false. */
  module?: boolean;
}

export const UNKNOWN = '[unknown]';

/** Per mapping: the ELF file (null when unusable) and the bias from process address to ELF virtual address. */
interface MappedFile {
  elf: ElfFile | null;
  bias: number;
}

interface ProcessState {
  maps: Mapping[];
  files: (MappedFile | undefined)[];
  loadedAt: number;
  perf?: PerfMap | null;
  perfSize: number;
}

const RELOAD_MS = 250;

/** Symbolises kernel and user addresses; reuse one instance so caches persist. */
export class Symbolizer {
  private readonly procs = new Map<number, ProcessState>();
  private readonly elfs = new Map<string, ElfFile | null>();
  private readonly demangled = new Map<string, string>();

  constructor(private readonly demangleNames = true) {}

  /** The kernel symbol containing `addr`, or null. */
  kernelSymbol(addr: bigint): KernelLocation | null {
    return kallsyms().resolve(addr);
  }

  /** `vfs_read+5` for a kernel address, `[unknown]` when none. */
  kernel(addr: bigint, opts: FormatOptions = {}): string {
    const loc = this.kernelSymbol(addr);
    if (!loc) return UNKNOWN;
    return format(loc.name, loc.offset, opts) + (opts.module && loc.module ? ` [${loc.module}]` : '');
  }

  /** The symbol containing user address `addr` of process `pid`, or null. */
  userSymbol(pid: number, addr: number | bigint): UserLocation | null {
    const a = Number(addr);
    let st = this.process(pid, false);
    let i = findMappingIndex(st.maps, a);
    if (i < 0 && performance.now() - st.loadedAt > RELOAD_MS) {
      st = this.process(pid, true); // a new mmap since we last looked
      i = findMappingIndex(st.maps, a);
    }
    if (i >= 0 && isFileMapping(st.maps[i])) {
      const m = st.maps[i];
      let hit: ReturnType<ElfFile['symbolizeName']> | undefined;
      for (let attempt = 0; ; attempt++) {
        const f = (st.files[i] ??= this.mappedFile(pid, m));
        try {
          hit = f.elf?.symbolizeName(a - f.bias);
          break;
        } catch {
          // ELF sections are read lazily, by path: a /proc/PID/root path is gone once that process has exited.
          // Open the file again (by another path), once; else the address stays unknown.
          this.elfs.delete(fileKey(m));
          st.files[i] = attempt ? { elf: null, bias: 0 } : undefined;
          if (attempt) return null;
        }
      }
      return hit ? { name: this.name(hit.name), offset: hit.offset, module: m.path } : null;
    }
    return this.jit(pid, st, a);
  }

  /** `func+12` for a user address, `[unknown]` when none. */
  user(pid: number, addr: number | bigint, opts: FormatOptions = {}): string {
    const loc = this.userSymbol(pid, addr);
    if (!loc) return UNKNOWN;
    return format(loc.name, loc.offset, opts) + (opts.module ? ` (${loc.module})` : '');
  }

  /** Drops what is cached for `pid` (call when it exits or execs). */
  forget(pid: number): void {
    this.procs.delete(pid);
  }

  private process(pid: number, reload: boolean): ProcessState {
    let st = this.procs.get(pid);
    if (st && !reload) return st;
    let maps: Mapping[] = [];
    try {
      maps = readMaps(pid);
    } catch {
      // the process is gone: keep an empty state so we do not retry on every address
    }
    st = { maps, files: new Array(maps.length), loadedAt: performance.now(), perf: st?.perf, perfSize: st?.perfSize ?? -1 };
    this.procs.set(pid, st);
    return st;
  }

  private mappedFile(pid: number, m: Mapping): MappedFile {
    const key = fileKey(m);
    let elf = this.elfs.get(key);
    if (elf === undefined) {
      elf = null;
      // Open through the process's root (containers) or, for deleted files, through map_files.
      const candidates = [`/proc/${pid}/root${m.path}`, m.path, `/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`];
      for (const c of candidates) {
        if (c.endsWith(' (deleted)') || !existsSync(c)) continue;
        try {
          elf = ElfFile.open(c);
          break;
        } catch {
          continue;
        }
      }
      this.elfs.set(key, elf);
    }
    // The PT_LOAD that holds this mapping's file offset says which virtual address the mapping starts at.
    const vaddr = elf?.vaddrOfFileOffset(m.offset);
    return { elf: vaddr == null ? null : elf, bias: vaddr == null ? 0 : m.start - vaddr };
  }

  private jit(pid: number, st: ProcessState, a: number): UserLocation | null {
    const size = st.perf === undefined || st.perf?.resolve(a) == null ? perfMapSize(pid) : st.perfSize;
    if (size !== st.perfSize) {
      st.perf = size < 0 ? null : readPerfMap(pid);
      st.perfSize = size;
    }
    const hit = st.perf?.resolve(a);
    return hit ? { name: hit.name, offset: hit.offset, module: `[perf-${pid}.map]` } : null;
  }

  private name(raw: string): string {
    if (!this.demangleNames || !(raw.startsWith('_Z') || raw.startsWith('_R'))) return raw;
    let d = this.demangled.get(raw);
    if (d === undefined) this.demangled.set(raw, (d = demangle(raw)));
    return d;
  }
}

/** Cache key of a mapped file. */
function fileKey(m: Mapping): string {
  return `${m.dev}:${m.inode}:${m.path}`;
}

function format(name: string, offset: number, opts: FormatOptions): string {
  return opts.offset === false ? name : `${name}+${offset}`;
}
