/** A shared memory mapping of a BPF map or perf event fd, unmapped on close (views must not outlive it). */
import { SysError } from '../sys/errors.js';
import { sysMmap, sysMunmap, viewOf } from '../sys/libc.js';
import { track, untrack } from './resources.js';

export class Mapping {
  readonly addr: bigint;
  readonly buf: Buffer;
  private open = true;
  constructor(
    fd: number,
    readonly length: number,
    prot: number,
    offset: number,
    what: string,
  ) {
    const a = sysMmap(length, prot, fd, offset);
    if (typeof a === 'number') throw new SysError(`mmap(${what})`, -a);
    this.addr = a;
    this.buf = Buffer.from(viewOf(a, length));
    track(this);
  }
  close(): void {
    if (!this.open) return;
    this.open = false;
    sysMunmap(this.addr, this.length);
    untrack(this);
  }
}
