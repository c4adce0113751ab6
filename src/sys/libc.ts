/**
 * The C library calls kscope makes, bound through koffi. Everything that talks to the kernel goes through here.
 *
 * Pitfalls handled here (see research notes): pointers come back as BigInt; errno must be read right after the
 * failing call; a Buffer passed for `void *` is passed zero-copy, so callers keep pointees alive until return.
 */
import koffi from 'koffi';

const lib = koffi.load('libc.so.6');

/** Syscall numbers for x86_64 (the only architecture the fixed-prototype binding is used on). */
export const SYS = {
  bpf: 321,
  perf_event_open: 298,
  ioctl: 16,
  getpid: 39,
  gettid: 186,
} as const;

// glibc's x86-64 syscall() is an assembly stub that only moves registers, so fixed prototypes are safe there and
// ~20% cheaper than the variadic form (measured). Other architectures use the variadic form.
const fixed = process.arch === 'x64';
const syscall3 = fixed
  ? lib.func('long syscall(long nr, long a, void *b, unsigned long c)')
  : null;
const syscallV = lib.func('long syscall(long nr, ...)');
// the same with the attr as a plain address: skips koffi's Buffer-to-pointer conversion on hot paths (~150 ns)
const syscall3n = fixed ? lib.func('long syscall(long nr, long a, unsigned long b, unsigned long c)') : null;
const syscall5 = fixed
  ? lib.func('long syscall(long nr, void *a, int b, int c, int d, unsigned long e)')
  : null;

const c_close = lib.func('int close(int fd)');
const c_ioctl = lib.func('int ioctl(int fd, unsigned long req, unsigned long arg)');
const c_mmap = lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)');
const c_munmap = lib.func('int munmap(void *addr, size_t len)');
const c_strerror = lib.func('const char *strerror(int errnum)');
const c_sysconf = lib.func('long sysconf(int name)');

/** Result of a raw call: a non-negative value, or -errno. */
export function errno(): number {
  return koffi.errno();
}

/** bpf(cmd, attr, size). Returns the result or -errno. */
export function sysBpf(cmd: number, attr: Buffer, size: number): number {
  const r = syscall3 ? (syscall3(SYS.bpf, cmd, attr, size) as number) : (syscallV(SYS.bpf, 'int', cmd, 'void *', attr, 'uint', size) as number);
  return r < 0 ? -koffi.errno() : r;
}

/**
 * bpf(cmd, attr, size) with `attr` given by address: for long-lived attr Buffers whose owner keeps them alive (map
 * element operations). Returns the result or -errno.
 */
export function sysBpfAt(cmd: number, attr: number, size: number): number {
  const r = syscall3n ? (syscall3n(SYS.bpf, cmd, attr, size) as number) : (syscallV(SYS.bpf, 'int', cmd, 'unsigned long', attr, 'uint', size) as number);
  return r < 0 ? -koffi.errno() : r;
}

/** perf_event_open(attr, pid, cpu, group_fd, flags). Returns the fd or -errno. */
export function sysPerfEventOpen(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): number {
  const r = syscall5
    ? (syscall5(SYS.perf_event_open, attr, pid, cpu, groupFd, flags) as number)
    : (syscallV(SYS.perf_event_open, 'void *', attr, 'int', pid, 'int', cpu, 'int', groupFd, 'ulong', flags) as number);
  return r < 0 ? -koffi.errno() : r;
}

/** ioctl(fd, req, arg) with an integer argument. Returns the result or -errno. */
export function sysIoctl(fd: number, req: number, arg: number): number {
  const r = c_ioctl(fd, req, arg) as number;
  return r < 0 ? -koffi.errno() : r;
}

/** close(fd). Returns 0 or -errno. */
export function sysClose(fd: number): number {
  const r = c_close(fd) as number;
  return r < 0 ? -koffi.errno() : r;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** mmap(NULL, len, prot, MAP_SHARED, fd, off). Returns the address or -errno (as a number). */
export function sysMmap(len: number, prot: number, fd: number, off: number): bigint | number {
  const p = c_mmap(null, len, prot, MAP_SHARED, fd, off) as bigint;
  if (p === MAP_FAILED || p === null) return -koffi.errno();
  return p;
}

export function sysMunmap(addr: bigint, len: number): number {
  const r = c_munmap(addr, len) as number;
  return r < 0 ? -koffi.errno() : r;
}

/** An ArrayBuffer over `len` bytes at `addr`, owned by nobody: access after munmap kills the process. */
export function viewOf(addr: bigint, len: number): ArrayBuffer {
  return koffi.view(addr, len);
}

/** The address of a Buffer's first byte (respects byteOffset). Does NOT keep the Buffer alive. */
export function addressOf(buf: Uint8Array): bigint {
  return koffi.address(buf) as bigint;
}

export function strerror(e: number): string {
  return c_strerror(e) as string;
}

const _SC_PAGESIZE = 30;
export const PAGE_SIZE: number = c_sysconf(_SC_PAGESIZE) as number;

/** Errno names by number, from koffi's table of the platform's values. */
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(koffi.os.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
export function errnoName(e: number): string {
  return errnoNames.get(e) ?? `errno ${e}`;
}
export const E: Record<string, number> = koffi.os.errno;

export interface PollEvents {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}
export interface PollHandle {
  start(opts: { readable: boolean }, cb: () => void): void;
  close(): void;
  unref(): void;
  ref(): void;
  stop(): void;
}

/** Watches fd for readability through libuv (epoll). The callback runs on the JS thread. */
export function pollReadable(fd: number, cb: () => void): PollHandle {
  // koffi.node.poll's callback receives (status, events) despite its typings declaring (events).
  const h = (koffi as unknown as { node: { poll(fd: number, opts: object, cb: (...a: unknown[]) => void): PollHandle } }).node.poll(
    fd,
    { readable: true },
    () => cb(),
  );
  return h;
}
