/** rawtracepoint:<name> — BPF_PROG_TYPE_RAW_TRACEPOINT attached by name; the context is the u64 args[]. */
import { rawTracepointOpen } from '../../sys/bpf.js';
import type { Program } from '../program.js';
import { Fd } from '../resources.js';
import { Link } from './link.js';

export function attachRawTracepoint(prog: Program, name: string): Link {
  return new Link(`rawtracepoint:${name}`, [new Fd(rawTracepointOpen(prog.fd, name))]);
}
