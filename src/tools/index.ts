/** The tools kscope ships, by name. */
import type { Tool } from './tool.js';
import { TOOL_NAMES } from './names.js';
import { runqlat } from './runqlat.js';
import { execsnoop } from './execsnoop.js';
import { biolatency } from './biolatency.js';
import { biosnoop } from './biosnoop.js';
import { fileslower } from './fileslower.js';
import { tcpconnect } from './tcpconnect.js';
import { tcpretrans } from './tcpretrans.js';
import { tcptop } from './tcptop.js';
import { profile } from './profile.js';
import { opensnoop } from './opensnoop.js';
import { syscount } from './syscount.js';
import { tcplife } from './tcplife.js';

export const TOOLS: ReadonlyMap<string, Tool> = new Map([runqlat, execsnoop, biolatency, biosnoop, fileslower, tcpconnect, tcpretrans, tcptop, profile, opensnoop, syscount, tcplife].map((t) => [t.name, t]));

// the loader routes by TOOL_NAMES: a tool missing there would run the script bundle and fail as a script file
if (TOOL_NAMES.length !== TOOLS.size || !TOOL_NAMES.every((n) => TOOLS.has(n))) {
  throw new Error(`src/tools/names.ts lists ${TOOL_NAMES.join(' ')}; the tools are ${[...TOOLS.keys()].join(' ')}`);
}
