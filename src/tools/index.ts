/** The tools kscope ships, by name. */
import type { Tool } from './tool.js';
import { runqlat } from './runqlat.js';
import { execsnoop } from './execsnoop.js';
import { fileslower } from './fileslower.js';

export const TOOLS: ReadonlyMap<string, Tool> = new Map([runqlat, execsnoop, fileslower].map((t) => [t.name, t]));
