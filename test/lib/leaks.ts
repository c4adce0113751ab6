/** Test helper: asserts that a test left no BPF program, link, map, perf event or tracefs probe event behind. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { BPF_CMD, objIds } from '../../src/sys/bpf.js';
import { liveCount } from '../../src/bpf/resources.js';

export interface KernelObjects {
  progs: number;
  links: number;
  maps: number;
}

/** System-wide counts of BPF objects (other processes' included). */
export function kernelObjects(): KernelObjects {
  return {
    progs: objIds(BPF_CMD.PROG_GET_NEXT_ID).length,
    links: objIds(BPF_CMD.LINK_GET_NEXT_ID).length,
    maps: objIds(BPF_CMD.MAP_GET_NEXT_ID).length,
  };
}

/** Ids of the BPF programs that exist now. */
export function progIds(): Set<number> {
  return new Set(objIds(BPF_CMD.PROG_GET_NEXT_ID));
}

/** Probe events in kprobe_events/uprobe_events created by process `pid` (named kscope_<pid>_<n>). */
export function probeEventsOf(pid: number): string[] {
  const out: string[] = [];
  for (const f of ['/sys/kernel/tracing/kprobe_events', '/sys/kernel/tracing/uprobe_events'])
    if (existsSync(f)) out.push(...readFileSync(f, 'utf8').split('\n').filter((l) => l.includes(`kscope_${pid}_`)));
  return out;
}

/** This process's open BPF and perf event fds, as "fd -> anon_inode:bpf-map" lines. */
function kernelFds(): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd readdir itself used
    }
    if (/^anon_inode:(bpf|\[perf_event\])/.test(target)) out.add(`${fd} -> ${target}`);
  }
  return out;
}

/**
 * Records this process's kernel handles now; the returned check asserts they are back to that. BPF objects live
 * exactly as long as some fd refers to them (kscope pins nothing), so a test that closed every BPF and perf fd it
 * opened has left nothing in the kernel. This is exact even while other processes load and free BPF objects, which
 * system-wide counts are not.
 */
export function leakCheck(): () => Promise<void> {
  const before = kernelFds();
  return async () => {
    assert.equal(liveCount(), 0, 'kscope resources still open');
    assert.deepEqual(probeEventsOf(process.pid), [], 'tracefs probe events left behind');
    assert.deepEqual([...kernelFds()].filter((f) => !before.has(f)), [], 'BPF or perf event fds left open');
  };
}
