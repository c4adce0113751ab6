import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type MapSnapshot, histBucket, lhistBucket } from './bpftrace.js';
import {
  jsonAttachedProbes, jsonErrorf, jsonExit, jsonHelperError, jsonJoin, jsonLostEvents, jsonMap, jsonPrintValue, jsonPrintf,
  jsonRuntimeError, jsonString, jsonTime,
} from './json.js';
import { buffer, pointer, stack, tuple } from './values.js';

function counts(values: number[], bucket: (v: bigint) => number): bigint[] {
  const c: bigint[] = [];
  for (const v of values) {
    const i = bucket(BigInt(v));
    while (c.length <= i) c.push(0n);
    c[i]! += 1n;
  }
  return c;
}
const hc = (values: number[], bits = 0) => counts(values, (v) => histBucket(v, bits));
const lc = (values: number[], min: number, max: number, step: number) => counts(values, (v) => lhistBucket(v, min, max, step));

/** Parses NDJSON and checks that objects keep the key order of `expected` too. */
function assertJson(actual: string, expected: unknown) {
  assert.ok(actual.endsWith('\n') && !actual.slice(0, -1).includes('\n'), 'one object per line');
  const parsed: unknown = JSON.parse(actual);
  assert.deepStrictEqual(parsed, expected);
  assert.equal(JSON.stringify(parsed), JSON.stringify(expected));
}

test('captured bpftrace lines (same bytes in latest)', () => {
  assert.equal(jsonPrintf('hi 5\n'), '{"type": "printf", "data": "hi 5\\n"}\n');
  assert.equal(jsonMap({ name: '@b', kind: 'int', entries: [{ key: 'y', value: 3n }, { key: 'x', value: 2n }] }), '{"type": "map", "data": {"@b": {"x": 2, "y": 3}}}\n');
  assert.equal(jsonPrintValue(7n), '{"type": "value", "data": 7}\n');
  assert.equal(jsonPrintValue('s'), '{"type": "value", "data": "s"}\n');
  assert.equal(jsonPrintValue(tuple(1n, 2n)), '{"type": "value", "data": [1,2]}\n');
  assert.equal(jsonTime('2026\n'), '{"type": "time", "data": "2026\\n"}\n');
  assert.equal(jsonMap({ name: '@a', kind: 'int', entries: [{ value: 1n }] }), '{"type": "map", "data": {"@a": 1}}\n');
  assert.equal(jsonMap({ name: '@av', kind: 'avg', entries: [{ value: { total: 10n, count: 2n } }] }), '{"type": "stats", "data": {"@av": 5}}\n');
  assert.equal(jsonMap({ name: '@c', kind: 'count', entries: [{ key: tuple(1n, 'a'), value: 4n }] }), '{"type": "map", "data": {"@c": {"1,a": 4}}}\n');
  assert.equal(
    jsonMap({ name: '@k', kind: 'stats', entries: [{ key: 'z', value: { total: 1n, count: 1n } }] }),
    '{"type": "stats", "data": {"@k": {"z": {"count": 1, "average": 1, "total": 1}}}}\n',
  );
  assert.equal(jsonMap({ name: '@t', kind: 'value', entries: [{ value: tuple(1n, 'x') }] }), '{"type": "map", "data": {"@t": [1,"x"]}}\n');
});

test('histograms: closed intervals, no min below zero, no max on overflow; latest joins rows with ","', () => {
  const h: MapSnapshot = { name: '@h', kind: 'hist', bits: 0, entries: [{ value: hc([5, 100]) }] };
  assert.equal(
    jsonMap(h),
    '{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1},{"min": 8, "max": 15, "count": 0},' +
      '{"min": 16, "max": 31, "count": 0},{"min": 32, "max": 63, "count": 0},{"min": 64, "max": 127, "count": 1}]}}\n',
  );
  assertJson(jsonMap({ name: '@h', kind: 'hist', bits: 0, entries: [{ value: hc([-1, 0, 2]) }] }), {
    type: 'hist',
    data: { '@h': [{ max: -1, count: 1 }, { min: 0, max: 0, count: 1 }, { min: 1, max: 1, count: 0 }, { min: 2, max: 3, count: 1 }] },
  });
  assertJson(jsonMap({ name: '@l', kind: 'lhist', min: 0, max: 100, step: 5, entries: [{ value: lc([3], 0, 100, 5) }] }), {
    type: 'hist', data: { '@l': [{ min: 0, max: 4, count: 1 }] },
  });
});

