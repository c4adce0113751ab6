/**
 * Named errors for failed kernel calls. Each carries the operation, the errno name and a hint a person can act on.
 */
import { errnoName, strerror } from './libc.js';

/** An error a person can act on: the CLI prints `message` (and `hint`) in one line, never a stack trace. */
export class KscopeError extends Error {
  override name = 'KscopeError';
  constructor(
    message: string,
    public readonly hint?: string,
  ) {
    super(message);
  }
}

/** A command line kscope cannot run (exit status 2): the message says what is wrong, the hint how to ask for help. */
export class UsageError extends KscopeError {
  override name = 'UsageError';
}

/** A failed system call. */
export class SysError extends KscopeError {
  override name = 'SysError';
  readonly code: string;
  constructor(
    public readonly op: string,
    public readonly errno: number,
    hint?: string,
    detail?: string,
  ) {
    const code = errnoName(errno);
    super(`${op}: ${code} (${strerror(errno)})${detail ? `: ${detail}` : ''}`, hint ?? defaultHint(op, code));
    this.code = code;
  }
}

function defaultHint(op: string, code: string): string | undefined {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      if (typeof process.getuid === 'function' && process.getuid() !== 0)
        return 'run as root (sudo), or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8)';
      return `the kernel refused ${op} although we are root: a security policy (lockdown, LSM, or a platform restriction) blocks it`;
    case 'ENOSPC':
      return op.startsWith('BPF_PROG_LOAD') ? 'the verifier log buffer was too small' : 'a map is full, or a limit on the number of objects was reached';
    case 'E2BIG':
      return 'the request is larger than this kernel accepts (program or map too big, or a newer kernel interface than this kernel has)';
    case 'EINVAL':
      return 'this kernel does not accept these parameters: the feature may be missing on this kernel version';
    case 'ENOENT':
      return undefined;
    case 'EMFILE':
      return 'too many open files: raise the limit with `ulimit -n`';
    case 'ENOMEM':
      return 'out of memory, or the locked-memory limit is too low (`ulimit -l unlimited` on kernels before 5.11)';
    case 'ENOSYS':
      return 'this kernel was built without this system call (CONFIG_BPF_SYSCALL / CONFIG_PERF_EVENTS)';
    case 'EOPNOTSUPP':
    case 'ENOTSUP':
      return 'this kernel does not support this operation';
    default:
      return undefined;
  }
}

/** Throws a SysError when r is negative (-errno); otherwise returns r. */
export function check(op: string, r: number, hint?: string): number {
  if (r < 0) throw new SysError(op, -r, hint);
  return r;
}
