import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from './elf.js';
import { findLibrary } from './libs.js';
import { KscopeError } from '../sys/errors.js';

test('truncated or corrupt ELF files give a clear error or degrade, never crash or hang', () => {
  const libc = readFileSync(findLibrary('libc')!);
  const dir = mkdtempSync(join(tmpdir(), 'kscope-elf-'));
  const garbage = Buffer.from(libc);
  for (let i = 64; i < garbage.length; i += 97) garbage[i]! ^= 0x5a;
  const cases: [string, Buffer, RegExp | null][] = [
    ['empty', Buffer.alloc(0), /is not an ELF file/],
    ['text', Buffer.from('not an elf at all'), /is not an ELF file/],
    ['header only', libc.subarray(0, 64), /truncated ELF file/],
    ['first page', libc.subarray(0, 4096), /truncated ELF file/],
    ['half', libc.subarray(0, libc.length >> 1), /truncated ELF file/],
    ['bytes flipped', garbage, null],
  ];
  try {
    for (const [name, bytes, err] of cases) {
      const p = join(dir, name.replace(' ', '_'));
      writeFileSync(p, bytes);
      const t0 = Date.now();
      try {
        const e = ElfFile.open(p);
        e.symbols();
        e.symbolByName('malloc');
        e.usdtProbes();
        assert.equal(err, null, `${name}: expected an error`);
      } catch (e) {
        assert.ok(e instanceof KscopeError, `${name}: ${String(e)}`);
        assert.ok(err && err.test(e.message), `${name}: ${e.message}`);
      }
      assert.ok(Date.now() - t0 < 5000, `${name} took too long`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
