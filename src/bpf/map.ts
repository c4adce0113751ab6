/**
 * BPF maps: create, lookup/update/delete, iterate, batch dumps and per-CPU values, with typed key/value codecs.
 */
import { mapCreate, MapElemAttr, mapLookupBatch } from '../sys/bpf.js';
import type { Codec } from './codec.js';
import { bytes } from './codec.js';
import { possibleCpus } from './cpus.js';
import { BpfObject } from './resources.js';

export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  QUEUE: 22,
  STACK: 23,
  RINGBUF: 27,
} as const;
export type MapTypeId = (typeof MapType)[keyof typeof MapType];

const PERCPU = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);

export const BPF_F_NO_PREALLOC = 1;
export const BPF_ANY = 0n;
export const BPF_NOEXIST = 1n;
export const BPF_EXIST = 2n;

export interface MapSpec<K, V> {
  type: number;
  key: Codec<K>;
  value: Codec<V>;
  maxEntries: number;
  flags?: number;
  name?: string;
}

/** A BPF map with typed keys and values. For per-CPU maps use `lookupPerCpu`/`dumpPerCpu`. */
export class BpfMap<K = Buffer, V = Buffer> extends BpfObject {
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name: string;
  readonly perCpu: boolean;
  /** Bytes one value occupies in the user-space view (per-CPU: round_up(size, 8) x possible CPUs). */
  readonly valueBytes: number;
  private readonly elem: MapElemAttr;

  constructor(
    readonly spec: MapSpec<K, V>,
    fd?: number,
  ) {
    super(
      fd ??
        mapCreate({
          mapType: spec.type,
          keySize: spec.key.size,
          valueSize: spec.value.size,
          maxEntries: spec.maxEntries,
          mapFlags: spec.flags ?? 0,
          name: spec.name,
        }),
    );
    this.type = spec.type;
    this.keySize = spec.key.size;
    this.valueSize = spec.value.size;
    this.maxEntries = spec.maxEntries;
    this.name = spec.name ?? '';
    this.perCpu = PERCPU.has(spec.type);
    this.valueBytes = this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * possibleCpus() : this.valueSize;
    this.elem = new MapElemAttr(this.fd, this.keySize, this.valueBytes);
  }

  /** Creates a map of raw bytes keys and values. */
  static raw(type: number, keySize: number, valueSize: number, maxEntries: number, name?: string, flags = 0): BpfMap<Buffer, Buffer> {
    return new BpfMap({ type, key: bytes(keySize), value: bytes(valueSize), maxEntries, name, flags });
  }

  private setKey(k: K): void {
    this.spec.key.encode(k, this.elem.key, 0);
  }

  lookup(k: K): V | undefined {
    this.setKey(k);
    if (!this.elem.lookup()) return undefined;
    return this.spec.value.decode(this.elem.value, 0);
  }

  /** Per-CPU value of `k`, one entry per possible CPU. */
  lookupPerCpu(k: K): V[] | undefined {
    this.setKey(k);
    if (!this.elem.lookup()) return undefined;
    return this.splitPerCpu(this.elem.value, 0);
  }

  private splitPerCpu(buf: Buffer, off: number): V[] {
    const stride = Math.ceil(this.valueSize / 8) * 8;
    const out: V[] = [];
    for (let c = 0, n = possibleCpus(); c < n; c++) out.push(this.spec.value.decode(buf, off + c * stride));
    return out;
  }

  update(k: K, v: V, flags = BPF_ANY): void {
    this.setKey(k);
    if (this.perCpu) {
      const stride = Math.ceil(this.valueSize / 8) * 8;
      for (let c = 0, n = possibleCpus(); c < n; c++) this.spec.value.encode(v, this.elem.value, c * stride);
    } else this.spec.value.encode(v, this.elem.value, 0);
    this.elem.update(flags);
  }

  delete(k: K): boolean {
    this.setKey(k);
    return this.elem.delete();
  }

  /** All keys, by get_next_key. */
  *keys(): IterableIterator<K> {
    let first = true;
    while (this.elem.nextKeyOf(first)) {
      first = false;
      this.elem.nextKey.copy(this.elem.key, 0, 0, this.keySize);
      yield this.spec.key.decode(this.elem.nextKey, 0);
    }
  }

