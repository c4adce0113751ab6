import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ElfFile } from './elf.js';
import { findLibrary } from './libs.js';
import { TARGET_C, USDT_C, compileC, have, nmSymbols } from './testfixtures.js';

/** PT_LOAD rows from `readelf -lW` (an independent reading of the program headers). */
function readelfLoads(path: string): { offset: number; vaddr: number; filesz: number }[] {
  const out = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  return [...out.matchAll(/^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/gm)].map((m) => ({
    offset: Number(m[1]), vaddr: Number(m[2]), filesz: Number(m[3]),
  }));
}

test('libc: malloc by name and back by address, file offset', (t) => {
  const libc = findLibrary('libc')!;
  const elf = ElfFile.open(libc);
  const malloc = elf.symbolByName('malloc');
  assert.ok(malloc, 'malloc found');
  assert.equal(malloc.type, 'func');
  assert.ok(malloc.size > 0);
  if (have('nm')) assert.equal(malloc.value, nmSymbols(libc, true).get('malloc'));
  const back = elf.symbolize(malloc.value + 3);
  assert.equal(back?.name, 'malloc');
  assert.equal(back?.offset, 3);
  assert.equal(elf.symbolize(malloc.value + malloc.size)?.name === 'malloc', false);
  if (!have('readelf')) return t.skip('readelf missing: file offset not cross-checked');
  const seg = readelfLoads(libc).find((p) => malloc.value >= p.vaddr && malloc.value < p.vaddr + p.filesz)!;
  assert.equal(elf.fileOffsetOf(malloc.value), malloc.value - seg.vaddr + seg.offset);
  assert.equal(elf.vaddrOfFileOffset(elf.fileOffsetOf(malloc.value)!), malloc.value);
});

test('headers, build-id and debug link of libc', (t) => {
  const libc = findLibrary('libc')!;
  const elf = ElfFile.open(libc);
  assert.ok(elf.section('.text') && elf.section('.dynsym'));
  assert.equal(elf.machine, 62);
  if (!have('readelf')) return t.skip('readelf missing');
  const notes = execFileSync('readelf', ['-n', libc], { encoding: 'utf8' });
  const id = /Build ID: ([0-9a-f]+)/.exec(notes)?.[1];
  assert.equal(elf.buildId(), id);
  const dbg = elf.debugFile();
  if (dbg) assert.ok(existsSync(dbg) && ElfFile.open(dbg).buildId() === id);
  assert.throws(() => ElfFile.open('/proc/self/status'), /not an ELF file/);
  assert.throws(() => ElfFile.open('/nonexistent/kscope'), /cannot open/);
});

test('compiled program: .symtab, then stripped → .dynsym', (t) => {
  if (!have('gcc') || !have('nm')) return t.skip('gcc or nm missing');
  const bin = compileC(TARGET_C, 'target', ['-rdynamic']);
  const expected = nmSymbols(bin);
  const elf = ElfFile.open(bin);
  assert.equal(elf.symbolSource(), 'symtab');
  for (const name of ['kscope_exported', 'kscope_local', 'kscope_counter', 'main']) {
    const s = elf.symbolByName(name);
    assert.equal(s?.value, expected.get(name), name);
    assert.equal(elf.symbolize(s!.value + 1)?.name, name);
  }
  assert.equal(elf.symbolByName('kscope_local')?.binding, 'local');
  assert.equal(elf.symbolByName('kscope_counter')?.type, 'object');

  execFileSync('strip', [bin]);
  const stripped = ElfFile.open(bin);
  assert.equal(stripped.section('.symtab'), undefined);
  assert.equal(stripped.symbolSource(), 'dynsym');
  assert.equal(stripped.symbolByName('kscope_exported')?.value, expected.get('kscope_exported'));
  assert.equal(stripped.symbolize(expected.get('kscope_exported')! + 2)?.name, 'kscope_exported');
  assert.equal(stripped.symbolByName('kscope_local'), undefined, 'static functions are gone after strip');
});

test('USDT probes: location, semaphore, arguments', (t) => {
  if (!have('gcc')) return t.skip('gcc missing');
  if (!existsSync('/usr/include/x86_64-linux-gnu/sys/sdt.h') && !existsSync('/usr/include/sys/sdt.h'))
    return t.skip('sys/sdt.h missing: apt-get install systemtap-sdt-dev');
  const bin = compileC(USDT_C, 'usdt', ['-O2']);
  const probes = ElfFile.open(bin).usdtProbes();
  assert.deepEqual(probes.map((p) => `${p.provider}:${p.name}`), ['kscope:tick', 'kscope:tock']);
  const [tick, tock] = probes;
  const syms = nmSymbols(bin);
  assert.equal(tick.semaphore, syms.get('kscope_tick_semaphore'));
  assert.equal(tock.semaphore, syms.get('kscope_tock_semaphore'));
  assert.equal(tick.args.length, 3);
  assert.deepEqual(tick.args.map((a) => [a.size, a.signed]), [[8, true], [4, true], [4, true]]);
  assert.deepEqual(tick.args[2], { kind: 'const', size: 4, signed: true, value: 5n, spec: '-4@$5' });
  assert.ok(tick.args.slice(0, 2).every((a) => a.kind === 'reg' || a.kind === 'mem'));
  assert.deepEqual(tock.args.map((a) => [a.size, a.signed]), [[8, false]]);
  if (!have('readelf')) return;
  // readelf -n prints each stapsdt note: Location, Base, Semaphore, Arguments.
  const notes = execFileSync('readelf', ['-n', bin], { encoding: 'utf8' });
  const rows = [...notes.matchAll(/Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)\s+Arguments: ?(.*)/g)];
  assert.equal(rows.length, 2);
  for (const [i, p] of probes.entries()) {
    assert.equal(p.pc, Number(rows[i][1]));
    assert.equal(p.semaphore, Number(rows[i][2]));
    assert.equal(p.args.map((a) => a.spec).join(' '), rows[i][3].trim());
  }
  const loads = readelfLoads(bin);
  const off = (v: number) => { const s = loads.find((p) => v >= p.vaddr && v < p.vaddr + p.filesz)!; return v - s.vaddr + s.offset; };
  assert.equal(tick.fileOffset, off(tick.pc));
  assert.equal(tick.semaphoreFileOffset, off(tick.semaphore));
});
