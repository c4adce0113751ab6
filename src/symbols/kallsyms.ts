/**
 * /proc/kallsyms: the kernel's symbol table. Parsed once per process into typed arrays sorted by address, then
 * resolved by binary search. Addresses are kept as two 32-bit halves so that neither parsing nor searching
 * allocates a BigInt per symbol.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { KscopeError } from '../sys/errors.js';
import { grow, iota, permute } from './arrays.js';

/** One kallsyms line. `type` is nm's letter: t/T text, w/W weak, d/D data, b/B bss, r/R read-only data. */
export interface KernelSymbol {
  name: string;
  address: bigint;
  type: string;
  module?: string;
}

/** Where a kernel address falls: `name+offset`, in `module` when it is not in vmlinux. */
export interface KernelLocation {
  name: string;
  offset: number;
  address: bigint;
  module?: string;
}

/** True for kallsyms type letters of code (t, T, w, W). */
export function isFunctionType(type: string): boolean {
  const c = type.toLowerCase();
  return c === 't' || c === 'w';
}

const TWO32 = 0x1_0000_0000;

/** A parsed, address-sorted /proc/kallsyms. */
export class Kallsyms {
  private byName?: Map<string, number>;

  private constructor(
    private readonly hi: Uint32Array,
    private readonly lo: Uint32Array,
    private readonly types: Uint8Array,
    private readonly nameStart: Uint32Array,
    private readonly nameEnd: Uint32Array,
    private readonly text: string,
    private readonly mods: Uint16Array,
    private readonly modNames: string[],
  ) {}

