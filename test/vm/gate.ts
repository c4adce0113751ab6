/**
 * Kernel-gated tests: `needs(...features)` gives a skip reason when this kernel lacks a feature, so the test skips
 * visibly on a development machine. Inside the test VM (test/vm/run sets KSCOPE_VM to the guest kernel's release)
 * it never skips: every kernel in the matrix must have what these tests need, and a missing feature fails the test.
 * A test file importing this module is part of `npm run test:vm` (see test/vm/README.md).
 */
import { release } from 'node:os';
import { feature, type FeatureName } from '../../src/bpf/features.js';

/** The guest kernel release when running inside the test VM, else undefined. */
export const inVm: string | undefined = process.env.KSCOPE_VM || undefined;

/** A skip reason naming the missing features, or false (always false in the VM). For `test(name, { skip }, fn)`. */
export function needs(...names: FeatureName[]): string | false {
  if (inVm) return false;
  const missing = names.map(feature).filter((f) => !f.supported);
  return missing.length ? `needs ${missing.map((f) => `${f.name} (${f.detail})`).join(', ')}; runs in npm run test:vm (stock kernels), not here on ${release()}` : false;
}
