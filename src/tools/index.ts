/** The tools kscope ships, by name. */
import type { Tool } from './tool.js';
import { runqlat } from './runqlat.js';
import { fileslower } from './fileslower.js';

export const TOOLS: ReadonlyMap<string, Tool> = new Map([runqlat, fileslower].map((t) => [t.name, t]));
