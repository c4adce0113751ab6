/**
 * Node built-ins that most runs never need, loaded on first use: `node:child_process` alone pulls in net and
 * streams, ~8 ms of kscope's start-up on a small VM.
 */
import { createRequire } from 'node:module';

// built-ins resolve the same from anywhere; an absolute path keeps this working in the CommonJS bundle too
const load = createRequire('/');
const lazy = <T>(id: string): (() => T) => {
  let m: T | undefined;
  return () => (m ??= load(id) as T);
};

export const childProcess = lazy<typeof import('node:child_process')>('node:child_process');
export const net = lazy<typeof import('node:net')>('node:net');
export const zlib = lazy<typeof import('node:zlib')>('node:zlib');
export const os = lazy<typeof import('node:os')>('node:os');
