import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from './btf.js';
import { BtfWriter, forEachCallbackBtf, FUNC_INFO_REC_SIZE } from './writer.js';

test('a written blob decodes back to the same types', () => {
  const w = new BtfWriter();
  const u32 = w.int('u32', 4, false);
  const s64 = w.int('s64', 8, true);
  const p = w.ptr(u32);
  const proto = w.funcProto(s64, [{ name: 'a', type: p }, { name: 'b', type: u32 }]);
  const f = w.func('f', proto, 'static');
  const g = w.func('g', proto, 'global');
  const btf = Btf.parse(w.build());
  assert.deepEqual([u32, s64, p, proto, f, g], [1, 2, 3, 4, 5, 6]);
  assert.equal(btf.nextId, 7);
  assert.deepEqual(btf.type(u32), { id: 1, kind: 'int', name: 'u32', size: 4, bits: 32, bitOffset: 0, signed: false, char: false, bool: false });
  assert.deepEqual(btf.type(s64), { id: 2, kind: 'int', name: 's64', size: 8, bits: 64, bitOffset: 0, signed: true, char: false, bool: false });
  assert.deepEqual(btf.type(p), { id: 3, kind: 'ptr', name: '', type: u32 });
  assert.deepEqual(btf.type(proto), { id: 4, kind: 'func_proto', name: '', returnType: s64, params: [{ name: 'a', type: p }, { name: 'b', type: u32 }], variadic: false });
  assert.deepEqual(btf.type(f), { id: 5, kind: 'func', name: 'f', type: proto, linkage: 'static' });
  assert.equal((btf.type(g) as { linkage: string }).linkage, 'global');
  assert.equal(btf.findFunc('g'), g);
});

test('strings are stored once; names must be identifiers', () => {
  const w = new BtfWriter();
  w.int('int', 4, true);
  const once = w.build().length;
  w.func('int', w.funcProto(1, []), 'static');
  // two more types of 12 bytes each (no params, no extra words), no new string
  assert.equal(w.build().length, once + 24);
  assert.throws(() => w.int('no-dash', 4, true), /invalid BTF name 'no-dash'/);
});

test('func_info for a main program and its for_each callbacks', () => {
  const r = forEachCallbackBtf('kprobe:do_sys*', [{ name: 'for_map_1', insn: 40 }, { name: 'for_map_2', insn: 57 }]);
  assert.equal(r.count, 3);
  assert.equal(r.funcInfo.length, 3 * FUNC_INFO_REC_SIZE);
  const recs = [0, 1, 2].map((i) => [r.funcInfo.readUInt32LE(i * 8), r.funcInfo.readUInt32LE(i * 8 + 4)] as const);
  assert.deepEqual(recs.map(([insn]) => insn), [0, 40, 57]);
  const btf = Btf.parse(r.btf);
  const [main, cb1, cb2] = recs.map(([, id]) => btf.type(id) as { kind: string; name: string; type: number; linkage: string });
  assert.deepEqual([main!.kind, main!.name, main!.linkage], ['func', 'kprobe_do_sys_', 'global']);
  assert.deepEqual([cb1!.name, cb1!.linkage, cb2!.name, cb2!.linkage], ['for_map_1', 'static', 'for_map_2', 'static']);
  const proto = btf.type(cb1!.type) as { params: { name: string; type: number }[]; returnType: number };
  assert.deepEqual(proto.params.map((p) => p.name), ['map', 'key', 'value', 'ctx']);
  assert.ok(proto.params.every((p) => btf.type(p.type).kind === 'ptr' && (btf.type(p.type) as { type: number }).type === 0));
  assert.equal(btf.sizeof(proto.returnType), 8);
  const mainProto = btf.type(main!.type) as { params: unknown[]; returnType: number };
  assert.equal(mainProto.params.length, 1);
  assert.equal(btf.sizeof(mainProto.returnType), 4);
  assert.throws(() => forEachCallbackBtf('m', [{ name: 'a', insn: 9 }, { name: 'b', insn: 9 }]), /not after the previous one/);
});