  /** Every entry, by get_next_key + lookup (slow path; prefer `dump`). Entries deleted meanwhile are skipped. */
  *entries(): IterableIterator<[K, V]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /**
   * Every entry as raw key/value Buffers in as few syscalls as possible: BPF_MAP_LOOKUP_BATCH where the kernel and
   * map type support it, else a get_next_key walk. `andDelete` drains the map atomically per entry.
   */
  dumpRaw(andDelete = false, chunk = 1024): { keys: Buffer; values: Buffer; count: number } {
    const parts: { keys: Buffer; values: Buffer; count: number }[] = [];
    const batch = this.type === MapType.HASH || this.type === MapType.PERCPU_HASH || this.type === MapType.LRU_HASH || this.type === MapType.LRU_PERCPU_HASH || this.type === MapType.ARRAY || this.type === MapType.PERCPU_ARRAY;
    let supported = batch;
    if (batch) {
      const n = Math.max(1, Math.min(chunk, this.maxEntries));
      const cursorSize = Math.max(this.keySize, 8);
      let inBatch: Buffer | null = null;
      for (;;) {
        const keys = Buffer.alloc(n * this.keySize);
        const values = Buffer.alloc(n * this.valueBytes);
        const outBatch = Buffer.alloc(cursorSize);
        const r = mapLookupBatch(this.fd, inBatch, outBatch, keys, values, n, andDelete && this.type !== MapType.ARRAY && this.type !== MapType.PERCPU_ARRAY);
        if (r === null) {
          supported = false;
          break;
        }
        if (r.count) parts.push({ keys, values, count: r.count });
        if (r.done) break;
        inBatch = outBatch;
      }
    }
    if (!supported) {
      parts.length = 0;
      const ks: Buffer[] = [];
      const vs: Buffer[] = [];
      let first = true;
      while (this.elem.nextKeyOf(first)) {
        first = false;
        this.elem.nextKey.copy(this.elem.key, 0, 0, this.keySize);
        if (!this.elem.lookup()) continue;
        ks.push(Buffer.from(this.elem.key.subarray(0, this.keySize)));
        vs.push(Buffer.from(this.elem.value.subarray(0, this.valueBytes)));
      }
      if (andDelete) for (const k of ks) (k.copy(this.elem.key), this.elem.delete());
      return { keys: Buffer.concat(ks), values: Buffer.concat(vs), count: ks.length };
    }
    const count = parts.reduce((s, p) => s + p.count, 0);
    return {
      keys: Buffer.concat(parts.map((p) => p.keys.subarray(0, p.count * this.keySize))),
      values: Buffer.concat(parts.map((p) => p.values.subarray(0, p.count * this.valueBytes))),
      count,
    };
  }

  /** Every entry, decoded. */
  dump(andDelete = false): [K, V][] {
    const { keys, values, count } = this.dumpRaw(andDelete);
    const out: [K, V][] = [];
    for (let i = 0; i < count; i++) out.push([this.spec.key.decode(keys, i * this.keySize), this.spec.value.decode(values, i * this.valueBytes)]);
    return out;
  }

  /** Every entry of a per-CPU map, with one value per possible CPU. */
  dumpPerCpu(andDelete = false): [K, V[]][] {
    const { keys, values, count } = this.dumpRaw(andDelete);
    const out: [K, V[]][] = [];
    for (let i = 0; i < count; i++) out.push([this.spec.key.decode(keys, i * this.keySize), this.splitPerCpu(values, i * this.valueBytes)]);
    return out;
  }

  /** Deletes every entry (arrays: sets every value to zero). */
  clear(): void {
    if (this.type === MapType.ARRAY || this.type === MapType.PERCPU_ARRAY) {
      this.elem.value.fill(0);
      for (let i = 0; i < this.maxEntries; i++) {
        this.elem.key.writeUInt32LE(i, 0);
        this.elem.update();
      }
      return;
    }
    this.dumpRaw(true);
    // entries added while the batch ran are removed by a final walk
    for (const k of [...this.keys()]) this.delete(k);
  }

}
