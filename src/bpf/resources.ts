import { objGetInfo } from '../sys/bpf.js';
import { sysClose } from '../sys/libc.js';

/**
 * Everything kscope acquires from the kernel (fds, mappings, tracefs probe events) is registered here so that it is
 * released on normal exit, on SIGINT/SIGTERM and on uncaught errors — nothing is left behind.
 */
export interface Disposable {
  close(): void;
}

const live = new Set<Disposable>();
let installed = false;

/** Registers a resource for release at exit; returns it. */
export function track<T extends Disposable>(r: T): T {
  live.add(r);
  installExitCleanup();
  return r;
}

/** Forgets a resource (call from its close()). */
export function untrack(r: Disposable): void {
  live.delete(r);
}

/** Number of live resources (tests use it to assert nothing leaked). */
export function liveCount(): number {
  return live.size;
}

/** Releases every live resource, newest first (links before programs before maps). */
export function closeAll(): void {
  const all = [...live].reverse();
  for (const r of all) {
    try {
      r.close();
    } catch {
      // keep releasing the rest
    }
    live.delete(r);
  }
}

/**
 * Installs process hooks once: release everything on exit and on uncaught errors. SIGINT/SIGTERM get a default
 * handler only when the program has none of its own (the CLI installs its own to print summaries first).
 */
export function installExitCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', closeAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (process.listenerCount(sig) > 1) return; // someone else handles it and will exit
      closeAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** An owned file descriptor. */
export class Fd implements Disposable {
  private _fd: number;
  constructor(
    fd: number,
    private readonly closer: (fd: number) => void = sysClose,
  ) {
    this._fd = fd;
    track(this);
  }
  get fd(): number {
    if (this._fd < 0) throw new Error('use of a closed file descriptor');
    return this._fd;
  }
  get closed(): boolean {
    return this._fd < 0;
  }
  close(): void {
    if (this._fd < 0) return;
    this.closer(this._fd);
    this._fd = -1;
    untrack(this);
  }
}

/** A BPF object (map, program) owned through its fd: closed with it, identified by the kernel's id. */
export class BpfObject {
  readonly fd: number;
  private readonly owner: Fd;
  constructor(fd: number) {
    this.owner = new Fd(fd);
    this.fd = fd;
  }

  /** The kernel's id (the `id` field that bpf_map_info and bpf_prog_info both have at offset 4). */
  id(): number {
    const info = Buffer.alloc(256);
    objGetInfo(this.fd, info);
    return info.readUInt32LE(4);
  }

  get closed(): boolean {
    return this.owner.closed;
  }

  close(): void {
    this.owner.close();
  }
}
