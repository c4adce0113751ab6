// Marks the build as fresh for ./kscope, which rebuilds when any source is newer than this file.
import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../dist/.stamp', import.meta.url), new Date().toISOString() + '\n');
