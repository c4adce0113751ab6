/**
 * BTF-typed attachments of BPF_PROG_TYPE_TRACING programs: tp_btf (typed raw tracepoints), fentry and fexit.
 * The target is fixed at load time by attach_btf_id; attaching needs no name.
 */
import { Btf } from '../../btf/btf.js';
import { rawTracepointOpen } from '../../sys/bpf.js';
import { KscopeError } from '../../sys/errors.js';
import { feature } from '../features.js';
import { AttachType, Program, ProgType } from '../program.js';
import { Fd } from '../resources.js';
import { Link } from './link.js';

export function attachTracing(prog: Program, what: string): Link {
  return new Link(what, [new Fd(rawTracepointOpen(prog.fd, null))]);
}

export interface TrampolineSpec {
  /** kernel function name */
  func: string;
  exit?: boolean;
  insns: Buffer;
  name?: string;
}

/**
 * Loads and attaches an fentry/fexit program on a kernel function. Where the kernel has no BPF trampolines (or a
 * policy refuses them) this fails with one clear "not supported here" line instead of a verifier error.
 */
export function attachTrampoline(s: TrampolineSpec): { prog: Program; link: Link } {
  const kind = s.exit ? 'fexit' : 'fentry';
  const what = `${kind}:${s.func}`;
  const f = feature(kind);
  if (!f.supported) throw new KscopeError(`${what}: ${kind} is not supported here: ${f.detail}`);
  const id = Btf.vmlinux().findFunc(s.func);
  if (id === undefined) throw new KscopeError(`${what}: no kernel function ${s.func} in BTF`, 'list kernel functions with: kscope -l "kfunc:*"');
  const prog = Program.load({
    type: ProgType.TRACING,
    insns: s.insns,
    name: s.name ?? s.func,
    expectedAttachType: s.exit ? AttachType.TRACE_FEXIT : AttachType.TRACE_FENTRY,
    attachBtfId: id,
  });
  try {
    return { prog, link: attachTracing(prog, what) };
  } catch (e) {
    prog.close();
    throw e;
  }
}
