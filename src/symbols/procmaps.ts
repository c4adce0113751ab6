/**
 * /proc/PID/maps: which file (and which offset in it) backs each user address of a process.
 */
import { readFileSync } from 'node:fs';
import { KscopeError } from '../sys/errors.js';

/** One line of /proc/PID/maps. `path` is '' for anonymous memory, `[heap]`/`[stack]`/… for special regions. */
export interface Mapping {
  start: number;
  end: number;
  perms: string;
  offset: number;
  dev: string;
  inode: number;
  path: string;
}

/** A user address translated to the file that backs it. */
export interface FileLocation {
  path: string;
  fileOffset: number;
  mapStart: number;
  mapEnd: number;
  mapOffset: number;
  inode: number;
  dev: string;
}

// The path may contain spaces, and ends with " (deleted)" for unlinked files.
const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) +(\S+) +([0-9a-f]+) +(\S+) +(\d+) *(.*)$/;

/** Parses the text of a maps file (lines `start-end perms offset dev inode [path]`). Lines are kept in order. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const f = MAPS_LINE.exec(line);
    if (!f) continue;
    out.push({
      start: parseInt(f[1], 16), end: parseInt(f[2], 16), perms: f[3], offset: parseInt(f[4], 16),
      dev: f[5], inode: Number(f[6]), path: f[7],
    });
  }
  return out;
}

/** Reads /proc/PID/maps; throws KscopeError when the process does not exist or cannot be read. */
export function readMaps(pid: number): Mapping[] {
  try {
    return parseMaps(readFileSync(`/proc/${pid}/maps`, 'latin1'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KscopeError(`cannot read /proc/${pid}/maps: ${code ?? e}`,
      code === 'ENOENT' ? `no process with PID ${pid} (it may have exited)` : 'run as root to read other users\' processes');
  }
}

/** Index of the mapping containing `addr` in address-sorted `maps` (binary search), or -1. */
export function findMappingIndex(maps: readonly Mapping[], addr: number): number {
  let a = 0, b = maps.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (maps[m].start <= addr) a = m + 1;
    else b = m;
  }
  return a > 0 && addr < maps[a - 1].end ? a - 1 : -1;
}

/** The mapping containing `addr` in address-sorted `maps`, or undefined. */
export function findMapping(maps: readonly Mapping[], addr: number): Mapping | undefined {
  const i = findMappingIndex(maps, addr);
  return i < 0 ? undefined : maps[i];
}

/** True when a mapping is backed by a regular file (not anonymous, not [heap], [vdso], …). */
export function isFileMapping(m: Mapping): boolean {
  return m.inode !== 0 && m.path.startsWith('/');
}

/** Translates a user address of process `pid` to the file backing it, or null for anonymous memory. */
export function userAddressToFile(pid: number, addr: number | bigint, maps: readonly Mapping[] = readMaps(pid)): FileLocation | null {
  const a = Number(addr);
  const m = findMapping(maps, a);
  if (!m || !isFileMapping(m)) return null;
  return { path: m.path, fileOffset: a - m.start + m.offset, mapStart: m.start, mapEnd: m.end, mapOffset: m.offset, inode: m.inode, dev: m.dev };
}
