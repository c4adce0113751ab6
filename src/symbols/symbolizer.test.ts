import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kallsyms } from './kallsyms.js';
import { readlinkSync, realpathSync } from 'node:fs';
import { ElfFile } from './elf.js';
import { readMaps, userAddressToFile } from './procmaps.js';
import { Symbolizer, UNKNOWN } from './symbolizer.js';
import { TARGET_C, compileC, have } from './testfixtures.js';

test('kernel addresses', () => {
  const s = new Symbolizer();
  const vfsRead = kallsyms().address('vfs_read')!;
  assert.equal(s.kernel(vfsRead + 5n), 'vfs_read+5');
  assert.equal(s.kernel(vfsRead, { offset: false }), 'vfs_read');
  assert.equal(s.kernel(1n), UNKNOWN);
});

test('user address of a running C program resolves through maps and ELF', async (t) => {
  if (!have('gcc')) return t.skip('gcc missing');
  for (const flags of [[], ['-rdynamic', '-s']]) {
    const bin = compileC(TARGET_C, 'target', flags);
    const child = spawn(bin, ['loop'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      const [exported, local] = line.toString().trim().split(' ').map((h) => parseInt(h, 16));
      const pid = child.pid!;
      const file = userAddressToFile(pid, exported);
      assert.equal(file?.path, bin);
      const s = new Symbolizer();
      assert.equal(s.user(pid, exported + 2), 'kscope_exported+2', `flags ${flags}`);
      assert.deepEqual(s.userSymbol(pid, BigInt(exported)), { name: 'kscope_exported', offset: 0, module: bin });
      if (flags.length === 0) assert.equal(s.user(pid, local, { offset: false, module: true }), `kscope_local (${bin})`);
      assert.equal(s.user(pid, 8), UNKNOWN);
    } finally {
      child.kill('SIGKILL');
    }
  }
});

test('a C++ function of node itself resolves, demangled', () => {
  const exe = realpathSync(process.execPath);
  const elf = ElfFile.open(exe);
  const start = elf.symbolByName('_ZN4node5StartEiPPc');
  if (!start) return; // a node build without this symbol: nothing to check
  // Where the kernel mapped that file offset in this process.
  const off = elf.fileOffsetOf(start.value)!;
  const m = readMaps(process.pid).find((x) => x.path === exe && off >= x.offset && off < x.offset + (x.end - x.start))!;
  assert.ok(m, 'node text mapped');
  assert.equal(new Symbolizer().user(process.pid, m.start + (off - m.offset) + 4), 'node::Start(int, char**)+4');
  assert.equal(new Symbolizer(false).user(process.pid, m.start + (off - m.offset), { offset: false }), '_ZN4node5StartEiPPc');
});

test('a failed lazy ELF read (the process exited) reopens the file once, else gives null/[unknown] without throwing', async () => {
  const child = spawn('sleep', ['5']);
  await once(child, 'spawn');
  const pid = child.pid!;
  try {
    // 'spawn' can come before the exec, and the exec before ld.so maps libc: wait for sleep's own libc mapping
    const libcOf = () => (readlinkSync(`/proc/${pid}/exe`).endsWith('/sleep') ? readMaps(pid).find((m) => /libc[.-]/.test(m.path) && m.perms.startsWith('r-x')) : undefined);
    let libc = libcOf();
    for (let i = 0; i < 500 && !libc; i++) await new Promise((r) => setTimeout(r, 10)), (libc = libcOf());
    assert.ok(libc, 'sleep maps libc');
    const elf = ElfFile.open(libc.path);
    const addr = libc.start + (elf.symbolByName('usleep')!.value - elf.vaddrOfFileOffset(libc.offset)!) + 4;
    const want = new Symbolizer().userSymbol(pid, addr);
    assert.ok(want, 'libc address resolves');
    const orig = ElfFile.prototype.symbolizeName;
    let fails = 1;
    ElfFile.prototype.symbolizeName = function (this: ElfFile, ...a: Parameters<ElfFile['symbolizeName']>) {
      if (fails-- > 0) throw new Error('ENOENT: /proc/PID/root is gone');
      return orig.apply(this, a);
    };
    try {
      assert.deepEqual(new Symbolizer().userSymbol(pid, addr), want);
      fails = 1e9;
      const s = new Symbolizer();
      assert.equal(s.userSymbol(pid, addr), null);
      assert.equal(s.user(pid, addr), UNKNOWN);
    } finally {
      ElfFile.prototype.symbolizeName = orig;
    }
  } finally {
    child.kill('SIGKILL');
  }
});
