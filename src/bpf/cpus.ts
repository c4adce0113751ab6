/** CPU sets from sysfs: per-CPU map values are sized by possible CPUs, per-CPU events opened on online ones. */
import { readFileSync } from 'node:fs';

function parseList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

let possible: number | undefined;
let online: number[] | undefined;

/** Number of possible CPUs (the per-CPU value count the kernel returns). */
export function possibleCpus(): number {
  return (possible ??= Math.max(...parseList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'))) + 1);
}

/** Online CPU ids. */
export function onlineCpus(): number[] {
  return (online ??= parseList(readFileSync('/sys/devices/system/cpu/online', 'utf8')));
}

export { parseList as parseCpuList };
