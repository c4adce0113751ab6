/** Test helper: the running kernel's version, for tests that name the kernel version introducing a feature. */
import { release } from 'node:os';

const [maj, min] = release().split(/[.-]/).map(Number) as [number, number];

export function kernelAtLeast(major: number, minor: number): boolean {
  return maj > major || (maj === major && min >= minor);
}

/** A skip reason when the kernel is older than major.minor, else false (for `test(name, { skip }, fn)`). */
export function needsKernel(major: number, minor: number, what: string): string | false {
  return kernelAtLeast(major, minor) ? false : `${what} needs Linux ${major}.${minor}+ (running ${release()})`;
}
