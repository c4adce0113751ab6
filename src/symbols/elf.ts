/**
 * ELF64 little-endian reader (System V gABI): headers are read once, section contents lazily, so large binaries
 * (node is >100 MB) cost only the sections we need. Addresses are JS numbers: user-space virtual addresses and
 * file offsets are below 2^53.
 */
import { closeSync, existsSync, openSync, readSync, fstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KscopeError } from '../sys/errors.js';
import { iota, permute } from './arrays.js';
import { parseUsdtArgs, type UsdtProbe } from './usdt.js';

export const SHT_SYMTAB = 2, SHT_NOTE = 7, SHT_NOBITS = 8, SHT_DYNSYM = 11;
export const PT_LOAD = 1, PT_NOTE = 4;
export const STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_GNU_IFUNC = 10;
export const STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2;
const SHN_UNDEF = 0, SHN_ABS = 0xfff1;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export type SymbolType = 'func' | 'object' | 'ifunc' | 'notype';
export type SymbolBinding = 'local' | 'global' | 'weak';

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: SymbolType;
  binding: SymbolBinding;
}

/** A symbolised ELF virtual address. */
export interface ElfLocation {
  name: string;
  offset: number;
  symbol: ElfSymbol;
}

/** Where symbols came from: the file's .symtab, a separate debug file's .symtab, or .dynsym only. */
export type SymbolSource = 'symtab' | 'debug' | 'dynsym' | 'none';

/** Directories searched for separate debug files (build-id and debuglink). */
export const DEBUG_DIRS = ['/usr/lib/debug'];

function u64(b: Buffer, o: number): number {
  return b.readUInt32LE(o) + b.readUInt32LE(o + 4) * 0x1_0000_0000;
}

function cstr(b: Buffer, o: number): string {
  const end = b.indexOf(0, o);
  return b.toString('utf8', o, end < 0 ? b.length : end);
}

/** A symbol table sorted by address for binary search; names decoded lazily from the string table. */
class SymbolTable {
  readonly count: number;
  private readonly names: (string | undefined)[];
  private byName?: Map<string, number>;

  constructor(
    private readonly value: Float64Array,
    private readonly size: Float64Array,
    private readonly info: Uint8Array,
    private readonly nameOff: Uint32Array,
    private readonly strtab: Buffer,
  ) {
    this.count = value.length;
    this.names = new Array(this.count);
  }

  /** Parses SHT_SYMTAB/SHT_DYNSYM data; keeps defined, non-absolute code/data symbols. */
  static parse(data: Buffer, strtab: Buffer): SymbolTable {
    const total = Math.floor(data.length / 24);
    const idx: number[] = [];
    for (let i = 1; i < total; i++) {
      const o = i * 24;
      const t = data[o + 4] & 0xf;
      const shndx = data.readUInt16LE(o + 6);
      if (shndx === SHN_UNDEF || shndx === SHN_ABS) continue;
      if (t !== STT_FUNC && t !== STT_OBJECT && t !== STT_GNU_IFUNC && t !== STT_NOTYPE) continue;
      if (data.readUInt32LE(o) === 0) continue;
      idx.push(o);
    }
    const n = idx.length;
    const value = new Float64Array(n), size = new Float64Array(n), info = new Uint8Array(n), nameOff = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const o = idx[k];
      value[k] = u64(data, o + 8);
      size[k] = u64(data, o + 16);
      info[k] = data[o + 4];
      nameOff[k] = data.readUInt32LE(o);
    }
    // Address order; among aliases at one address the preferred one sorts last, which is where lookups land.
    const order = iota(n).sort(
      (a, b) => value[a] - value[b] || prefer(info[a], size[a]) - prefer(info[b], size[b]) ||
        underscores(strtab, nameOff[b]) - underscores(strtab, nameOff[a]) || nameOff[b] - nameOff[a],
    );
    return new SymbolTable(permute(value, order), permute(size, order), permute(info, order), permute(nameOff, order), strtab);
  }

  name(i: number): string {
    return (this.names[i] ??= cstr(this.strtab, this.nameOff[i]));
  }

  valueAt(i: number): number {
    return this.value[i];
  }

  symbol(i: number): ElfSymbol {
    const t = this.info[i] & 0xf, b = this.info[i] >> 4;
    return {
      name: this.name(i),
      value: this.value[i],
      size: this.size[i],
      type: t === STT_FUNC ? 'func' : t === STT_OBJECT ? 'object' : t === STT_GNU_IFUNC ? 'ifunc' : 'notype',
      binding: b === STB_GLOBAL ? 'global' : b === STB_WEAK ? 'weak' : 'local',
    };
  }

  /** Index of the symbol covering `addr`, or -1. A size-0 function symbol covers up to the next symbol. */
  find(addr: number): number {
    const { value, size } = this;
    let a = 0, b = this.count;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (value[m] <= addr) a = m + 1;
      else b = m;
    }
    // Walk back over aliases and nested symbols for one whose extent covers addr.
    for (let i = a - 1, k = 0; i >= 0 && k < 16; i--, k++) {
      if (addr < value[i] + size[i]) return i;
      if (i === a - 1 && size[i] === 0 && (this.info[i] & 0xf) === STT_FUNC) return i;
    }
    return -1;
  }

  lookup(name: string): number {
    if (!this.byName) {
      this.byName = new Map();
      for (let i = 0; i < this.count; i++) {
        const nm = this.name(i);
        const prev = this.byName.get(nm);
        if (prev === undefined || bindRank(this.info[i]) > bindRank(this.info[prev])) this.byName.set(nm, i);
      }
    }
    return this.byName.get(name) ?? -1;
  }
}

