/** Test helper for the probe link tests: what a probe on vfs_read sees of this process's known reads. */
import { BpfMap, MapType } from '../../src/bpf/map.js';
import { u64 } from '../../src/bpf/codec.js';
import { countCtxValues, readKnownFile } from '../vm/programs.js';
import { leakCheck } from './leaks.js';

/**
 * Attaches (through `attach`) a program counting the values of the u64 context slot at `off` in this process, runs
 * readKnownFile, then closes everything and checks nothing leaked. Resolves with how often each value was seen.
 */
export async function vfsReadValues(off: number, attach: (insns: Buffer) => { prog: { close(): void }; link: { close(): void } }): Promise<Map<bigint, bigint>> {
  const check = leakCheck();
  const hist = new BpfMap({ type: MapType.HASH, key: u64, value: u64, maxEntries: 256 });
  const { prog, link } = attach(countCtxValues(hist, process.pid, off));
  readKnownFile();
  const seen = new Map(hist.dump());
  link.close();
  prog.close();
  hist.close();
  await check();
  return seen;
}
