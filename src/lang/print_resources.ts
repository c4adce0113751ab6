/**
 * `-d`, after the AST: what compilation decided, as text — bpftrace prints its resource analysis and LLVM IR here;
 * kscope goes from the checked AST straight to BPF, so this is its IR-level view: each program (attach target,
 * program type, hook, instruction count), each map (kind, BPF map type, key/value sizes, bound), the per-CPU
 * scratch, and the records the programs send to user space. `-v` adds the instructions themselves.
 */
import { MapType } from '../bpf/map.js';
import { AttachType, ProgType } from '../bpf/program.js';
import type { Compiled } from './codegen.js';
import { typeName } from './types.js';

const nameOf = (table: Record<string, number>, id: number | undefined): string =>
  id === undefined ? '' : (Object.entries(table).find(([, v]) => v === id)?.[0] ?? String(id));

/** The compiled program's resources, one indented block per kind. */
export function printResources(c: Compiled): string {
  const out: string[] = ['programs'];
  for (const p of c.probes) {
    const hook = [nameOf(ProgType, p.progType), nameOf(AttachType, p.expectedAttachType)].filter(Boolean).join('/');
    out.push(`  ${p.expanded.name}: ${hook}, ${p.asm.pc} insns${p.attachBtfId !== undefined ? `, btf id ${p.attachBtfId}` : ''}`);
  }
  out.push('maps');
  for (const m of c.maps.values()) {
    const what = m.info.kind === 'value' ? typeName(m.info.value) : m.info.kind;
    const key = m.info.key ? `[${typeName(m.info.key)}]` : '';
    out.push(`  ${m.info.name}${key}: ${what}; ${nameOf(MapType, m.type)} key ${m.keySize} B, value ${m.valueSize} B, max ${m.info.maxEntries}`);
  }
  if (c.heap) out.push(`  scratch: PERCPU_ARRAY, ${c.heapSize} B per CPU`);
  const records = c.events.map((e, id) => `  ${id}: ${e.kind}${e.kind === 'printf' ? ` ${JSON.stringify(e.text)} (${e.size} B: ${e.args.map((a) => `${typeName(a.ty)}@${a.off}`).join(', ') || 'no args'})` : 'map' in e ? ` ${e.map}` : ''}`);
  if (records.length) out.push('records (ring buffer)', ...records);
  return out.join('\n') + '\n';
}
