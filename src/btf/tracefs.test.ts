import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { allEvents, decodeDataLoc, globToRegExp, listEvents, parseFormat, tracepointFormat } from './tracefs.js';
import { tracefs } from '../sys/mount.js';

const SAMPLE = `name: demo_event
ID: 1234
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] path;\toffset:32;\tsize:4;\tsigned:0;
\tfield:__rel_loc u8[] blob;\toffset:36;\tsize:4;\tsigned:0;
\tfield:unsigned long args[COUNT];\toffset:40;\tsize:48;\tsigned:0;
\tfield:s64 delta;\toffset:88;\tsize:8;\tsigned:1;

print fmt: "comm=%s path=%s", REC->comm, __get_str(path)
`;

test('parseFormat reads every field attribute', () => {
  const f = parseFormat(SAMPLE, 'demo');
  assert.equal(f.id, 1234);
  assert.equal(f.name, 'demo_event');
  assert.equal(f.system, 'demo');
  assert.equal(f.printFmt, '"comm=%s path=%s", REC->comm, __get_str(path)');
  const base = { signed: false, isArray: false, dataLoc: false, relLoc: false, common: false };
  assert.deepEqual(f.fields, [
    { ...base, name: 'common_type', type: 'unsigned short', offset: 0, size: 2, common: true },
    { ...base, name: 'common_flags', type: 'unsigned char', offset: 2, size: 1, common: true },
    { ...base, name: 'common_preempt_count', type: 'unsigned char', offset: 3, size: 1, common: true },
    { ...base, name: 'common_pid', type: 'int', offset: 4, size: 4, signed: true, common: true },
    { ...base, name: 'comm', type: 'char[16]', offset: 8, size: 16, isArray: true, arrayLen: 16 },
    { ...base, name: 'filename', type: 'const char *', offset: 24, size: 8 },
    { ...base, name: 'path', type: 'char[]', offset: 32, size: 4, isArray: true, dataLoc: true },
    { ...base, name: 'blob', type: 'u8[]', offset: 36, size: 4, isArray: true, relLoc: true },
    { ...base, name: 'args', type: 'unsigned long[COUNT]', offset: 40, size: 48, isArray: true },
    { ...base, name: 'delta', type: 's64', offset: 88, size: 8, signed: true },
  ]);
});

test('parseFormat rejects text without name or ID', () => {
  assert.throws(() => parseFormat('format:\n', 'x'), /malformed tracepoint format/);
});

test('decodeDataLoc splits offset (low 16) and length (high 16)', () => {
  assert.deepEqual(decodeDataLoc(0x0010_0030), { offset: 0x30, length: 0x10 });
  assert.deepEqual(decodeDataLoc(0xffff_0001), { offset: 1, length: 0xffff });
});

test('globToRegExp: * and ? wildcards, everything else literal', () => {
  assert.ok(globToRegExp('sys_enter_open*').test('sys_enter_openat'));
  assert.ok(!globToRegExp('sys_enter_open*').test('xsys_enter_open'));
  assert.ok(globToRegExp('a?c').test('abc'));
  assert.ok(!globToRegExp('a.c').test('abc'));
  assert.ok(globToRegExp('*').test(''));
});

// Real tracefs: mounted by tracefs() when missing.
const root = tracefs();
const has = (sys: string, ev: string): boolean => allEvents().some((e) => e.system === sys && e.name === ev);

