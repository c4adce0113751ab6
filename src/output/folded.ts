/**
 * Folded stacks (`comm;root;...;leaf count`), the input format of flamegraph.pl, as BCC `profile -f`,
 * `offcputime -f` and `stackcount -f` print them.
 */

/** One aggregated stack: frames are given leaf first (as a stack walk returns them). */
export interface FoldedSample {
  comm: string;
  /** User frames, leaf first; empty or omitted when not collected. Use `[Missed User Stack]` for a failed walk. */
  user?: string[];
  /** Kernel frames, leaf first; empty or omitted when not collected. Use `[Missed Kernel Stack]` for a failed walk. */
  kernel?: string[];
  /** Put `-` between the user and the kernel part (BCC `-d` when both stacks exist). */
  delimiter?: boolean;
  /** Append `_[k]` to kernel frames (profile `-a`). */
  annotateKernel?: boolean;
  count: number | bigint;
}

/** One folded line: comm, user frames root first, optional `-`, kernel frames root first, then the count. */
export function foldedLine(s: FoldedSample): string {
  const user = [...(s.user ?? [])].reverse();
  const kernel = [...(s.kernel ?? [])].reverse().map((f) => (s.annotateKernel ? `${f}_[k]` : f));
  return `${[s.comm, ...user, ...(s.delimiter ? ['-'] : []), ...kernel].join(';')} ${s.count}\n`;
}

/** All samples folded, sorted by count ascending as BCC prints them (ties keep their order). */
export function formatFolded(samples: FoldedSample[]): string {
  const sorted = [...samples].sort((a, b) => (BigInt(a.count) < BigInt(b.count) ? -1 : BigInt(a.count) > BigInt(b.count) ? 1 : 0));
  return sorted.map(foldedLine).join('');
}
