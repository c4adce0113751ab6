/**
 * Finding binaries and libraries by short name: `libc` → /lib/x86_64-linux-gnu/libc.so.6 through
 * /etc/ld.so.cache (format "glibc-ld.so.cache1.1"), then the ld.so.conf directories; `bash` → /usr/bin/bash
 * through PATH.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KscopeError } from '../sys/errors.js';

/** One ld.so.cache entry: soname key (e.g. `libc.so.6`), full path, glibc flags. */
export interface CacheEntry {
  name: string;
  path: string;
  flags: number;
}

const MAGIC_NEW = 'glibc-ld.so.cache1.1';
const FLAG_TYPE_MASK = 0x00ff, FLAG_ELF_LIBC6 = 0x0003;
const FLAG_ARCH_MASK = 0xff00, FLAG_X8664_LIB64 = 0x0300;

/**
 * Parses ld.so.cache: a 48-byte header (magic+version, nlibs, len_strings, flags, extension offset), nlibs
 * 24-byte entries (flags, key, value, osversion, hwcap), strings addressed from the start of the new header.
 * Files that still carry the old "ld.so-1.7.0" table first are handled by finding the new header.
 */
export function parseLdCache(buf: Buffer): CacheEntry[] {
  const base = buf.indexOf(MAGIC_NEW, 0, 'latin1');
  if (base < 0 || base + 48 > buf.length) return [];
  const nlibs = buf.readUInt32LE(base + 20);
  const out: CacheEntry[] = [];
  const str = (o: number) => {
    const at = base + o;
    const end = buf.indexOf(0, at);
    return buf.toString('utf8', at, end < 0 ? buf.length : end);
  };
  for (let i = 0; i < nlibs; i++) {
    const e = base + 48 + i * 24;
    if (e + 24 > buf.length) break;
    out.push({ flags: buf.readInt32LE(e), name: str(buf.readUInt32LE(e + 4)), path: str(buf.readUInt32LE(e + 8)) });
  }
  return out;
}

let cache: CacheEntry[] | undefined;

/** The entries of /etc/ld.so.cache usable by this (x86-64) process; empty when there is no cache. */
export function ldCache(path = '/etc/ld.so.cache'): CacheEntry[] {
  if (cache && path === '/etc/ld.so.cache') return cache;
  let entries: CacheEntry[] = [];
  try {
    entries = parseLdCache(readFileSync(path)).filter(
      (e) => (e.flags & FLAG_TYPE_MASK) === FLAG_ELF_LIBC6 && (e.flags & FLAG_ARCH_MASK) === FLAG_X8664_LIB64,
    );
  } catch {
    // no cache (e.g. musl systems): callers fall back to directories
  }
  if (path === '/etc/ld.so.cache') cache = entries;
  return entries;
}

/** Library directories from /etc/ld.so.conf (following `include` globs) plus the default ones. */
export function libraryDirs(conf = '/etc/ld.so.conf'): string[] {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const read = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const inc = /^include\s+(.+)$/.exec(line);
      if (inc) for (const pat of inc[1].split(/\s+/)) for (const f of globFiles(pat.startsWith('/') ? pat : join(dirname(file), pat))) read(f);
      else dirs.push(line);
    }
  };
  read(conf);
  for (const d of ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib'])
    dirs.push(d);
  return [...new Set(dirs)];
}

/** Expands a `dir/*.conf`-style pattern (a `*` in the last component only). */
function globFiles(pattern: string): string[] {
  const dir = dirname(pattern), base = pattern.slice(dir.length + 1);
  if (!base.includes('*')) return existsSync(pattern) ? [pattern] : [];
  const re = new RegExp('^' + base.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  try {
    return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * Finds a shared library by short name: `libc`, `c`, `libc.so`, `libc.so.6` or `libssl.so.3` all match keys
 * `lib<x>.so[.N]`. An exact key wins, then the shortest soname. Returns undefined when none is found.
 */
export function findLibrary(name: string): string | undefined {
  const stem = name.startsWith('lib') ? name : `lib${name}`;
  const matches = (key: string) => key === name || key === stem || key.startsWith(stem.endsWith('.so') ? stem : `${stem}.so`);
  // Versioned sonames first: a bare `libc.so` is the development link (often a linker script), not the library.
  const rank = (k: string) => (k.endsWith('.so') ? 1000 : 0) + k.length;
  const pick = (keys: string[]) => keys.find((k) => k === name) ?? keys.filter(matches).sort((a, b) => rank(a) - rank(b))[0];
  const entries = ldCache();
  const key = pick(entries.map((e) => e.name));
  if (key) {
    const hit = entries.find((e) => e.name === key && existsSync(e.path));
    if (hit) return hit.path;
  }
  for (const dir of libraryDirs()) {
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    const f = pick(files.filter((x) => x.includes('.so')));
    if (f) return join(dir, f);
  }
  return undefined;
}

/** `which`: the first executable named `name` on PATH, or undefined. */
export function which(name: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string | undefined {
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Resolves the target of a uprobe/USDT probe: a path (contains `/`) is used as is; otherwise a program on PATH,
 * then a library by short name. Throws a KscopeError naming what was tried.
 */
export function resolveBinary(target: string): string {
  if (target.includes('/')) {
    if (!existsSync(target)) throw new KscopeError(`${target}: no such file`);
    return target;
  }
  const found = which(target) ?? findLibrary(target);
  if (!found)
    throw new KscopeError(`cannot find a program or library named "${target}"`,
      'give the full path, or check PATH and `ldconfig -p` for the library name');
  return found;
}