test('syscalls:sys_enter_openat: filename is const char * at the format file offset', { skip: !has('syscalls', 'sys_enter_openat') && 'no syscall tracepoints (CONFIG_FTRACE_SYSCALLS)' }, () => {
  const text = readFileSync(`${root}/events/syscalls/sys_enter_openat/format`, 'utf8');
  const want = /field:const char \* filename;\s*offset:(\d+);\s*size:(\d+);/.exec(text)!;
  const id = /^ID: (\d+)$/m.exec(text)!;
  const f = tracepointFormat('syscalls', 'sys_enter_openat');
  assert.equal(f.id, +id[1]);
  const fn = f.fields.find((x) => x.name === 'filename')!;
  assert.deepEqual([fn.type, fn.offset, fn.size, fn.isArray, fn.dataLoc, fn.common], ['const char *', +want[1], +want[2], false, false, false]);
  assert.equal(f.fields.filter((x) => x.common).map((x) => x.name).join(), 'common_type,common_flags,common_preempt_count,common_pid');
  assert.equal(tracepointFormat('syscalls', 'sys_enter_openat'), f, 'cached');
});

test('sched:sched_process_exec: __data_loc filename', { skip: !has('sched', 'sched_process_exec') && 'no sched_process_exec' }, () => {
  const text = readFileSync(`${root}/events/sched/sched_process_exec/format`, 'utf8');
  const want = /field:__data_loc char\[\] filename;\s*offset:(\d+);\s*size:(\d+);/.exec(text)!;
  const fn = tracepointFormat('sched', 'sched_process_exec').fields.find((x) => x.name === 'filename')!;
  assert.deepEqual([fn.type, fn.offset, fn.size, fn.dataLoc, fn.isArray], ['char[]', +want[1], +want[2], true, true]);
});

test('listEvents of one exact event agrees with the full list, without reading it', () => {
  const sample = allEvents().filter((_, i) => i % 97 === 0);
  assert.ok(sample.length > 5);
  for (const e of sample) assert.deepEqual(listEvents(`${e.system}:${e.name}`), [e]);
  assert.deepEqual(listEvents('sched:no_such_event'), []);
  assert.deepEqual(listEvents('no_such_system:sched_switch'), []);
  assert.deepEqual(listEvents('sched:..'), [], 'path segments are not event names');
  // ftrace's own events have a folder and a format but are not tracepoints one can attach to
  if (existsSync(`${root}/events/ftrace/print/format`)) assert.deepEqual(listEvents('ftrace:print'), []);
});

test('listEvents with wildcards', () => {
  const open = listEvents('syscalls:sys_enter_open*').map((e) => `${e.system}:${e.name}`);
  if (has('syscalls', 'sys_enter_openat')) {
    assert.ok(open.includes('syscalls:sys_enter_openat'));
    if (has('syscalls', 'sys_enter_open')) assert.ok(open.includes('syscalls:sys_enter_open'));
    assert.ok(open.every((e) => e.startsWith('syscalls:sys_enter_open')));
  }
  const sched = listEvents('sched:*');
  assert.ok(sched.length > 5 && sched.every((e) => e.system === 'sched'));
  assert.deepEqual(listEvents('*:*sched_switch').map((e) => `${e.system}:${e.name}`), allEvents().filter((e) => e.name.endsWith('sched_switch')).map((e) => `${e.system}:${e.name}`).sort());
  assert.ok(listEvents('sched_switch').some((e) => e.system === 'sched'), 'no system: any system');
  assert.deepEqual(listEvents('nosuchsystem:*'), []);
  // The listing agrees with the events directory.
  const lines = readFileSync(`${root}/available_events`, 'utf8').trim().split('\n');
  assert.equal(allEvents().length, lines.length);
});

test('every tracepoint format on this machine parses', () => {
  for (const e of allEvents()) {
    const f = tracepointFormat(e.system, e.name);
    assert.equal(f.name, e.name);
    assert.ok(f.fields.length >= 4 && f.fields.slice(0, 4).every((x) => x.common), `${e.system}:${e.name}`);
    for (const x of f.fields) assert.ok(x.size > 0 && x.offset >= 0, `${e.system}:${e.name}.${x.name}`);
  }
});

test('unknown tracepoint: a KscopeError that says how to list them', () => {
  assert.throws(() => tracepointFormat('sched', 'no_such_event'), /tracepoint sched:no_such_event not found/);
  assert.throws(() => tracepointFormat('../x', 'y'), /invalid tracepoint name/);
});
