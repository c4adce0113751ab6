/**
 * BPF iterators (iter:task, iter:task_file, ...): a BPF_TRACE_ITER link, then each run() creates an iterator fd
 * (BPF_ITER_CREATE) and reads it to the end, which runs the program once per kernel object.
 */
import { readSync } from 'node:fs';
import { bpfCall, linkCreate } from '../../sys/bpf.js';
import { AttachType, type Program } from '../program.js';
import { Fd } from '../resources.js';
import { Link } from './link.js';

/** bpf(2) command creating a readable fd from an iterator link (not in src/sys's BPF_CMD table). */
const BPF_ITER_CREATE = 33;

/** An attached iterator program; run() iterates once over every object (task, open file, ...). */
export class IterLink extends Link {
  constructor(
    what: string,
    private readonly link: Fd,
  ) {
    super(what, [link]);
  }

  /** Runs the iteration to completion (the program's output goes wherever it writes, e.g. the ring buffer). */
  run(): void {
    const attr = Buffer.alloc(8);
    attr.writeUInt32LE(this.link.fd, 0);
    const fd = new Fd(bpfCall(BPF_ITER_CREATE, attr));
    try {
      const buf = Buffer.alloc(4096);
      while (readSync(fd.fd, buf) > 0);
    } finally {
      fd.close();
    }
  }
}

/** Attaches a program loaded with expected attach type BPF_TRACE_ITER and attach_btf_id of `bpf_iter_<name>`. */
export function attachIter(prog: Program, what: string): IterLink {
  return new IterLink(what, new Fd(linkCreate({ progFd: prog.fd, targetFd: 0, attachType: AttachType.TRACE_ITER })));
}