test('upstream tests/runtime/outputs: hist.json, hist_10g.json, hist_zero.json, lhist.json, lhist_zero.json', () => {
  assertJson(jsonMap({ name: '@hist', kind: 'hist', bits: 0, entries: [{ value: hc([2, 1025]) }] }), {
    type: 'hist',
    data: {
      '@hist': [
        { min: 2, max: 3, count: 1 }, { min: 4, max: 7, count: 0 }, { min: 8, max: 15, count: 0 }, { min: 16, max: 31, count: 0 },
        { min: 32, max: 63, count: 0 }, { min: 64, max: 127, count: 0 }, { min: 128, max: 255, count: 0 },
        { min: 256, max: 511, count: 0 }, { min: 512, max: 1023, count: 0 }, { min: 1024, max: 2047, count: 1 },
      ],
    },
  });
  assertJson(jsonMap({ name: '@', kind: 'hist', bits: 0, entries: [{ value: hc([10 * 1024 * 1024 * 1024]) }] }), {
    type: 'hist', data: { '@': [{ min: 8589934592, max: 17179869183, count: 1 }] },
  });
  assertJson(jsonMap({ name: '@hist', kind: 'hist', bits: 0, entries: [{ value: [0n, 0n, 0n, 0n] }] }), { type: 'hist', data: { '@hist': [] } });
  assertJson(jsonMap({ name: '@h', kind: 'lhist', min: 0, max: 100, step: 10, entries: [{ value: lc([2, 50, 1000], 0, 100, 10) }] }), {
    type: 'hist',
    data: {
      '@h': [
        { min: 0, max: 9, count: 1 }, { min: 10, max: 19, count: 0 }, { min: 20, max: 29, count: 0 }, { min: 30, max: 39, count: 0 },
        { min: 40, max: 49, count: 0 }, { min: 50, max: 59, count: 1 }, { min: 60, max: 69, count: 0 }, { min: 70, max: 79, count: 0 },
        { min: 80, max: 89, count: 0 }, { min: 90, max: 99, count: 0 }, { min: 100, count: 1 },
      ],
    },
  });
  assertJson(jsonMap({ name: '@h', kind: 'lhist', min: 0, max: 100, step: 10, entries: [{ value: [0n, 0n] }] }), { type: 'hist', data: { '@h': [] } });
});

test('upstream hist_2args.json: hist($i, 3) for $i in 0..1023', () => {
  const expected: { min: number; max: number; count: number }[] = [];
  for (let v = 0; v < 16; v++) expected.push({ min: v, max: v, count: 1 });
  for (let size = 2; size <= 64; size *= 2) {
    for (let j = 0; j < 8; j++) {
      const min = size * 8 + j * size;
      expected.push({ min, max: min + size - 1, count: size });
    }
  }
  const values = Array.from({ length: 1024 }, (_, i) => i);
  assertJson(jsonMap({ name: '@', kind: 'hist', bits: 3, entries: [{ value: hc(values, 3) }] }), { type: 'hist', data: { '@': expected } });
  assert.deepEqual(expected.slice(15, 18), [{ min: 15, max: 15, count: 1 }, { min: 16, max: 17, count: 2 }, { min: 18, max: 19, count: 2 }]);
  assert.deepEqual(expected.at(-1), { min: 960, max: 1023, count: 64 });
});

test('upstream keyed outputs: hist_multiple, hist_multiple_multiple_keys, lhist_multiple, stats_multiple, complex, map', () => {
  assertJson(
    jsonMap({ name: '@', kind: 'hist', bits: 0, entries: [{ key: 'curl', value: hc([-1, 0, 511, 1024, 1025]) }, { key: 'bpftrace', value: hc([2]) }] }),
    {
      type: 'hist',
      data: {
        '@': {
          bpftrace: [{ min: 2, max: 3, count: 1 }],
          curl: [
            { max: -1, count: 1 }, { min: 0, max: 0, count: 1 }, { min: 1, max: 1, count: 0 }, { min: 2, max: 3, count: 0 },
            { min: 4, max: 7, count: 0 }, { min: 8, max: 15, count: 0 }, { min: 16, max: 31, count: 0 }, { min: 32, max: 63, count: 0 },
            { min: 64, max: 127, count: 0 }, { min: 128, max: 255, count: 0 }, { min: 256, max: 511, count: 1 },
            { min: 512, max: 1023, count: 0 }, { min: 1024, max: 2047, count: 2 },
          ],
        },
      },
    },
  );
  assertJson(
    jsonMap({ name: '@', kind: 'hist', bits: 0, entries: [{ key: tuple('bpftrace', 2n), value: hc([2]) }, { key: tuple('curl', 3n), value: hc([511, 1024]) }] }),
    {
      type: 'hist',
      data: { '@': { 'bpftrace,2': [{ min: 2, max: 3, count: 1 }], 'curl,3': [{ min: 256, max: 511, count: 1 }, { min: 512, max: 1023, count: 0 }, { min: 1024, max: 2047, count: 1 }] } },
    },
  );
  const lhistStats = jsonMap({
    name: '@stats', kind: 'lhist', min: 0, max: 100, step: 10,
    entries: [{ key: 'bpftrace', value: lc([2, 1000], 0, 100, 10) }, { key: 'curl', value: lc([50], 0, 100, 10) }],
  });
  const parsed = JSON.parse(lhistStats) as { data: { '@stats': Record<string, unknown[]> } };
  assert.deepEqual(Object.keys(parsed.data['@stats']), ['curl', 'bpftrace']);
  assert.deepEqual(parsed.data['@stats'].curl, [{ min: 50, max: 59, count: 1 }]);
  assert.deepEqual(parsed.data['@stats'].bpftrace?.at(-1), { min: 100, count: 1 });
  assertJson(
    jsonMap({ name: '@stats', kind: 'stats', entries: [{ key: 'zsh', value: { total: 10n, count: 1n } }, { key: 'curl', value: { total: 2n, count: 1n } }] }),
    { type: 'stats', data: { '@stats': { curl: { count: 1, average: 2, total: 2 }, zsh: { count: 1, average: 10, total: 10 } } } },
  );
  assertJson(jsonMap({ name: '@stats', kind: 'stats', entries: [{ value: { total: 12n, count: 2n } }] }), { type: 'stats', data: { '@stats': { count: 2, average: 6, total: 12 } } });
  assertJson(jsonMap({ name: '@complex', kind: 'int', entries: [{ key: tuple('bpftrace', 2n), value: 5n }] }), { type: 'map', data: { '@complex': { 'bpftrace,2': 5 } } });
  assertJson(jsonMap({ name: '@map', kind: 'int', entries: [{ key: 'key1', value: 2n }, { key: 'key2', value: 3n }] }), { type: 'map', data: { '@map': { key1: 2, key2: 3 } } });
  assertJson(jsonMap({ name: '@scalar_str', kind: 'value', entries: [{ value: 'a b \n d e' }] }), { type: 'map', data: { '@scalar_str': 'a b \n d e' } });
});

