/**
 * JIT symbol maps, `/tmp/perf-PID.map`: one `START SIZE name` line per code region, START and SIZE in hex
 * (written by node --perf-basic-prof, the JVM's perf-map-agent, LuaJIT, …).
 */
import { readFileSync, statSync } from 'node:fs';

/** An address-sorted perf map. */
export class PerfMap {
  private constructor(
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
    private readonly names: string[],
  ) {}

  /** Parses perf map text. Later entries for the same start replace earlier ones (JITs rewrite code). */
  static parse(text: string): PerfMap {
    const entries: [number, number, string][] = [];
    for (const line of text.split('\n')) {
      const s1 = line.indexOf(' ');
      const s2 = line.indexOf(' ', s1 + 1);
      if (s1 <= 0 || s2 <= s1) continue;
      const start = parseInt(line.slice(0, s1), 16), size = parseInt(line.slice(s1 + 1, s2), 16);
      if (Number.isNaN(start) || Number.isNaN(size)) continue;
      entries.push([start, size, line.slice(s2 + 1)]);
    }
    // Stable sort keeps file order among equal starts; the last one wins below.
    entries.sort((a, b) => a[0] - b[0]);
    const kept = entries.filter((e, i) => i + 1 === entries.length || entries[i + 1][0] !== e[0]);
    return new PerfMap(
      Float64Array.from(kept, (e) => e[0]), Float64Array.from(kept, (e) => e[0] + e[1]), kept.map((e) => e[2]),
    );
  }

  /** Number of entries. */
  get size(): number {
    return this.names.length;
  }

  /** The entry containing `addr`, with the offset into it, or null. */
  resolve(addr: number): { name: string; offset: number } | null {
    const { starts } = this;
    let a = 0, b = starts.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (starts[m] <= addr) a = m + 1;
      else b = m;
    }
    // Entries may overlap after code moves; check a few predecessors for one that still covers addr.
    for (let i = a - 1; i >= 0 && i >= a - 8; i--)
      if (addr < this.ends[i]) return { name: this.names[i], offset: addr - starts[i] };
    return null;
  }

  /** All entries in address order. */
  entries(): { start: number; size: number; name: string }[] {
    return this.names.map((name, i) => ({ start: this.starts[i], size: this.ends[i] - this.starts[i], name }));
  }
}

/** Path of the perf map of process `pid`. */
export function perfMapPath(pid: number): string {
  return `/tmp/perf-${pid}.map`;
}

/** Reads `/tmp/perf-PID.map`, or returns null when the process writes none. */
export function readPerfMap(pid: number, path = perfMapPath(pid)): PerfMap | null {
  try {
    return PerfMap.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Size of the perf map file (to notice that a JIT appended to it), or -1 when absent. */
export function perfMapSize(pid: number, path = perfMapPath(pid)): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}
