import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Btf, type BtfComposite, type BtfType } from './btf.js';
import { KscopeError } from '../sys/errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Hand-built blobs: every kind encoded byte by byte from the BTF format description (Documentation/bpf/btf.rst).
// ---------------------------------------------------------------------------------------------------------------

const KIND = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 };

class Blob {
  private words: number[] = [];
  private strs: number[] = [0];
  private strOffs = new Map<string, number>();
  next: number;
  /** For split BTF: ids start at firstId and string offsets after the base's string section. */
  constructor(firstId = 1, private baseStrLen = 0) {
    this.next = firstId;
  }
  str(s: string): number {
    if (s === '') return 0;
    let o = this.strOffs.get(s);
    if (o === undefined) {
      o = this.baseStrLen + this.strs.length;
      this.strs.push(...Buffer.from(s), 0);
      this.strOffs.set(s, o);
    }
    return o;
  }
  /** Appends a type: name, kind, vlen, kind_flag, size/type word, trailing words. Returns its id. */
  add(name: string | number, kind: number, vlen: number, kflag: boolean, x: number, extra: number[] = []): number {
    const nameOff = typeof name === 'number' ? name : this.str(name);
    this.words.push(nameOff, ((kflag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0, x >>> 0, ...extra.map((v) => v >>> 0));
    return this.next++;
  }
  build(): Buffer {
    const types = Buffer.alloc(this.words.length * 4);
    this.words.forEach((v, i) => types.writeUInt32LE(v, i * 4));
    const strs = Buffer.from(this.strs);
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr.writeUInt8(1, 2);
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(types.length, 12);
    hdr.writeUInt32LE(types.length, 16);
    hdr.writeUInt32LE(strs.length, 20);
    return Buffer.concat([hdr, types, strs]);
  }
}

const INT_SIGNED = 1 << 24, INT_CHAR = 2 << 24, INT_BOOL = 4 << 24;

/** A blob with one type of every kind; ids are returned for the assertions. */
function allKinds() {
  const b = new Blob();
  const int = b.add('int', KIND.INT, 0, false, 4, [INT_SIGNED | 32]);
  const uchar = b.add('unsigned char', KIND.INT, 0, false, 1, [8]);
  const char = b.add('char', KIND.INT, 0, false, 1, [INT_CHAR | INT_SIGNED | 8]);
  const bool = b.add('_Bool', KIND.INT, 0, false, 1, [INT_BOOL | 8]);
  const ptrChar = b.add('', KIND.PTR, 0, false, char);
  const constChar = b.add('', KIND.CONST, 0, false, char);
  const ptrConstChar = b.add('', KIND.PTR, 0, false, constChar);
  const constPtrChar = b.add('', KIND.CONST, 0, false, ptrChar);
  const volInt = b.add('', KIND.VOLATILE, 0, false, int);
  const restrictPtr = b.add('', KIND.RESTRICT, 0, false, ptrChar);
  const arr = b.add('', KIND.ARRAY, 0, false, 0, [char, int, 16]);
  const u32 = b.add('u32', KIND.TYPEDEF, 0, false, int);
  // struct inner { int x; } used both named and through a pointer
  const inner = b.add('inner', KIND.STRUCT, 1, false, 4, [b.str('x'), int, 0]);
  // anonymous union { int u1; char u2; }
  const anonU = b.add('', KIND.UNION, 2, false, 4, [b.str('u1'), int, 0, b.str('u2'), char, 0]);
  // struct outer (kind_flag=1: bitfield size in bits 24-31 of offset)
  //   int a; unsigned char f1:3; unsigned char f2:5; union {...}; struct inner in; char name[16]; const char *s;
  const outer = b.add('outer', KIND.STRUCT, 7, true, 48, [
    b.str('a'), int, 0,
    b.str('f1'), uchar, (3 << 24) | 32,
    b.str('f2'), uchar, (5 << 24) | 35,
    0, anonU, 64,
    b.str('in'), inner, 96,
    b.str('name'), arr, 128,
    b.str('s'), ptrConstChar, 256,
  ]);
  const enm = b.add('color', KIND.ENUM, 2, false, 4, [b.str('RED'), 0, b.str('BLUE'), 0xfffffffe]);
  const senm = b.add('delta', KIND.ENUM, 2, true, 4, [b.str('DOWN'), -1, b.str('UP'), 1]);
  const fwdS = b.add('later', KIND.FWD, 0, false, 0);
  const fwdU = b.add('ulater', KIND.FWD, 0, true, 0);
  const proto = b.add('', KIND.FUNC_PROTO, 3, false, int, [b.str('fmt'), ptrConstChar, b.str('n'), int, 0, 0]);
  const func = b.add('myprintf', KIND.FUNC, 1, false, proto);
  const v = b.add('counter', KIND.VAR, 0, false, int, [1]);
  const sec = b.add('.data', KIND.DATASEC, 1, false, 4, [v, 0, 4]);
  const dbl = b.add('double', KIND.FLOAT, 0, false, 8);
  const tagT = b.add('noinline', KIND.DECL_TAG, 0, false, func, [-1]);
  const tagP = b.add('nonnull', KIND.DECL_TAG, 0, true, func, [1]);
  const typeTag = b.add('user', KIND.TYPE_TAG, 0, false, char);
  const ptrUser = b.add('', KIND.PTR, 0, false, typeTag);
  const e64 = b.add('big', KIND.ENUM64, 2, false, 8, [b.str('HUGE'), 1, 0x80000000, b.str('SMALL'), 7, 0]);
  const se64 = b.add('sbig', KIND.ENUM64, 1, true, 8, [b.str('NEG'), -2, -1]);
  const ptrArr = b.add('', KIND.PTR, 0, false, arr);
  const fnProto = b.add('', KIND.FUNC_PROTO, 1, false, 0, [0, int]);
  const fnPtr = b.add('', KIND.PTR, 0, false, fnProto);
  const packed = b.add('packed', KIND.STRUCT, 2, false, 5, [b.str('c'), char, 0, b.str('i'), int, 8]);
  // Legacy bitfield: kind_flag 0, the INT carries offset 2 and 3 bits.
  const int3 = b.add('int', KIND.INT, 0, false, 4, [INT_SIGNED | (2 << 16) | 3]);
  const legacy = b.add('legacy', KIND.STRUCT, 1, false, 4, [b.str('bits'), int3, 8]);
  const blob = b.build();
  return {
    blob, int, uchar, char, bool, ptrChar, constChar, ptrConstChar, constPtrChar, volInt, restrictPtr, arr, u32, inner,
    anonU, outer, enm, senm, fwdS, fwdU, proto, func, v, sec, dbl, tagT, tagP, typeTag, ptrUser, e64, se64, ptrArr,
    fnProto, fnPtr, packed, int3, legacy,
  };
}

const K = allKinds();
const btf = Btf.parse(K.blob);

test('decodes every kind exactly', () => {
  const t = (id: number): BtfType => btf.type(id);
  assert.deepEqual(t(0), { id: 0, kind: 'void', name: 'void' });
  assert.deepEqual(t(K.int), { id: K.int, kind: 'int', name: 'int', size: 4, bits: 32, bitOffset: 0, signed: true, char: false, bool: false });
  assert.deepEqual(t(K.char), { id: K.char, kind: 'int', name: 'char', size: 1, bits: 8, bitOffset: 0, signed: true, char: true, bool: false });
  assert.deepEqual(t(K.bool), { id: K.bool, kind: 'int', name: '_Bool', size: 1, bits: 8, bitOffset: 0, signed: false, char: false, bool: true });
  assert.deepEqual(t(K.int3), { id: K.int3, kind: 'int', name: 'int', size: 4, bits: 3, bitOffset: 2, signed: true, char: false, bool: false });
  assert.deepEqual(t(K.ptrChar), { id: K.ptrChar, kind: 'ptr', name: '', type: K.char });
  assert.deepEqual(t(K.constChar), { id: K.constChar, kind: 'const', name: '', type: K.char });
  assert.deepEqual(t(K.volInt), { id: K.volInt, kind: 'volatile', name: '', type: K.int });
  assert.deepEqual(t(K.restrictPtr), { id: K.restrictPtr, kind: 'restrict', name: '', type: K.ptrChar });
  assert.deepEqual(t(K.u32), { id: K.u32, kind: 'typedef', name: 'u32', type: K.int });
  assert.deepEqual(t(K.arr), { id: K.arr, kind: 'array', name: '', type: K.char, indexType: K.int, nelems: 16 });
  assert.deepEqual(t(K.outer), {
    id: K.outer, kind: 'struct', name: 'outer', size: 48, members: [
      { name: 'a', type: K.int, bitOffset: 0, bitSize: 0 },
      { name: 'f1', type: K.uchar, bitOffset: 32, bitSize: 3 },
      { name: 'f2', type: K.uchar, bitOffset: 35, bitSize: 5 },
      { name: '', type: K.anonU, bitOffset: 64, bitSize: 0 },
      { name: 'in', type: K.inner, bitOffset: 96, bitSize: 0 },
      { name: 'name', type: K.arr, bitOffset: 128, bitSize: 0 },
      { name: 's', type: K.ptrConstChar, bitOffset: 256, bitSize: 0 },
    ],
  });
  assert.deepEqual(t(K.anonU), {
    id: K.anonU, kind: 'union', name: '', size: 4, members: [
      { name: 'u1', type: K.int, bitOffset: 0, bitSize: 0 }, { name: 'u2', type: K.char, bitOffset: 0, bitSize: 0 },
    ],
  });
  assert.deepEqual((t(K.legacy) as BtfComposite).members, [{ name: 'bits', type: K.int3, bitOffset: 10, bitSize: 3 }]);
  assert.deepEqual(t(K.enm), { id: K.enm, kind: 'enum', name: 'color', size: 4, signed: false, values: [{ name: 'RED', value: 0 }, { name: 'BLUE', value: 0xfffffffe }] });
  assert.deepEqual(t(K.senm), { id: K.senm, kind: 'enum', name: 'delta', size: 4, signed: true, values: [{ name: 'DOWN', value: -1 }, { name: 'UP', value: 1 }] });
  assert.deepEqual(t(K.fwdS), { id: K.fwdS, kind: 'fwd', name: 'later', union: false });
  assert.deepEqual(t(K.fwdU), { id: K.fwdU, kind: 'fwd', name: 'ulater', union: true });
  assert.deepEqual(t(K.proto), { id: K.proto, kind: 'func_proto', name: '', returnType: K.int, params: [{ name: 'fmt', type: K.ptrConstChar }, { name: 'n', type: K.int }], variadic: true });
  assert.deepEqual(t(K.func), { id: K.func, kind: 'func', name: 'myprintf', type: K.proto, linkage: 'global' });
  assert.deepEqual(t(K.v), { id: K.v, kind: 'var', name: 'counter', type: K.int, linkage: 'global' });
  assert.deepEqual(t(K.sec), { id: K.sec, kind: 'datasec', name: '.data', size: 4, vars: [{ type: K.v, offset: 0, size: 4 }] });
  assert.deepEqual(t(K.dbl), { id: K.dbl, kind: 'float', name: 'double', size: 8 });
  assert.deepEqual(t(K.tagT), { id: K.tagT, kind: 'decl_tag', name: 'noinline', type: K.func, componentIdx: -1, attribute: false });
  assert.deepEqual(t(K.tagP), { id: K.tagP, kind: 'decl_tag', name: 'nonnull', type: K.func, componentIdx: 1, attribute: true });
  assert.deepEqual(t(K.typeTag), { id: K.typeTag, kind: 'type_tag', name: 'user', type: K.char, attribute: false });
  assert.deepEqual(t(K.e64), { id: K.e64, kind: 'enum64', name: 'big', size: 8, signed: false, values: [{ name: 'HUGE', value: 0x8000000000000001n }, { name: 'SMALL', value: 7n }] });
  assert.deepEqual(t(K.se64), { id: K.se64, kind: 'enum64', name: 'sbig', size: 8, signed: true, values: [{ name: 'NEG', value: -2n }] });
  assert.equal(btf.kind(K.dbl), 'float');
  assert.equal(btf.nextId, K.legacy + 1);
  assert.equal(btf.type(K.int), btf.type(K.int), 'memoised');
});

test('name lookups per kind', () => {
  assert.deepEqual(btf.findAll('int'), [K.int, K.int3]);
  assert.equal(btf.findStruct('outer'), K.outer);
  assert.equal(btf.findStruct('color'), undefined);
  assert.equal(btf.findEnum('color'), K.enm);
  assert.equal(btf.findEnum('big'), K.e64);
  assert.equal(btf.findFunc('myprintf'), K.func);
  assert.equal(btf.findTypedef('u32'), K.u32);
  assert.equal(btf.findVar('counter'), K.v);
  assert.equal(btf.find('later', 'fwd'), K.fwdS);
  assert.deepEqual(btf.findAll('nonnull'), [], 'tags are not indexed');
  assert.deepEqual(btf.findAll('nope'), []);
  assert.deepEqual(btf.findAll(''), []);
});

test('typeName writes C declarators', () => {
  const n = (id: number): string => btf.typeName(id);
  assert.equal(n(0), 'void');
  assert.equal(n(K.ptrChar), 'char *');
  assert.equal(n(K.ptrConstChar), 'const char *');
  assert.equal(n(K.constPtrChar), 'char *const');
  assert.equal(n(K.restrictPtr), 'char *restrict');
  assert.equal(n(K.volInt), 'volatile int');
  assert.equal(n(K.arr), 'char[16]');
  assert.equal(n(K.ptrArr), 'char (*)[16]');
  assert.equal(n(K.fnPtr), 'void (*)(int)');
  assert.equal(n(K.proto), 'int (const char *, int, ...)');
  assert.equal(n(K.outer), 'struct outer');
  assert.equal(n(K.anonU), 'union {...}');
  assert.equal(n(K.enm), 'enum color');
  assert.equal(n(K.fwdU), 'union ulater');
  assert.equal(n(K.u32), 'u32');
  assert.equal(n(K.ptrUser), 'char *');
  assert.equal(n(K.func), 'int myprintf(const char *fmt, int n, ...)');
});

test('formatC prints definitions with bitfields and anonymous members inline', () => {
  assert.equal(btf.formatC(K.outer), [
    'struct outer {',
    '\tint a;',
    '\tunsigned char f1:3;',
    '\tunsigned char f2:5;',
    '\tunion {',
    '\t\tint u1;',
    '\t\tchar u2;',
    '\t};',
    '\tstruct inner in;',
    '\tchar name[16];',
    '\tconst char *s;',
    '};',
  ].join('\n'));
  assert.equal(btf.formatC(K.senm), 'enum delta {\n\tDOWN = -1,\n\tUP = 1,\n};');
  assert.equal(btf.formatC(K.u32), 'typedef int u32;');
  assert.equal(btf.formatC(K.func), 'int myprintf(const char *fmt, int n, ...);');
  assert.equal(btf.formatC(K.ptrChar), 'char *');
});

test('member paths through nested and anonymous members', () => {
  assert.deepEqual(btf.member(K.outer, 'a'), { offset: 0, bitOffset: 0, bitSize: 0, typeId: K.int });
  assert.deepEqual(btf.member(K.outer, 'f2'), { offset: 4, bitOffset: 35, bitSize: 5, typeId: K.uchar });
  assert.deepEqual(btf.member(K.outer, 'u2'), { offset: 8, bitOffset: 64, bitSize: 0, typeId: K.char });
  assert.deepEqual(btf.member(K.outer, 'in.x'), { offset: 12, bitOffset: 96, bitSize: 0, typeId: K.int });
  assert.deepEqual(btf.member(K.outer, 'name'), { offset: 16, bitOffset: 128, bitSize: 0, typeId: K.arr });
  assert.throws(() => btf.member(K.outer, 'zz'), (e: unknown) => e instanceof KscopeError && /struct outer has no member 'zz'/.test(e.message));
  assert.throws(() => btf.member(K.outer, 'a.b'), /int is not a struct or union/);
  assert.throws(() => btf.member(K.outer, 's.x'), /const char \* is not a struct or union/);
});

test('resolve, sizeof, alignof, shape', () => {
  assert.equal(btf.resolve(K.u32), K.int);
  assert.equal(btf.resolve(K.constPtrChar), K.ptrChar);
  assert.equal(btf.resolve(K.typeTag), K.char);
  assert.equal(btf.sizeof(K.u32), 4);
  assert.equal(btf.sizeof(K.arr), 16);
  assert.equal(btf.sizeof(K.ptrArr), 8);
  assert.equal(btf.sizeof(K.outer), 48);
  assert.equal(btf.sizeof(K.e64), 8);
  assert.throws(() => btf.sizeof(K.fwdS), /struct later has no size/);
  assert.equal(btf.alignof(K.outer), 8);
  assert.equal(btf.alignof(K.inner), 4);
  assert.equal(btf.alignof(K.arr), 1);
  assert.equal(btf.alignof(K.packed), 1, 'int at byte 1: packed');
  assert.deepEqual(btf.shape(K.u32), { id: K.int, kind: 'int', size: 4, signed: true, bits: 32, char: false });
  assert.deepEqual(btf.shape(K.uchar), { id: K.uchar, kind: 'int', size: 1, signed: false, bits: 8, char: true });
  assert.deepEqual(btf.shape(K.constPtrChar), { id: K.ptrChar, kind: 'ptr', size: 8, signed: false, bits: 64, char: false, elem: K.char });
  assert.deepEqual(btf.shape(K.arr), { id: K.arr, kind: 'array', size: 16, signed: false, bits: 0, char: false, elem: K.char, len: 16 });
  assert.deepEqual(btf.shape(K.senm), { id: K.senm, kind: 'enum', size: 4, signed: true, bits: 32, char: false });
  assert.deepEqual(btf.shape(K.outer), { id: K.outer, kind: 'struct', size: 48, signed: false, bits: 0, char: false });
  assert.equal(btf.shape(K.fnPtr).kind, 'ptr');
  assert.equal(btf.shape(K.fnProto).kind, 'func');
  assert.equal(btf.shape(0).kind, 'void');
});

test('enumValues and funcArgs', () => {
  assert.deepEqual([...btf.enumValues('color')], [['RED', 0], ['BLUE', 0xfffffffe]]);
  assert.deepEqual([...btf.enumValues('sbig')], [['NEG', -2n]]);
  assert.throws(() => btf.enumValues('nope'), KscopeError);
  assert.deepEqual(btf.funcArgs('myprintf'), { args: [{ name: 'fmt', typeId: K.ptrConstChar }, { name: 'n', typeId: K.int }], returnType: K.int, variadic: true });
  assert.throws(() => btf.funcArgs('nope'), /kernel function 'nope' not found/);
});

test('tracepointArgs: typedef btf_trace_<ev> types, names from __traceiter_<ev>', () => {
  const b = new Blob();
  const int = b.add('int', KIND.INT, 0, false, 4, [INT_SIGNED | 32]);
  const vp = b.add('', KIND.PTR, 0, false, 0);
  const anonProto = b.add('', KIND.FUNC_PROTO, 3, false, 0, [0, vp, 0, int, 0, vp]);
  const p = b.add('', KIND.PTR, 0, false, anonProto);
  b.add('btf_trace_ev', KIND.TYPEDEF, 0, false, p);
  b.add('btf_trace_noname', KIND.TYPEDEF, 0, false, p);
  const namedProto = b.add('', KIND.FUNC_PROTO, 3, false, int, [b.str('__data'), vp, b.str('cpu'), int, b.str('ctx'), vp]);
  b.add('__traceiter_ev', KIND.FUNC, 0, false, namedProto);
  const t = Btf.parse(b.build());
  assert.deepEqual(t.tracepointArgs('ev'), [{ name: 'cpu', typeId: int }, { name: 'ctx', typeId: vp }]);
  assert.deepEqual(t.tracepointArgs('sys:ev'), t.tracepointArgs('ev'));
  assert.deepEqual(t.tracepointArgs('noname'), [{ name: 'arg0', typeId: int }, { name: 'arg1', typeId: vp }]);
  assert.throws(() => t.tracepointArgs('missing'), /no typedef btf_trace_missing/);
});

test('split BTF: ids and strings continue after the base', () => {
  const base = new Blob();
  const int = base.add('int', KIND.INT, 0, false, 4, [INT_SIGNED | 32]);
  const shared = base.add('shared', KIND.STRUCT, 1, false, 4, [base.str('v'), int, 0]);
  const baseBuf = base.build();
  const baseBtf = Btf.parse(baseBuf);
  const strLen = baseBuf.readUInt32LE(20);
  const mod = new Blob(baseBtf.nextId, strLen);
  const ptr = mod.add('', KIND.PTR, 0, false, shared);
  const modStruct = mod.add('modstate', KIND.STRUCT, 2, false, 16, [mod.str('n'), int, 0, mod.str('p'), ptr, 64]);
  mod.add('shared', KIND.TYPEDEF, 0, false, shared); // same name, module's own string copy
  mod.add(1, KIND.TYPEDEF, 0, false, int); // name offset 1 = "int" in the base's strings
  const split = Btf.parse(mod.build(), baseBtf);
  assert.equal(split.firstId, 3);
  assert.equal(ptr, 3);
  assert.equal(split.nextId, 7);
  assert.equal(split.type(int).name, 'int', 'base ids resolve through the base');
  assert.equal(split.typeName(ptr), 'struct shared *');
  assert.equal(split.findStruct('shared'), shared);
  assert.deepEqual(split.findAll('shared'), [shared, 5]);
  assert.deepEqual(split.findAll('int'), [int, 6]);
  assert.equal(split.findStruct('modstate'), modStruct);
  assert.deepEqual(split.member(modStruct, 'p'), { offset: 8, bitOffset: 64, bitSize: 0, typeId: ptr });
  assert.equal(baseBtf.findStruct('modstate'), undefined);
  assert.throws(() => baseBtf.type(3), /out of range/);
});

test('rejects malformed blobs', () => {
  const good = K.blob;
  const bad = Buffer.from(good);
  bad.writeUInt16LE(0x1234, 0);
  assert.throws(() => Btf.parse(bad), /not a BTF blob/);
  const swapped = Buffer.from(good);
  swapped.writeUInt16BE(0xeb9f, 0);
  assert.throws(() => Btf.parse(swapped), /foreign byte order/);
  const unknown = new Blob();
  unknown.add('x', 20, 0, false, 0);
  assert.throws(() => Btf.parse(unknown.build()), /unknown BTF kind 20 at type id 1/);
  const trunc = new Blob();
  trunc.add('s', KIND.STRUCT, 5, false, 4, [0, 0, 0]);
  assert.throws(() => Btf.parse(trunc.build()), /truncated at type id 1/);
  assert.throws(() => Btf.parse(good.subarray(0, 10)), /too short/);
});

// ---------------------------------------------------------------------------------------------------------------
// The running kernel's BTF, checked against bpftool's raw dump (an independent decoder) when bpftool is installed.
// ---------------------------------------------------------------------------------------------------------------

const VMLINUX = '/sys/kernel/btf/vmlinux';
const hasVmlinux = existsSync(VMLINUX);
const hasBpftool = (() => {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
const NO_BPFTOOL = 'bpftool not installed: comparison with an independent BTF decoder skipped (apt-get install bpftool)';

interface RawType { id: number; kind: string; name: string; attrs: Record<string, string>; items: { name: string; attrs: Record<string, string> }[] }

/** Parses `bpftool btf dump ... format raw`. */
function bpftoolRaw(args: string[]): Map<number, RawType> {
  const out = execFileSync('bpftool', ['btf', 'dump', ...args, 'format', 'raw'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const types = new Map<number, RawType>();
  const kv = (s: string): Record<string, string> => Object.fromEntries([...s.matchAll(/(\w+)=(\S+?),?(?=\s|$)/g)].map((m) => [m[1], m[2]]));
  let cur: RawType | undefined;
  for (const line of out.split('\n')) {
    const t = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (t) {
      cur = { id: +t[1], kind: t[2], name: t[3] === '(anon)' ? '' : t[3], attrs: kv(t[4]), items: [] };
      types.set(cur.id, cur);
    } else if (line.startsWith('\t') && cur) {
      const m = /^\t(?:'([^']*)')?(.*)$/.exec(line)!;
      cur.items.push({ name: m[1] === undefined || m[1] === '(anon)' ? '' : m[1], attrs: kv(m[2]) });
    }
  }
  return types;
}

let rawCache: Map<number, RawType> | undefined;
const raw = (): Map<number, RawType> => (rawCache ??= bpftoolRaw(['file', VMLINUX]));

test('vmlinux: every type decodes as bpftool decodes it', { skip: !hasVmlinux ? 'no vmlinux BTF' : !hasBpftool && NO_BPFTOOL }, () => {
  const v = Btf.vmlinux();
  const r = raw();
  assert.equal(v.nextId - 1, [...r.keys()].reduce((a, b) => Math.max(a, b), 0));
  const ENC: Record<string, [boolean, boolean, boolean]> = { '(none)': [false, false, false], SIGNED: [true, false, false], CHAR: [false, true, false], BOOL: [false, false, true] };
  for (const [id, e] of r) {
    const t = v.type(id);
    const where = `type [${id}] ${e.kind} '${e.name}'`;
    assert.equal(t.kind.toUpperCase(), e.kind, where);
    assert.equal(t.name, e.name, where);
    const a = e.attrs;
    switch (t.kind) {
      case 'int':
        assert.deepEqual([t.size, t.bits, t.bitOffset, t.signed, t.char, t.bool], [+a.size, +a.nr_bits, +a.bits_offset, ...ENC[a.encoding]], where);
        break;
      case 'ptr': case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag':
        assert.equal(t.type, +a.type_id, where);
        break;
      case 'array':
        assert.deepEqual([t.type, t.indexType, t.nelems], [+a.type_id, +a.index_type_id, +a.nr_elems], where);
        break;
      case 'struct': case 'union':
        assert.equal(t.size, +a.size, where);
        assert.deepEqual(t.members, e.items.map((m) => ({ name: m.name, type: +m.attrs.type_id, bitOffset: +m.attrs.bits_offset, bitSize: +(m.attrs.bitfield_size ?? 0) })), where);
        break;
      case 'enum': case 'enum64':
        assert.deepEqual([t.size, t.signed], [+a.size, a.encoding === 'SIGNED'], where);
        assert.deepEqual(t.values.map((x) => [x.name, String(x.value)]), e.items.map((m) => [m.name, m.attrs.val.replace(/U?LL$/, '')]), where);
        break;
      case 'fwd':
        assert.equal(t.union, a.fwd_kind === 'union', where);
        break;
      case 'func':
        assert.deepEqual([t.type, t.linkage], [+a.type_id, a.linkage], where);
        break;
      case 'func_proto': {
        const items = e.items.map((m) => ({ name: m.name, type: +m.attrs.type_id }));
        const variadic = items.length > 0 && items[items.length - 1].type === 0 && items[items.length - 1].name === '';
        assert.deepEqual([t.returnType, t.params, t.variadic], [+a.ret_type_id, variadic ? items.slice(0, -1) : items, variadic], where);
        break;
      }
      case 'var':
        assert.deepEqual([t.type, t.linkage], [+a.type_id, a.linkage], where);
        break;
      case 'datasec':
        assert.equal(t.size, +a.size, where);
        assert.deepEqual(t.vars, e.items.map((m) => ({ type: +m.attrs.type_id, offset: +m.attrs.offset, size: +m.attrs.size })), where);
        break;
      case 'float':
        assert.equal(t.size, +a.size, where);
        break;
      case 'decl_tag':
        assert.deepEqual([t.type, t.componentIdx], [+a.type_id, +a.component_idx], where);
        break;
    }
  }
});

test('vmlinux: task_struct and sock offsets', { skip: !hasVmlinux && 'no vmlinux BTF' }, () => {
  const v = Btf.vmlinux();
  const task = v.findStruct('task_struct')!;
  assert.ok(task > 0);
  const pid = v.member(task, 'pid'), tgid = v.member(task, 'tgid'), parent = v.member(task, 'real_parent');
  // Relations that always hold: tgid follows pid, both 4-byte signed ints (pid_t); real_parent is a task pointer.
  assert.equal(tgid.offset, pid.offset + 4);
  for (const m of [pid, tgid]) {
    assert.equal(v.typeName(m.typeId), 'pid_t');
    assert.deepEqual([v.shape(m.typeId).kind, v.shape(m.typeId).size, v.shape(m.typeId).signed], ['int', 4, true]);
  }
  assert.equal(v.typeName(parent.typeId), 'struct task_struct *');
  assert.ok(parent.offset > tgid.offset && parent.offset % 8 === 0);
  const sock = v.findStruct('sock')!, common = v.findStruct('sock_common')!;
  const dport = v.member(sock, '__sk_common.skc_dport');
  assert.equal(dport.offset, v.member(common, 'skc_dport').offset, '__sk_common is the first member of sock');
  assert.equal(v.sizeof(dport.typeId), 2);
  assert.equal(v.typeName(dport.typeId), '__be16');
  assert.equal(v.member(common, 'skc_num').offset, dport.offset + 2);
  assert.ok(v.sizeof(task) > parent.offset);
});

test('vmlinux: offsets agree with bpftool', { skip: !hasVmlinux ? 'no vmlinux BTF' : !hasBpftool && NO_BPFTOOL }, () => {
  const v = Btf.vmlinux();
  const r = raw();
  const byName = (kind: string, name: string): RawType => [...r.values()].find((t) => t.kind === kind && t.name === name)!;
  const skip = (id: number): RawType => {
    let t = r.get(id)!;
    while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) t = r.get(+t.attrs.type_id)!;
    return t;
  };
  /** Independent member search over bpftool's dump, descending into anonymous members. */
  const find = (t: RawType, name: string, base: number): { bits: number; type: number } | undefined => {
    for (const m of t.items) {
      const off = base + +m.attrs.bits_offset;
      if (m.name === name) return { bits: off, type: +m.attrs.type_id };
      if (m.name === '') {
        const inner = skip(+m.attrs.type_id);
        const hit = ['STRUCT', 'UNION'].includes(inner.kind) ? find(inner, name, off) : undefined;
        if (hit) return hit;
      }
    }
    return undefined;
  };
  const path = (t: RawType, p: string): { bits: number; type: number } => {
    let acc = 0, cur = t, hit: { bits: number; type: number } | undefined;
    for (const part of p.split('.')) {
      hit = find(cur, part, 0)!;
      acc += hit.bits;
      cur = skip(hit.type);
    }
    return { bits: acc, type: hit!.type };
  };
  for (const [s, p] of [['task_struct', 'pid'], ['task_struct', 'tgid'], ['task_struct', 'real_parent'], ['task_struct', 'comm'], ['sock', '__sk_common.skc_dport'], ['sock_common', 'skc_dport'], ['sock', '__sk_common.skc_family'], ['sock_common', 'skc_reuse']]) {
    const want = path(byName('STRUCT', s), p);
    const got = v.member(v.findStruct(s)!, p);
    assert.deepEqual([got.bitOffset, got.offset, got.typeId], [want.bits, want.bits >>> 3, want.type], `${s}.${p}`);
  }
});

test('vmlinux: struct sock_common in C, in declaration order with bitfield widths', { skip: !hasVmlinux && 'no vmlinux BTF' }, () => {
  const v = Btf.vmlinux();
  const id = v.findStruct('sock_common')!;
  const text = v.formatC(id);
  assert.match(text, /^struct sock_common \{\n/);
  assert.match(text, /\n\};$/);
  // Flatten BTF's member list (anonymous members inline), then find each declaration in the text, in order.
  const flat: { name: string; bitSize: number }[] = [];
  const walk = (sid: number): void => {
    for (const m of (v.type(sid) as BtfComposite).members) {
      if (m.name) flat.push(m);
      else walk(v.resolve(m.type));
    }
  };
  walk(id);
  assert.ok(flat.some((m) => m.name === 'skc_dport') && flat.some((m) => m.bitSize > 0));
  let at = 0;
  for (const m of flat) {
    const re = new RegExp(`[ *]${m.name}(\\[\\d+\\])?${m.bitSize ? `:${m.bitSize}` : ''};`, 'g');
    re.lastIndex = at;
    const hit = re.exec(text);
    assert.ok(hit, `member ${m.name}${m.bitSize ? `:${m.bitSize}` : ''} after offset ${at}`);
    at = re.lastIndex;
  }
  assert.match(text, /\tunsigned char skc_reuse:4;\n/);
});

test('vmlinux: tracepoint, function and enum queries', { skip: !hasVmlinux && 'no vmlinux BTF' }, () => {
  const v = Btf.vmlinux();
  const args = v.tracepointArgs('sched_switch');
  assert.deepEqual(args.map((a) => a.name), ['preempt', 'prev', 'next', 'prev_state']);
  assert.equal(v.typeName(args[1].typeId), 'struct task_struct *');
  assert.equal(v.typeName(args[2].typeId), 'struct task_struct *');
  const ids = v.enumValues('bpf_func_id');
  assert.equal(ids.get('BPF_FUNC_map_lookup_elem'), 1);
  assert.equal(ids.get('BPF_FUNC_ringbuf_output'), 130);
  const f = v.funcArgs('vfs_read');
  assert.deepEqual(f.args.map((a) => a.name), ['file', 'buf', 'count', 'pos']);
  assert.equal(v.typeName(f.args[0].typeId), 'struct file *');
  assert.equal(v.typeName(f.returnType), 'ssize_t');
  assert.equal(Btf.vmlinux(), v, 'cached');
});

const mods = existsSync('/sys/kernel/btf') ? readdirSync('/sys/kernel/btf').filter((f) => f !== 'vmlinux') : [];

test('module BTF: ids continue after vmlinux', { skip: mods.length === 0 && 'no module BTF on this machine (/sys/kernel/btf has only vmlinux)' }, () => {
  const v = Btf.vmlinux();
  const m = Btf.module(mods[0]);
  assert.equal(m.firstId, v.nextId);
  assert.ok(m.nextId >= m.firstId);
  for (let id = m.firstId; id < m.nextId; id++) m.type(id);
  if (hasBpftool) {
    const r = bpftoolRaw(['file', `/sys/kernel/btf/${mods[0]}`, 'base', VMLINUX]);
    for (const [id, e] of r) assert.equal(m.type(id).name, e.name, `module type ${id}`);
  }
});