test('exit: maps in name order, empty keyed maps omitted, no blank lines', () => {
  const out = jsonExit([
    { name: '@map2', kind: 'int', entries: [{ key: 'key2', value: 3n }] },
    { name: '@empty', kind: 'count', entries: [] },
    { name: '@map1', kind: 'int', entries: [{ key: 'key1', value: 2n }] },
  ]);
  assert.equal(out, '{"type": "map", "data": {"@map1": {"key1": 2}}}\n{"type": "map", "data": {"@map2": {"key2": 3}}}\n');
});

test('values: big integers as strings, pointers numeric, buffers signed bytes, stacks and keys without spaces', () => {
  assert.equal(jsonPrintValue(9007199254740993n), '{"type": "value", "data": "9007199254740993"}\n');
  assert.equal(jsonPrintValue(18446744073709551615n), '{"type": "value", "data": "18446744073709551615"}\n');
  assert.equal(jsonPrintValue(-9223372036854775808n), '{"type": "value", "data": -9223372036854775808}\n');
  assert.equal(jsonPrintValue(pointer(0x1000n)), '{"type": "value", "data": 4096}\n');
  assert.equal(jsonPrintValue(buffer([0x61, 0xff, 0x01])), '{"type": "value", "data": [97,-1,1]}\n');
  assert.equal(jsonPrintValue({ kind: 'record', fields: [['a', 1n], ['b', true], ['c', null]] }), '{"type": "value", "data": {"a": 1, "b": true, "c": null}}\n');
  assert.equal(
    jsonMap({ name: '@', kind: 'count', entries: [{ key: stack(['f1', 'f2']), value: 3n }, { key: 'a b', value: 4n }] }),
    '{"type": "map", "data": {"@": {"\\nf1\\nf2\\n": 3, "ab": 4}}}\n',
  );
  assert.equal(jsonString('q"\\\t\r\x01'), '"q\\"\\\\\\t\\r\\u0001"');
});

test('other line types', () => {
  assert.equal(jsonAttachedProbes(2), '{"type": "attached_probes", "count": 2, "data": {"probes": 2}}\n');
  assert.equal(jsonLostEvents(7), '{"type": "lost_events", "count": 7, "data": {"events": 7}}\n');
  assert.equal(jsonJoin(['/usr/bin/true', 'a', '']), '{"type": "join", "data": "/usr/bin/true a"}\n');
  const loc = { filename: 'stdin', line: 1, col: 9 };
  assert.equal(jsonErrorf('errorf', 'x 1', loc), '{"type": "errorf", "msg": "x 1", "filename": "stdin", "line": 1, "col": 9}\n');
  assert.equal(
    jsonHelperError('No such file or directory', 1, -2, loc),
    '{"type": "helper_error", "msg": "No such file or directory", "helper": "1", "retcode": -2, "filename": "stdin", "line": 1, "col": 9}\n',
  );
  assert.equal(jsonRuntimeError('division by zero', loc), '{"type": "runtime_error", "msg": "division by zero", "filename": "stdin", "line": 1, "col": 9}\n');
});
