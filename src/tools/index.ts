/** The tools kscope ships, by name. */
import type { Tool } from './tool.js';
import { runqlat } from './runqlat.js';
import { execsnoop } from './execsnoop.js';
import { biolatency } from './biolatency.js';
import { fileslower } from './fileslower.js';
import { tcpconnect } from './tcpconnect.js';
import { profile } from './profile.js';

export const TOOLS: ReadonlyMap<string, Tool> = new Map([runqlat, execsnoop, biolatency, fileslower, tcpconnect, profile].map((t) => [t.name, t]));
