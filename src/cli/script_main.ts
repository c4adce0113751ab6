#!/usr/bin/env node
/**
 * Entry point of the script bundle (dist/kscope.script.cjs): `kscope -e PROGRAM`, `kscope script.bt`, `kscope -l`.
 * The loader runs it for every command line whose first word is not a tool or `features` (main.ts has those); it
 * is a third smaller than the full bundle (no tools, no commander), which is start-up time saved on every one-liner.
 */
import { runCli, scriptCommand } from './script.js';

runCli(scriptCommand);
