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