/** Leading underscores of a name in a string table (`__libc_malloc` loses to `malloc` at the same address). */
function underscores(strtab: Buffer, off: number): number {
  let i = off;
  while (strtab[i] === 95) i++;
  return i - off;
}

function bindRank(info: number): number {
  const b = info >> 4;
  return b === STB_GLOBAL ? 2 : b === STB_WEAK ? 1 : 0;
}

function prefer(info: number, size: number): number {
  const t = info & 0xf;
  return (t === STT_FUNC || t === STT_GNU_IFUNC ? 8 : t === STT_OBJECT ? 4 : 0) + (size > 0 ? 3 : 0) + bindRank(info);
}

/** An ELF64 little-endian file. */
export class ElfFile {
  readonly type: number;
  readonly machine: number;
  readonly entry: number;
  readonly sections: ElfSection[] = [];
  readonly segments: ElfSegment[] = [];
  private table?: SymbolTable | null;
  private source: SymbolSource = 'none';
  private debugPath?: string | null;

  private constructor(readonly path: string, readonly fileSize: number, header: Buffer, read: (off: number, len: number) => Buffer) {
    this.type = header.readUInt16LE(16);
    this.machine = header.readUInt16LE(18);
    this.entry = u64(header, 24);
    const phoff = u64(header, 32), shoff = u64(header, 40);
    const phentsize = header.readUInt16LE(54), phnum = header.readUInt16LE(56);
    let shnum = header.readUInt16LE(60), shstrndx = header.readUInt16LE(62);
    if (phoff && phnum) {
      const ph = read(phoff, phnum * phentsize);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        this.segments.push({
          type: ph.readUInt32LE(o), flags: ph.readUInt32LE(o + 4), offset: u64(ph, o + 8),
          vaddr: u64(ph, o + 16), filesz: u64(ph, o + 32), memsz: u64(ph, o + 40),
        });
      }
    }
    if (!shoff) return;
    const first = read(shoff, 64);
    if (shnum === 0) shnum = u64(first, 32); // extended numbering: count in section 0's sh_size
    if (shstrndx === 0xffff) shstrndx = first.readUInt32LE(40);
    const sh = read(shoff, shnum * 64);
    const nameOffs: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * 64;
      nameOffs.push(sh.readUInt32LE(o));
      this.sections.push({
        index: i, name: '', type: sh.readUInt32LE(o + 4), flags: u64(sh, o + 8), addr: u64(sh, o + 16),
        offset: u64(sh, o + 24), size: u64(sh, o + 32), link: sh.readUInt32LE(o + 40), info: sh.readUInt32LE(o + 44),
        addralign: u64(sh, o + 48), entsize: u64(sh, o + 56),
      });
    }
    const strs = this.sections[shstrndx];
    if (!strs) return;
    const names = read(strs.offset, strs.size);
    this.sections.forEach((s, i) => (s.name = cstr(names, nameOffs[i])));
  }

  /** Opens and validates an ELF64 little-endian file; throws KscopeError otherwise. */
  static open(path: string): ElfFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new KscopeError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        'check that the binary or library path exists and is readable');
    }
    try {
      const fileSize = fstatSync(fd).size;
      const read = (off: number, len: number): Buffer => {
        if (off + len > fileSize) throw new KscopeError(`${path}: truncated ELF file`);
        const b = Buffer.allocUnsafe(len);
        readSync(fd, b, 0, len, off);
        return b;
      };
      const header = fileSize >= 64 ? read(0, 64) : Buffer.alloc(0);
      if (header.length < 64 || header.readUInt32BE(0) !== 0x7f454c46)
        throw new KscopeError(`${path} is not an ELF file`);
      if (header[4] !== 2 || header[5] !== 1) throw new KscopeError(`${path}: only 64-bit little-endian ELF is supported`);
      return new ElfFile(path, fileSize, header, read);
    } finally {
      closeSync(fd);
    }
  }

  /** The first section named `name`. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Raw contents of a section (empty for SHT_NOBITS). */
  sectionData(s: ElfSection): Buffer {
    if (s.type === SHT_NOBITS || s.size === 0) return Buffer.alloc(0);
    if (s.offset + s.size > this.fileSize) throw new KscopeError(`${this.path}: section ${s.name} lies past the end of the file`);
    const fd = openSync(this.path, 'r');
    try {
      const b = Buffer.allocUnsafe(s.size);
      readSync(fd, b, 0, s.size, s.offset);
      return b;
    } finally {
      closeSync(fd);
    }
  }

  /** Notes of a section: owner, type and descriptor bytes. */
  notes(s: ElfSection): { owner: string; type: number; desc: Buffer }[] {
    const data = this.sectionData(s);
    const align = s.addralign === 8 ? 8 : 4;
    const pad = (n: number) => (n + align - 1) & ~(align - 1);
    const out: { owner: string; type: number; desc: Buffer }[] = [];
    for (let o = 0; o + 12 <= data.length; ) {
      const namesz = data.readUInt32LE(o), descsz = data.readUInt32LE(o + 4), type = data.readUInt32LE(o + 8);
      const nameAt = o + 12, descAt = nameAt + pad(namesz);
      if (descAt + descsz > data.length) break;
      out.push({ owner: data.toString('latin1', nameAt, nameAt + Math.max(0, namesz - 1)), type, desc: data.subarray(descAt, descAt + descsz) });
      o = descAt + pad(descsz);
    }
    return out;
  }

  /** The GNU build-id as lowercase hex, if the file has one. */
  buildId(): string | undefined {
    for (const s of this.sections)
      if (s.type === SHT_NOTE)
        for (const n of this.notes(s)) if (n.owner === 'GNU' && n.type === 3) return n.desc.toString('hex');
    return undefined;
  }

  /** The `.gnu_debuglink` file name and CRC32, if any. */
  debugLink(): { file: string; crc: number } | undefined {
    const s = this.section('.gnu_debuglink');
    if (!s) return undefined;
    const d = this.sectionData(s);
    const file = cstr(d, 0);
    const crcAt = (file.length + 4) & ~3;
    return { file, crc: crcAt + 4 <= d.length ? d.readUInt32LE(crcAt) : 0 };
  }

  /** Path of a separate debug file with a .symtab (by build-id, then by debuglink), or undefined. */
  debugFile(): string | undefined {
    if (this.debugPath !== undefined) return this.debugPath ?? undefined;
    const id = this.buildId();
    const candidates: string[] = [];
    if (id && id.length > 2) for (const d of DEBUG_DIRS) candidates.push(`${d}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
    const link = this.debugLink();
    if (link) {
      const dir = dirname(this.path);
      candidates.push(join(dir, link.file), join(dir, '.debug', link.file), ...DEBUG_DIRS.map((d) => join(d, dir, link.file)));
    }
    this.debugPath = null;
    for (const c of candidates) {
      if (c === this.path || !existsSync(c)) continue;
      try {
        const dbg = ElfFile.open(c);
        if (id && dbg.buildId() !== undefined && dbg.buildId() !== id) continue;
        if (!dbg.sections.some((s) => s.type === SHT_SYMTAB)) continue;
        this.debugPath = c;
        break;
      } catch {
        continue;
      }
    }
    return this.debugPath ?? undefined;
  }

  /** Where this file's symbols come from (loads them). */
  symbolSource(): SymbolSource {
    this.symbolTable();
    return this.source;
  }

  private symbolTable(): SymbolTable | null {
    if (this.table !== undefined) return this.table;
    const load = (f: ElfFile, type: number): SymbolTable | null => {
      const s = f.sections.find((x) => x.type === type && x.size > 0);
      const str = s && f.sections[s.link];
      return s && str ? SymbolTable.parse(f.sectionData(s), f.sectionData(str)) : null;
    };
    let t = load(this, SHT_SYMTAB);
    this.source = 'symtab';
    if (!t?.count) {
      const dbg = this.debugFile();
      t = dbg ? load(ElfFile.open(dbg), SHT_SYMTAB) : null;
      this.source = 'debug';
    }
    if (!t?.count) {
      t = load(this, SHT_DYNSYM);
      this.source = 'dynsym';
    }
    if (!t?.count) this.source = 'none';
    return (this.table = t);
  }

  /** All defined function/data symbols in address order. */
  symbols(): ElfSymbol[] {
    const t = this.symbolTable();
    return t ? Array.from({ length: t.count }, (_, i) => t.symbol(i)) : [];
  }

  /** The symbol named `name` (global preferred over weak over local), or undefined. */
  symbolByName(name: string): ElfSymbol | undefined {
    const t = this.symbolTable();
    const i = t ? t.lookup(name) : -1;
    return i < 0 ? undefined : t!.symbol(i);
  }

  /** The symbol containing virtual address `vaddr`, with the offset into it, or null. */
  symbolize(vaddr: number): ElfLocation | null {
    const t = this.symbolTable();
    const i = t ? t.find(vaddr) : -1;
    if (i < 0) return null;
    const symbol = t!.symbol(i);
    return { name: symbol.name, offset: vaddr - symbol.value, symbol };
  }

  /** Name and offset only (no object allocated for the symbol): the hot path of user stack symbolisation. */
  symbolizeName(vaddr: number): { name: string; offset: number } | null {
    const t = this.symbolTable();
    const i = t ? t.find(vaddr) : -1;
    return i < 0 ? null : { name: t!.name(i), offset: vaddr - t!.valueAt(i) };
  }

  /** File offset of virtual address `vaddr` through the PT_LOAD segment containing it (what uprobes attach to). */
  fileOffsetOf(vaddr: number): number | null {
    for (const p of this.segments)
      if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz) return vaddr - p.vaddr + p.offset;
    return null;
  }

  /** Virtual address of file offset `off` through the PT_LOAD segment containing it. */
  vaddrOfFileOffset(off: number): number | null {
    for (const p of this.segments)
      if (p.type === PT_LOAD && off >= p.offset && off < p.offset + p.filesz) return off - p.offset + p.vaddr;
    return null;
  }

  /** USDT probes from `.note.stapsdt` (owner "stapsdt", type 3), addresses adjusted by `.stapsdt.base`. */
  usdtProbes(): UsdtProbe[] {
    const notes = this.section('.note.stapsdt');
    if (!notes) return [];
    const base = this.section('.stapsdt.base');
    const out: UsdtProbe[] = [];
    for (const n of this.notes(notes)) {
      if (n.owner !== 'stapsdt' || n.type !== 3 || n.desc.length < 24) continue;
      const d = n.desc;
      // Prelinking moves sections without rewriting notes: shift by where .stapsdt.base is now vs. then.
      const shift = base ? base.addr - u64(d, 8) : 0;
      const pc = u64(d, 0) + shift;
      const sem = u64(d, 16);
      const semaphore = sem ? sem + shift : 0;
      const provider = cstr(d, 24);
      const name = cstr(d, 25 + Buffer.byteLength(provider));
      const args = cstr(d, 26 + Buffer.byteLength(provider) + Buffer.byteLength(name));
      out.push({
        provider, name, pc, fileOffset: this.fileOffsetOf(pc) ?? pc, semaphore,
        semaphoreFileOffset: semaphore ? (this.fileOffsetOf(semaphore) ?? 0) : 0, args: parseUsdtArgs(args),
      });
    }
    return out;
  }
}