test('struct, union, array, enum, fwd, typedef and float decode back, with reserved ids for cycles', () => {
  const w = new BtfWriter();
  const int = w.int('int', 4, true);
  const uchar = w.int('unsigned char', 1, false);
  const char = w.int('char', 1, true, { char: true });
  const bool = w.int('_Bool', 1, false, { bool: true });
  const node = w.reserve();
  const next = w.ptr(node);
  const name = w.array(char, int, 16);
  w.composite('struct', 'node', 32, [
    { name: 'a', type: int, bitOffset: 0, bitSize: 0 },
    { name: 'name', type: name, bitOffset: 32, bitSize: 0 },
    { name: 'next', type: next, bitOffset: 192, bitSize: 0 },
  ], node);
  const bits = w.composite('struct', 'bits', 4, [
    { name: 'x', type: uchar, bitOffset: 0, bitSize: 3 },
    { name: 'y', type: uchar, bitOffset: 3, bitSize: 5 },
    { name: '', type: int, bitOffset: 8, bitSize: 0 },
  ]);
  const u = w.composite('union', '', 4, [{ name: 'i', type: int, bitOffset: 0, bitSize: 0 }]);
  const e = w.enum('color', 4, true, [{ name: 'RED', value: -1 }, { name: 'BLUE', value: 7 }]);
  const fwd = w.fwd('later', true);
  const td = w.typedef('node_t', node);
  const dbl = w.float('double', 8);
  const btf = Btf.parse(w.build());
  assert.deepEqual(btf.type(node), {
    id: node, kind: 'struct', name: 'node', size: 32, members: [
      { name: 'a', type: int, bitOffset: 0, bitSize: 0 },
      { name: 'name', type: name, bitOffset: 32, bitSize: 0 },
      { name: 'next', type: next, bitOffset: 192, bitSize: 0 },
    ],
  });
  assert.equal(btf.typeName(next), 'struct node *');
  assert.equal(btf.typeName(name), 'char[16]');
  assert.deepEqual((btf.type(bits) as { members: unknown[] }).members, [
    { name: 'x', type: uchar, bitOffset: 0, bitSize: 3 },
    { name: 'y', type: uchar, bitOffset: 3, bitSize: 5 },
    { name: '', type: int, bitOffset: 8, bitSize: 0 },
  ]);
  assert.deepEqual(btf.member(bits, 'y'), { offset: 0, bitOffset: 3, bitSize: 5, typeId: uchar });
  assert.equal(btf.type(u).kind, 'union');
  assert.deepEqual(btf.type(e), { id: e, kind: 'enum', name: 'color', size: 4, signed: true, values: [{ name: 'RED', value: -1 }, { name: 'BLUE', value: 7 }] });
  assert.deepEqual(btf.type(fwd), { id: fwd, kind: 'fwd', name: 'later', union: true });
  assert.equal(btf.resolve(td), node);
  assert.equal(btf.findTypedef('node_t'), td);
  assert.deepEqual(btf.type(dbl), { id: dbl, kind: 'float', name: 'double', size: 8 });
  assert.deepEqual([(btf.type(char) as { char: boolean }).char, (btf.type(bool) as { bool: boolean }).bool, btf.typeName(uchar)], [true, true, 'unsigned char']);
  assert.equal(btf.sizeof(node), 32);
  const r = new BtfWriter();
  r.reserve();
  assert.throws(() => r.build(), /reserved but never defined/);
  assert.throws(() => r.ptr(0, 99), /not reserved/);
});

test('split BTF continues the base blob: ids, strings, and references to base types', () => {
  const b = new BtfWriter();
  const int = b.int('int', 4, true);
  b.composite('struct', 'base_s', 8, [{ name: 'x', type: int, bitOffset: 0, bitSize: 0 }, { name: 'y', type: int, bitOffset: 32, bitSize: 0 }]);
  const base = Btf.parse(b.build());
  const w = new BtfWriter({ nextId: base.nextId, stringsLength: base.stringsLength });
  assert.equal(w.firstId, base.nextId);
  const p = w.ptr(base.findStruct('base_s')!);
  const s = w.composite('struct', 'mine', 16, [{ name: 'x', type: int, bitOffset: 0, bitSize: 0 }, { name: 'p', type: p, bitOffset: 64, bitSize: 0 }]);
  const split = Btf.parse(w.build(), base);
  assert.equal(split.findStruct('mine'), s);
  assert.equal(split.typeName(p), 'struct base_s *');
  assert.deepEqual(split.member(s, 'p'), { offset: 8, bitOffset: 64, bitSize: 0, typeId: p });
  assert.equal(split.sizeof(split.findStruct('base_s')!), 8);
  assert.equal(split.stringsLength, base.stringsLength + 'x\0p\0mine\0'.length);
});
