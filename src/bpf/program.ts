/**
 * Loading programs. First without a log (fast path); on failure once more with the verifier log, sized from
 * log_true_size where the kernel reports it. A rejection throws a VerifierError carrying the log, the errno and the
 * index of the instruction the verifier stopped at.
 */
import { btfLoad, progLoad } from '../sys/bpf.js';
import { KscopeError, SysError } from '../sys/errors.js';
import { E, errnoName, strerror, sysClose } from '../sys/libc.js';
import { BpfObject } from './resources.js';

const EAGAIN = E.EAGAIN ?? 11;

export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  TRACEPOINT: 5,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
  TRACING: 26,
  LSM: 29,
} as const;

export const AttachType = {
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  TRACE_UPROBE_MULTI: 48,
} as const;

export interface ProgramSpec {
  type: number;
  /** encoded instructions (8 bytes a slot) */
  insns: Buffer;
  name?: string;
  license?: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  attachBtfObjFd?: number;
  /** verifier log level on the retry (1: errors and states at branches; 2: every instruction) */
  logLevel?: number;
  /** always load with a log, to report verifier statistics (`-v`) */
  wantLog?: boolean;
  /**
   * Programs with subprograms used as callbacks: a raw BTF blob describing every function and the bpf_func_info
   * records (u32 insn_off, u32 type_id) naming each one's first instruction (see src/btf/writer.ts).
   */
  btf?: Buffer;
  funcInfo?: Buffer;
}

/** Attempts before a load still interrupted by signals is reported as such (not as a rejection). */
export const INTERRUPTED_TRIES = 1000;

/**
 * Runs `load` again while the kernel returns EAGAIN: the verifier gives up when a signal is pending for the loading
 * thread (SIGCHLD, SIGWINCH, a profiler's SIGPROF every 100 µs, ...), whatever the program. libbpf tries 5 times; a
 * steady timer signal needs more, and a failed attempt costs only the verifier's time so far.
 */
export function loadRetryingSignals<R extends { fd: number }>(load: () => R, tries = INTERRUPTED_TRIES): R {
  let r = load();
  for (let i = 1; i < tries && r.fd === -EAGAIN; i++) r = load();
  return r;
}

/** The verifier (or an earlier check) refused a program. */
export class VerifierError extends KscopeError {
  override name = 'VerifierError';
  constructor(
    readonly progName: string,
    readonly errno: number,
    readonly log: string,
    /** slot index of the failing instruction, if the log names one */
    readonly insnIndex: number | undefined,
  ) {
    const reason = VerifierError.reason(log);
    super(
      `loading program ${progName || '(anonymous)'} failed: ${errnoName(errno)} (${strerror(errno)})${reason ? `: ${reason}` : ''}`,
      log ? undefined : errno === 1 ? 'refused before verification (EPERM with an empty verifier log): blocked by kernel policy or missing capability' : undefined,
    );
  }

  /** The verifier's explanation: the last non-statistics line(s) of the log. */
  static reason(log: string): string {
    const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
    const stat = lines.findIndex((l) => l.startsWith('processed ') || l.startsWith('verification time'));
    const body = stat >= 0 ? lines.slice(0, stat) : lines;
    return body.slice(-1)[0] ?? '';
  }

  /** The instruction index at which the verifier stopped: the last "N: (op) ..." line before the reason. */
  static failingInsn(log: string): number | undefined {
    let last: number | undefined;
    for (const m of log.matchAll(/^(\d+): \([0-9a-f]{2}\)/gm)) last = Number(m[1]);
    return last;
  }
}

export interface VerifierStats {
  processed: number;
  log: string;
}

/** A loaded BPF program. */
export class Program extends BpfObject {
  /** verifier log from a load with wantLog (statistics for -v) */
  readonly log: string;

  private constructor(
    fd: number,
    readonly spec: ProgramSpec,
    log: string,
  ) {
    super(fd);
    this.log = log;
  }

  /** Loads a program or throws VerifierError (with the verifier's log) / SysError. */
  static load(spec: ProgramSpec): Program {
    if (!spec.btf) return Program.loadWith(spec, undefined);
    const b = btfLoad(spec.btf);
    if (b.fd < 0) {
      const log = btfLoad(spec.btf, 64 * 1024).log.trim().split('\n').slice(-1)[0];
      throw new KscopeError(`loading the BTF of program ${spec.name || '(anonymous)'} failed: ${errnoName(-b.fd)} (${strerror(-b.fd)})${log ? `: ${log}` : ''}`);
    }
    try {
      return Program.loadWith(spec, b.fd);
    } finally {
      sysClose(b.fd); // the program keeps its own reference
    }
  }

  private static loadWith(spec: ProgramSpec, btfFd: number | undefined): Program {
    const base = {
      progType: spec.type,
      insns: spec.insns,
      license: spec.license ?? 'GPL',
      name: spec.name,
      expectedAttachType: spec.expectedAttachType,
      attachBtfId: spec.attachBtfId,
      attachBtfObjFd: spec.attachBtfObjFd,
      progBtfFd: btfFd,
      funcInfo: spec.funcInfo,
    };
    const load = (a: Parameters<typeof progLoad>[0]) => {
      const r = loadRetryingSignals(() => progLoad(a));
      if (r.fd === -EAGAIN) throw new KscopeError(`loading program ${spec.name || '(anonymous)'} was interrupted by signals ${INTERRUPTED_TRIES} times (EAGAIN)`, 'something is signalling kscope continuously (a profiler timer?); try again without it');
      return r;
    };
    if (!spec.wantLog) {
      const r = load(base);
      if (r.fd >= 0) return new Program(r.fd, spec, '');
    }
    let size = 256 * 1024;
    for (let attempt = 0; attempt < 4; attempt++) {
      const logBuf = Buffer.alloc(size);
      const r = load({ ...base, logLevel: spec.logLevel ?? 1, logBuf });
      const log = logBuf.toString('utf8', 0, Math.max(0, logBuf.indexOf(0) < 0 ? size : logBuf.indexOf(0)));
      if (r.fd >= 0) return new Program(r.fd, spec, log);
      const errno = -r.fd;
      if (errnoName(errno) === 'ENOSPC' && size < 1 << 30) {
        size = r.logTrueSize > size ? r.logTrueSize + 1 : size * 8;
        continue;
      }
      throw new VerifierError(spec.name ?? '', errno, log, VerifierError.failingInsn(log));
    }
    throw new SysError('BPF_PROG_LOAD', 28);
  }

  /** Verifier statistics from the log of a load with wantLog. */
  stats(): VerifierStats | undefined {
    const m = /processed (\d+) insns/.exec(this.log);
    return m ? { processed: Number(m[1]), log: this.log } : undefined;
  }

}
