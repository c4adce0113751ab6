/**
 * BPF ring buffer consumer over mmap: zero-copy record views, 64-bit positions, BUSY/DISCARD bits. Woken by epoll
 * on the map fd with coalescing (one drain per `coalesceMs` however many wake-ups), plus an optional timer for
 * programs that submit with BPF_RB_NO_WAKEUP below a watermark.
 */
import { PAGE_SIZE, pollReadable, PROT_READ, PROT_WRITE, type PollHandle } from '../sys/libc.js';
import { type BpfMap, MapType } from './map.js';
import { Mapping } from './mapping.js';
import { track, untrack } from './resources.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;

/** Called per record with a view that is valid only during the call (copy what you keep). */
export type RecordHandler = (data: Buffer) => void;

export interface RingOptions {
  /** delay between a wake-up and the drain, batching records (ms; 0 = drain at once) */
  coalesceMs?: number;
  /** drain every N ms regardless of wake-ups (for BPF_RB_NO_WAKEUP producers); 0 = off */
  timerMs?: number;
}

export class RingBufferReader {
  readonly size: number;
  private readonly consumer: Mapping;
  private readonly producer: Mapping;
  private readonly cons: BigUint64Array;
  private readonly prod: BigUint64Array;
  private readonly data: Buffer;
  private poller?: PollHandle;
  private timer?: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  private closed = false;
  /** records delivered so far */
  delivered = 0;

  constructor(
    readonly map: BpfMap<unknown, unknown>,
    private readonly onRecord: RecordHandler,
    private readonly opts: RingOptions = {},
  ) {
    if (map.type !== MapType.RINGBUF) throw new Error('RingBufferReader needs a RINGBUF map');
    this.size = map.maxEntries;
    this.consumer = new Mapping(map.fd, PAGE_SIZE, PROT_READ | PROT_WRITE, 0, 'ringbuf consumer page');
    try {
      this.producer = new Mapping(map.fd, PAGE_SIZE + 2 * this.size, PROT_READ, PAGE_SIZE, 'ringbuf data');
    } catch (e) {
      this.consumer.close();
      throw e;
    }
    this.cons = new BigUint64Array(this.consumer.buf.buffer, this.consumer.buf.byteOffset, 1);
    this.prod = new BigUint64Array(this.producer.buf.buffer, this.producer.buf.byteOffset, 1);
    // data is mapped twice back to back: a record never needs linearising
    this.data = this.producer.buf.subarray(PAGE_SIZE);
    track(this);
  }

  /** Bytes written by producers and not yet consumed. */
  available(): number {
    return Number(this.prod[0]! - this.cons[0]!);
  }

  /** Consumes every complete record now available; returns how many were delivered. */
  drain(): number {
    if (this.closed) return 0;
    let n = 0;
    let cons = Number(this.cons[0]);
    outer: for (;;) {
      const prod = Number(this.prod[0]);
      if (cons >= prod) break;
      while (cons < prod) {
        const off = cons % this.size;
        const hdr = this.data.readUInt32LE(off);
        if (hdr & BUSY) break outer; // the producer has not committed this record yet
        const len = hdr & 0x3fffffff;
        if (!(hdr & DISCARD)) {
          this.onRecord(this.data.subarray(off + HDR, off + HDR + len));
          n++;
        }
        cons += Math.ceil((len + HDR) / 8) * 8;
      }
      this.cons[0] = BigInt(cons);
    }
    this.cons[0] = BigInt(cons);
    this.delivered += n;
    return n;
  }

  /** Starts consuming from the event loop. */
  start(): void {
    const co = this.opts.coalesceMs ?? 1;
    const onReady = () => {
      if (co <= 0) return void this.drain();
      // level-triggered: stop polling until the drain, or epoll would fire continuously meanwhile
      this.poller?.stop();
      this.pending ??= setTimeout(() => {
        this.pending = undefined;
        this.drain();
        if (!this.closed) this.poller?.start({ readable: true }, onReady);
      }, co);
    };
    this.poller = pollReadable(this.map.fd, onReady);
    if (this.opts.timerMs) this.timer = setInterval(() => this.drain(), this.opts.timerMs);
  }

  /** Stops event-loop consumption (a final drain() is the caller's choice). */
  stop(): void {
    this.poller?.close();
    this.poller = undefined;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.timer = this.pending = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.closed = true;
    this.producer.close();
    this.consumer.close();
    untrack(this);
  }
}
