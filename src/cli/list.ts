/** `kscope -l [PATTERN]`: tracepoints and software events, with bpftrace's wildcards. */
import { allEvents, globToRegExp } from '../btf/tracefs.js';
import { SOFTWARE_EVENTS } from '../lang/probes.js';

export function listProbes(pattern: string): string[] {
  const re = globToRegExp(pattern.includes(':') ? pattern : `*${pattern}*`);
  const out: string[] = [];
  for (const e of allEvents()) {
    const name = `tracepoint:${e.system}:${e.name}`;
    if (re.test(name)) out.push(name);
  }
  for (const s of SOFTWARE_EVENTS) {
    const name = `software:${s}:`;
    if (re.test(name)) out.push(name);
  }
  return out;
}
