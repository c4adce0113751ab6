/**
 * A Link is an attached program: closing it detaches. Links built on perf events (tracepoints, kprobes, uprobes,
 * sampling) use a BPF perf link where the kernel has one (5.15+) and PERF_EVENT_IOC_SET_BPF otherwise.
 */
import { linkCreate } from '../../sys/bpf.js';
import { SysError } from '../../sys/errors.js';
import { PERF_IOC, perfIoctl } from '../../sys/perf.js';
import { AttachType, type Program } from '../program.js';
import { Fd, track, untrack } from '../resources.js';

export class Link {
  private closed = false;
  constructor(
    /** what is attached, for messages and -v (e.g. "tracepoint:syscalls:sys_enter_openat") */
    readonly target: string,
    private readonly fds: Fd[],
    private readonly cleanup?: () => void,
  ) {
    track(this);
  }

  /** The kernel's perf/link fds of this attachment. */
  get count(): number {
    return this.fds.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // detach (link/perf fds) first, then remove what they referred to (e.g. a legacy tracefs probe event)
    for (const f of [...this.fds].reverse()) f.close();
    try {
      this.cleanup?.();
    } finally {
      untrack(this);
    }
  }
}

let perfLinkWorks: boolean | undefined;

/**
 * Attaches `prog` to an open perf event fd (taking ownership of it). Returns the fds that keep it attached.
 */
export function attachToPerfEvent(prog: Program, perfFd: number, what: string): Fd[] {
  const pfd = new Fd(perfFd);
  if (perfLinkWorks !== false) {
    try {
      const l = linkCreate({ progFd: prog.fd, targetFd: perfFd, attachType: AttachType.PERF_EVENT });
      perfLinkWorks = true;
      const lfd = new Fd(l);
      perfIoctl(perfFd, PERF_IOC.ENABLE, 0, `${what}: PERF_EVENT_IOC_ENABLE`);
      return [pfd, lfd];
    } catch (e) {
      // kernels before 5.15 have no perf link: fall back to the ioctl, and remember
      if (!(e instanceof SysError) || !['EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'errno 524'].includes(e.code) || perfLinkWorks) {
        pfd.close();
        throw e;
      }
      perfLinkWorks = false;
    }
  }
  try {
    perfIoctl(perfFd, PERF_IOC.SET_BPF, prog.fd, `${what}: PERF_EVENT_IOC_SET_BPF`);
    perfIoctl(perfFd, PERF_IOC.ENABLE, 0, `${what}: PERF_EVENT_IOC_ENABLE`);
  } catch (e) {
    pfd.close();
    throw e;
  }
  return [pfd];
}
