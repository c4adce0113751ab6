/**
 * BTF-typed attachments of BPF_PROG_TYPE_TRACING programs: tp_btf (typed raw tracepoints), fentry and fexit.
 * The target was fixed at load time by attach_btf_id; attaching needs no name.
 */
import { rawTracepointOpen } from '../../sys/bpf.js';
import type { Program } from '../program.js';
import { Fd } from '../resources.js';
import { Link } from './link.js';

export function attachTracing(prog: Program, what: string): Link {
  return new Link(what, [new Fd(rawTracepointOpen(prog.fd, null))]);
}
