/**
 * speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): one "sampled" profile whose
 * samples are folded stacks (frame indices root first) weighted by their counts.
 */
import type { Stack } from './flamegraph.js';

export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: { name: string }[] };
  profiles: { type: 'sampled'; name: string; unit: 'none'; startValue: number; endValue: number; samples: number[][]; weights: number[] }[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

/** The speedscope document of `stacks` (frames shared by name). */
export function speedscope(stacks: Stack[], name: string): SpeedscopeFile {
  const index = new Map<string, number>();
  const frames: { name: string }[] = [];
  const id = (f: string): number => {
    let i = index.get(f);
    if (i === undefined) {
      index.set(f, (i = frames.length));
      frames.push({ name: f });
    }
    return i;
  };
  const samples = stacks.map((s) => s.frames.map(id));
  const weights = stacks.map((s) => s.count);
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles: [{ type: 'sampled', name, unit: 'none', startValue: 0, endValue: total, samples, weights }],
    name,
    activeProfileIndex: 0,
    exporter: 'kscope',
  };
}
