import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { findMapping, isFileMapping, parseMaps, readMaps, userAddressToFile } from './procmaps.js';

const SAMPLE = `55d4c0a00000-55d4c0a02000 r--p 00000000 08:01 1234   /usr/bin/my prog
55d4c0a02000-55d4c0a05000 r-xp 00002000 08:01 1234   /usr/bin/my prog
7f0000000000-7f0000021000 rw-p 00000000 00:00 0
7f1000000000-7f1000001000 r-xp 00001000 00:1f 99     /tmp/gone.so (deleted)
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]
`;

test('parseMaps: paths with spaces, anonymous and special regions', () => {
  const maps = parseMaps(SAMPLE);
  assert.equal(maps.length, 5);
  assert.deepEqual(maps[1], {
    start: 0x55d4c0a02000, end: 0x55d4c0a05000, perms: 'r-xp', offset: 0x2000, dev: '08:01', inode: 1234, path: '/usr/bin/my prog',
  });
  assert.equal(maps[2].path, '');
  assert.equal(maps[3].path, '/tmp/gone.so (deleted)');
  assert.equal(findMapping(maps, 0x55d4c0a02010)?.perms, 'r-xp');
  assert.equal(findMapping(maps, 0x55d4c0a05000), undefined);
  assert.ok(!isFileMapping(maps[2]) && !isFileMapping(maps[4]) && isFileMapping(maps[0]));
  assert.deepEqual(userAddressToFile(0, 0x55d4c0a02010, maps), {
    path: '/usr/bin/my prog', fileOffset: 0x2010, mapStart: 0x55d4c0a02000, mapEnd: 0x55d4c0a05000, mapOffset: 0x2000, inode: 1234, dev: '08:01',
  });
  assert.equal(userAddressToFile(0, 0x7f0000000010, maps), null);
});

test('readMaps of this process finds the node executable', () => {
  const maps = readMaps(process.pid);
  const exe = realpathSync(process.execPath);
  const text = maps.find((m) => m.path === exe && m.perms.includes('x'));
  assert.ok(text, 'node text mapping present');
  const loc = userAddressToFile(process.pid, BigInt(text.start + 0x40));
  assert.equal(loc?.path, exe);
  assert.equal(loc?.fileOffset, text.offset + 0x40);
  assert.throws(() => readMaps(0x3fffffff), (e: Error & { hint?: string }) => /ENOENT/.test(e.message) && /no process with PID/.test(e.hint ?? ''));
});
