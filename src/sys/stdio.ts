/**
 * Synchronous writes to stdout/stderr by fd. kscope's output goes through here rather than process.stdout: no
 * stream machinery to load at start-up (~9 ms on a small VM), output in order with stderr, and a closed reader
 * (`kscope ... | head`) is one error to handle instead of an unhandled 'error' event.
 */
import { writeSync } from 'node:fs';

/** Thrown by writeAll when the reading end of the pipe is gone. */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `s` to `fd`, waiting out EAGAIN on a non-blocking fd; throws OutputClosed on EPIPE. Pass 'latin1'
 * for binary strings (one char per byte, as kscope holds traced strings) so their bytes go out unchanged.
 */
/**
 * Writes `s` to stdout; false when the reader has gone (`kscope ... | head`), which callers treat as the end of
 * their output rather than an error.
 */
export function writeOut(s: string, encoding: 'utf8' | 'latin1' = 'utf8'): boolean {
  try {
    writeAll(1, s, encoding);
    return true;
  } catch (e) {
    if (!(e instanceof OutputClosed)) throw e;
    return false;
  }
}

export function writeAll(fd: number, s: string | Uint8Array, encoding: 'utf8' | 'latin1' = 'utf8'): void {
  // latin1 strings are written as they are (one char per byte, so a partial write is a slice); no Buffer copy
  let rest: string | Uint8Array = typeof s === 'string' && encoding === 'utf8' ? Buffer.from(s, 'utf8') : s;
  while (rest.length) {
    try {
      rest = typeof rest === 'string' ? rest.slice(writeSync(fd, rest, null, 'latin1')) : rest.subarray(writeSync(fd, rest));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new OutputClosed('output closed');
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}
