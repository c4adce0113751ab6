/** The tools kscope ships, by name. */
import type { Tool } from './tool.js';
import { runqlat } from './runqlat.js';

export const TOOLS: ReadonlyMap<string, Tool> = new Map([runqlat].map((t) => [t.name, t]));
