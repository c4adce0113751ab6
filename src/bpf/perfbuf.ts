/**
 * Perf buffer consumer (PERF_EVENT_ARRAY + one BPF_OUTPUT perf event per CPU), the fallback for kernels without
 * ring buffers (< 5.8). Records that wrap the ring's end are linearised; LOST records are counted.
 */
import { PAGE_SIZE, pollReadable, PROT_READ, PROT_WRITE, type PollHandle } from '../sys/libc.js';
import { PERF_COUNT_SW, PERF_SAMPLE_RAW, PERF_TYPE, perfEventOpen } from '../sys/perf.js';
import { onlineCpus } from './cpus.js';
import { type BpfMap, MapType } from './map.js';
import { Mapping } from './mapping.js';
import { Fd, track, untrack } from './resources.js';
import type { RecordHandler } from './ringbuf.js';

const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;

interface CpuRing {
  cpu: number;
  fd: Fd;
  map: Mapping;
  head: BigUint64Array;
  tail: BigUint64Array;
  data: Buffer;
  poller?: PollHandle;
}

export interface PerfBufferOptions {
  /** data pages per CPU (power of two) */
  pages?: number;
  /** wake the reader every N records (1 = each; larger batches cost the traced process far less) */
  wakeupEvents?: number;
  /** drain every N ms as well (records below the wake-up threshold) */
  timerMs?: number;
}

export class PerfBufferReader {
  private readonly rings: CpuRing[] = [];
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** records the kernel dropped because a ring was full */
  lost = 0;
  delivered = 0;

  constructor(
    readonly map: BpfMap<unknown, unknown>,
    private readonly onRecord: RecordHandler,
    private readonly opts: PerfBufferOptions = {},
  ) {
    if (map.type !== MapType.PERF_EVENT_ARRAY) throw new Error('PerfBufferReader needs a PERF_EVENT_ARRAY map');
    const pages = opts.pages ?? 64;
    const key = Buffer.alloc(4);
    const val = Buffer.alloc(4);
    try {
      for (const cpu of onlineCpus()) {
        const fd = new Fd(
          perfEventOpen(
            { type: PERF_TYPE.SOFTWARE, config: BigInt(PERF_COUNT_SW.BPF_OUTPUT), sampleType: BigInt(PERF_SAMPLE_RAW), samplePeriod: 1n, wakeup: opts.wakeupEvents ?? 1 },
            { pid: -1, cpu },
            `perf buffer (cpu ${cpu})`,
          ),
        );
        const m = new Mapping(fd.fd, PAGE_SIZE * (pages + 1), PROT_READ | PROT_WRITE, 0, `perf buffer cpu ${cpu}`);
        const ab = m.buf.buffer;
        this.rings.push({
          cpu,
          fd,
          map: m,
          head: new BigUint64Array(ab, m.buf.byteOffset + 1024, 1),
          tail: new BigUint64Array(ab, m.buf.byteOffset + 1032, 1),
          data: m.buf.subarray(PAGE_SIZE),
        });
        key.writeUInt32LE(cpu);
        val.writeUInt32LE(fd.fd);
        (map as BpfMap<Buffer, Buffer>).update(key, val);
      }
    } catch (e) {
      this.close();
      throw e;
    }
    track(this);
  }

  private drainRing(r: CpuRing): number {
    const size = r.data.length;
    let tail = Number(r.tail[0]);
    const head = Number(r.head[0]);
    let n = 0;
    while (tail < head) {
      const off = tail % size;
      let rec: Buffer;
      const hsize = r.data.readUInt16LE((off + 6) % size) | 0;
      if (off + hsize <= size) rec = r.data.subarray(off, off + hsize);
      else rec = Buffer.concat([r.data.subarray(off), r.data.subarray(0, off + hsize - size)]);
      const type = rec.readUInt32LE(0);
      if (type === PERF_RECORD_SAMPLE) {
        const len = rec.readUInt32LE(8);
        this.onRecord(rec.subarray(12, 12 + len));
        n++;
      } else if (type === PERF_RECORD_LOST) {
        this.lost += Number(rec.readBigUInt64LE(16));
      }
      tail += hsize;
    }
    r.tail[0] = BigInt(tail);
    return n;
  }

  /** Consumes everything available on every CPU. */
  drain(): number {
    if (this.closed) return 0;
    let n = 0;
    for (const r of this.rings) n += this.drainRing(r);
    this.delivered += n;
    return n;
  }

  start(): void {
    // perf fds report readiness only after a kernel wake-up: drain the ring fully on each
    for (const r of this.rings) r.poller = pollReadable(r.fd.fd, () => (this.delivered += this.drainRing(r)));
    if (this.opts.timerMs) this.timer = setInterval(() => this.drain(), this.opts.timerMs);
  }

  stop(): void {
    for (const r of this.rings) (r.poller?.close(), (r.poller = undefined));
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    for (const r of this.rings) (r.map.close(), r.fd.close());
    untrack(this);
  }
}