  /** Parses kallsyms text (`ADDR TYPE NAME[\t[MODULE]]` per line). */
  static parse(text: string): Kallsyms {
    let cap = 1024;
    let hi = new Uint32Array(cap), lo = new Uint32Array(cap), types = new Uint8Array(cap), mods = new Uint16Array(cap);
    let ns = new Uint32Array(cap), ne = new Uint32Array(cap);
    const modNames = [''];
    const modIndex = new Map<string, number>();
    let n = 0;
    let pos = 0;
    let nextTab = 0;
    const len = text.length;
    while (pos < len) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = len;
      const sp1 = text.indexOf(' ', pos);
      if (sp1 > 0 && sp1 + 3 < eol) {
        if (n === cap) {
          cap *= 2;
          hi = grow(hi, cap); lo = grow(lo, cap); types = grow(types, cap); mods = grow(mods, cap);
          ns = grow(ns, cap); ne = grow(ne, cap);
        }
        const mid = Math.max(pos, sp1 - 8);
        hi[n] = hex(text, pos, mid);
        lo[n] = hex(text, mid, sp1);
        types[n] = text.charCodeAt(sp1 + 1);
        if (nextTab >= 0 && nextTab < sp1) nextTab = text.indexOf('\t', sp1); // one forward scan overall
        const tab = nextTab;
        if (tab >= 0 && tab < eol) {
          ns[n] = sp1 + 3;
          ne[n] = tab;
          const mod = text.slice(tab + 2, text.charCodeAt(eol - 1) === 93 /* ] */ ? eol - 1 : eol);
          let mi = modIndex.get(mod);
          if (mi === undefined) {
            mi = modNames.push(mod) - 1;
            modIndex.set(mod, mi);
          }
          mods[n] = mi;
        } else {
          ns[n] = sp1 + 3;
          ne[n] = eol;
        }
        n++;
      }
      pos = eol + 1;
    }
    hi = hi.subarray(0, n); lo = lo.subarray(0, n); types = types.subarray(0, n); mods = mods.subarray(0, n);
    ns = ns.subarray(0, n); ne = ne.subarray(0, n);
    const name = (i: number) => text.slice(ns[i], ne[i]);
    // kallsyms is sorted for vmlinux but not across modules; sort by address, then by preference among aliases
    // so that the best name for an address is the last of its run (what resolve() lands on).
    const order = iota(n);
    const byAddr = (a: number, b: number) => hi[a] - hi[b] || lo[a] - lo[b];
    const full = (a: number, b: number) => byAddr(a, b) || aliasScore(types[a], name(a)) - aliasScore(types[b], name(b)) || a - b;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = byAddr(i - 1, i) <= 0;
    if (!sorted) order.sort(full);
    else
      for (let i = 1, start = 0; i <= n; i++)
        if (i === n || byAddr(start, i) !== 0) {
          if (i - start > 1) order.subarray(start, i).sort(full);
          start = i;
        }
    let moved = false;
    for (let i = 0; i < n && !moved; i++) moved = order[i] !== i;
    if (!moved) return new Kallsyms(hi, lo, types, ns, ne, text, mods, modNames);
    return new Kallsyms(
      permute(hi, order), permute(lo, order), permute(types, order), permute(ns, order), permute(ne, order), text,
      permute(mods, order), modNames,
    );
  }

  /** Reads and parses /proc/kallsyms (or `path`). Throws when the kernel hides addresses. */
  static load(path = '/proc/kallsyms'): Kallsyms {
    const ks = Kallsyms.parse(readProcFile(path));
    const last = ks.size - 1;
    if (last >= 0 && ks.hi[last] === 0 && ks.lo[last] === 0)
      throw new KscopeError(`${path} shows all kernel addresses as zero`,
        'run as root, or allow it with `sysctl kernel.kptr_restrict=0`');
    return ks;
  }

  /** Number of symbols. */
  get size(): number {
    return this.hi.length;
  }

  /** The symbol containing `addr` (the nearest one at or below it), or null below the first symbol. */
  resolve(addr: bigint): KernelLocation | null {
    const h = Number(addr >> 32n), l = Number(addr & 0xffffffffn);
    const { hi, lo } = this;
    let a = 0, b = hi.length; // first index with address > addr
    while (a < b) {
      const m = (a + b) >>> 1;
      if (hi[m] < h || (hi[m] === h && lo[m] <= l)) a = m + 1;
      else b = m;
    }
    if (a === 0) return null;
    const i = a - 1;
    const offset = (h - hi[i]) * TWO32 + (l - lo[i]);
    const loc: KernelLocation = { name: this.name(i), offset, address: this.addressAt(i) };
    if (this.mods[i]) loc.module = this.modNames[this.mods[i]];
    return loc;
  }

  /** Address of the symbol named `name` (the first one when a static name repeats), or undefined. */
  address(name: string): bigint | undefined {
    const i = this.index(name);
    return i === undefined ? undefined : this.addressAt(i);
  }

  /** Full entry for `name`, or undefined. */
  lookup(name: string): KernelSymbol | undefined {
    const i = this.index(name);
    return i === undefined ? undefined : this.at(i);
  }

  /** All symbols in address order. */
  *symbols(): IterableIterator<KernelSymbol> {
    for (let i = 0; i < this.size; i++) yield this.at(i);
  }

  private at(i: number): KernelSymbol {
    const s: KernelSymbol = { name: this.name(i), address: this.addressAt(i), type: String.fromCharCode(this.types[i]) };
    if (this.mods[i]) s.module = this.modNames[this.mods[i]];
    return s;
  }

  private name(i: number): string {
    return this.text.slice(this.nameStart[i], this.nameEnd[i]);
  }

  private addressAt(i: number): bigint {
    return (BigInt(this.hi[i]) << 32n) | BigInt(this.lo[i]);
  }

  private index(name: string): number | undefined {
    if (!this.byName) {
      this.byName = new Map();
      // Prefer functions over data when a name repeats, then vmlinux over modules, then file order.
      for (let i = 0; i < this.size; i++) {
        const name = this.name(i);
        const prev = this.byName.get(name);
        if (prev === undefined || rank(this.types[i], this.mods[i]) > rank(this.types[prev], this.mods[prev]))
          this.byName.set(name, i);
      }
    }
    return this.byName.get(name);
  }
}

function rank(type: number, mod: number): number {
  return (isFunctionType(String.fromCharCode(type)) ? 2 : 0) + (mod ? 0 : 1);
}

/** Alias preference at one address: global text > local text > weak > data; then fewer leading underscores. */
function aliasScore(type: number, name: string): number {
  const t = String.fromCharCode(type);
  const base = t === 'T' ? 40 : t === 't' ? 30 : t === 'W' || t === 'w' ? 20 : 0;
  let u = 0;
  while (u < name.length && name.charCodeAt(u) === 95) u++;
  return base - Math.min(u, 9);
}

/** Value of the hex digits text[from, to) (at most 8, so it fits a uint32). */
function hex(text: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    v = v * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
  }
  return v;
}

/** Reads a /proc file (size reported as 0) in large chunks, as latin1 text. */
function readProcFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const b = Buffer.allocUnsafe(1 << 20);
      let n = 0, r: number;
      while (n < b.length && (r = readSync(fd, b, n, b.length - n, null)) > 0) n += r;
      chunks.push(b.subarray(0, n));
      if (n < b.length) break;
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

let cached: Kallsyms | undefined;

/** The process-wide parsed /proc/kallsyms, loaded on first use. */
export function kallsyms(): Kallsyms {
  return (cached ??= Kallsyms.load());
}
