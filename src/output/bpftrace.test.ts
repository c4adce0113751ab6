import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type MapSnapshot, checkFormat, formatAttachedProbes, formatExit, formatGfpFlags, formatJoin, formatLostEvents, formatMap,
  formatPrintValue, formatPrintf, formatTime, histBucket, lhistBucket, parseFormat,
} from './bpftrace.js';
import { buffer, pointer, stack, tuple } from './values.js';

/** Bucket counts of hist(v, bits) over `values`, as the BPF side would accumulate them. */
function histCounts(values: number[], bits = 0): bigint[] {
  const c: bigint[] = [];
  for (const v of values) {
    const i = histBucket(BigInt(v), bits);
    while (c.length <= i) c.push(0n);
    c[i]! += 1n;
  }
  return c;
}
function lhistCounts(values: number[], min: number, max: number, step: number): bigint[] {
  const c: bigint[] = [];
  for (const v of values) {
    const i = lhistBucket(BigInt(v), min, max, step);
    while (c.length <= i) c.push(0n);
    c[i]! += 1n;
  }
  return c;
}
const hist = (name: string, values: number[], bits = 0): MapSnapshot => ({ name, kind: 'hist', bits, entries: [{ value: histCounts(values, bits) }] });

test('hist bucket numbering (k = 0 and k = 3)', () => {
  assert.deepEqual([-5, 0, 1, 2, 3, 4, 7, 8, 1000].map((v) => histBucket(BigInt(v))), [0, 1, 2, 3, 3, 4, 4, 5, 11]);
  assert.deepEqual([0, 15, 16, 17, 18, 20, 1023].map((v) => histBucket(BigInt(v), 3)), [1, 16, 17, 17, 18, 19, 64]);
  assert.deepEqual([-3, 0, 9, 10, 99, 100, 250].map((v) => lhistBucket(BigInt(v), 0, 100, 10)), [0, 1, 1, 2, 10, 11, 11]);
});

test('hist of {0,1,1,2,3,4,8,8,8,1000}', () => {
  const expected = [
    '@h:',
    '[0]                    1 |@@@@@@@@@@@@@@@@@                                   |',
    '[1]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |',
    '[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |',
    '[4, 8)                 1 |@@@@@@@@@@@@@@@@@                                   |',
    '[8, 16)                3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|',
    '[16, 32)               0 |                                                    |',
    '[32, 64)               0 |                                                    |',
    '[64, 128)              0 |                                                    |',
    '[128, 256)             0 |                                                    |',
    '[256, 512)             0 |                                                    |',
    '[512, 1K)              1 |@@@@@@@@@@@@@@@@@                                   |',
    '',
    '',
  ].join('\n');
  assert.equal(formatMap(hist('@h', [0, 1, 1, 2, 3, 4, 8, 8, 8, 1000])), expected);
});

test('hist with negatives and K/M labels (research example, latest has no space after the colon)', () => {
  const expected = `@h:
(..., 0)               1 |@@@@@@@@@@@@@@@@@                                   |
[0]                    1 |@@@@@@@@@@@@@@@@@                                   |
[1]                    1 |@@@@@@@@@@@@@@@@@                                   |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |
[4, 8)                 3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)                1 |@@@@@@@@@@@@@@@@@                                   |
[16, 32)               0 |                                                    |
[32, 64)               0 |                                                    |
[64, 128)              1 |@@@@@@@@@@@@@@@@@                                   |
[128, 256)             0 |                                                    |
[256, 512)             0 |                                                    |
[512, 1K)              0 |                                                    |
[1K, 2K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                  |
[2K, 4K)               0 |                                                    |
[4K, 8K)               0 |                                                    |
[8K, 16K)              0 |                                                    |
[16K, 32K)             0 |                                                    |
[32K, 64K)             0 |                                                    |
[64K, 128K)            0 |                                                    |
[128K, 256K)           0 |                                                    |
[256K, 512K)           0 |                                                    |
[512K, 1M)             0 |                                                    |
[1M, 2M)               1 |@@@@@@@@@@@@@@@@@                                   |

`;
  assert.equal(formatMap(hist('@h', [0, 1, 2, 3, 4, 5, 7, 8, 100, 1024, 1500, 1048576, -5])), expected);
});

test('upstream runtime outputs hist.txt and hist_2_values.txt', () => {
  assert.equal(formatMap(hist('@', [2, 3, 7, -1, 16])), `@:
(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[0]                    0 |                                                    |
[1]                    0 |                                                    |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[8, 16)                0 |                                                    |
[16, 32)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

`);
  assert.equal(formatMap(hist('@', [3, 20])), `@:
[2, 4)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 8)                 0 |                                                    |
[8, 16)                0 |                                                    |
[16, 32)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
});

test('hist(n, k): finer buckets, single values up to 2^(k+1), suffixed labels', () => {
  assert.equal(formatMap(hist('@', [15, 16, 17, 20], 3)), `@:
[15]                   1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[16, 18)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[18, 20)               0 |                                                    |
[20, 22)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

`);
  assert.equal(formatMap(hist('@', [1536], 1)), `@:
[1536, 2K)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
});

test('keyed hist: one block per key sorted by total count, blank line after each', () => {
  const m: MapSnapshot = {
    name: '@g', kind: 'hist', bits: 0,
    entries: [{ key: 2n, value: histCounts([20, 40]) }, { key: 1n, value: histCounts([10]) }],
  };
  assert.equal(formatMap(m), `@g[1]:
[8, 16)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@g[2]:
[16, 32)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[32, 64)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
});

test('lhist(x, 0, 100, 10) with underflow and overflow rows', () => {
  const m: MapSnapshot = { name: '@l', kind: 'lhist', min: 0, max: 100, step: 10, entries: [{ value: lhistCounts([-3, 5, 15, 15, 55, 100, 250], 0, 100, 10) }] };
  assert.equal(formatMap(m), `@l:
(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[0, 10)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[10, 20)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[20, 30)               0 |                                                    |
[30, 40)               0 |                                                    |
[40, 50)               0 |                                                    |
[50, 60)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[60, 70)               0 |                                                    |
[70, 80)               0 |                                                    |
[80, 90)               0 |                                                    |
[90, 100)              0 |                                                    |
[100, ...)             2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
});

test('upstream lhist.txt, step 1 single values, K labels for steps of 1024, overflow only', () => {
  const lh = (values: number[], min: number, max: number, step: number): MapSnapshot =>
    ({ name: '@', kind: 'lhist', min, max, step, entries: [{ value: lhistCounts(values, min, max, step) }] });
  assert.equal(formatMap(lh([2, 3, 7, -1, 11], 0, 10, 2)), `@:
(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[0, 2)                 0 |                                                    |
[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 6)                 0 |                                                    |
[6, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[8, 10)                0 |                                                    |
[10, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

`);
  assert.equal(formatMap(lh([3, 4, 4], 0, 10, 1)), `@:
[3]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[4]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
  assert.equal(formatMap(lh([2048], 0, 4096, 1024)), `@:
[2K, 3K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
  assert.equal(formatMap(lh([500], 0, 100, 10)), `@:
[100, ...)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

`);
});

test('exit: two newlines, maps in name order, keyed values sorted ascending', () => {
  const maps: MapSnapshot[] = [
    { name: '@c', kind: 'count', entries: [{ key: 'bar', value: 2n }, { key: 'foo', value: 1n }] },
    { name: '@a', kind: 'int', entries: [{ value: 1n }] },
    { name: '@b', kind: 'int', entries: [{ key: tuple(1n, 'x'), value: 2n }] },
  ];
  assert.equal(formatExit(maps), '\n\n@a: 1\n@b[1, x]: 2\n@c[foo]: 1\n@c[bar]: 2\n');
  assert.equal(formatExit(maps, false), '\n\n');
});

test('ordering: by value for integers, by key (field by field) for other values', () => {
  const maps: MapSnapshot[] = [
    { name: '@', kind: 'int', entries: [{ value: 7n }] },
    { name: '@m', kind: 'count', entries: [{ key: 'b', value: 5n }, { key: 'x', value: 3n }, { key: 'a', value: 1n }] },
    { name: '@n', kind: 'int', entries: [{ key: 1n, value: 30n }, { key: 2n, value: 20n }, { key: 3n, value: 10n }, { key: -1n, value: 5n }] },
    { name: '@s', kind: 'count', entries: [{ key: tuple('a', 1n), value: 2n }, { key: tuple('b', 2n), value: 1n }, { key: tuple('a', 2n), value: 1n }] },
    { name: '@t', kind: 'value', entries: [{ key: 1n, value: tuple(1n, 'a') }, { key: 0n, value: tuple(2n, 'b') }] },
    { name: '@x', kind: 'value', entries: [{ key: 5n, value: 'hello' }, { key: -2n, value: 'neg' }, { key: 3n, value: 'zzz' }, { key: 1n, value: 'abc' }] },
    { name: '@y', kind: 'value', entries: [{ key: tuple('b', 1n), value: 1n }, { key: tuple('a', 2n), value: 2n }, { key: tuple('a', 1n), value: 3n }, { key: 'ab', value: 4n }] },
  ];
  assert.equal(formatExit(maps), `

@: 7
@m[a]: 1
@m[x]: 3
@m[b]: 5
@n[-1]: 5
@n[3]: 10
@n[2]: 20
@n[1]: 30
@s[b, 2]: 1
@s[a, 2]: 1
@s[a, 1]: 2
@t[0]: (2, b)
@t[1]: (1, a)
@x[-2]: neg
@x[1]: abc
@x[3]: zzz
@x[5]: hello
@y[a, 1]: 3
@y[a, 2]: 2
@y[b, 1]: 1
@y[ab]: 4
`);
});

test('scalar aggregations: avg is the integer average, stats a record, min/max/sum signed', () => {
  const maps: MapSnapshot[] = [
    { name: '@a', kind: 'avg', entries: [{ value: { total: 31n, count: 2n } }] },
    { name: '@av', kind: 'avg', entries: [{ key: 'p', value: { total: 9n, count: 3n } }, { key: 'q', value: { total: 1n, count: 1n } }] },
    { name: '@k', kind: 'stats', entries: [{ key: 'y', value: { total: 100n, count: 1n } }, { key: 'x', value: { total: 4n, count: 1n } }] },
    { name: '@mn', kind: 'min', entries: [{ value: -3n }] },
    { name: '@mx', kind: 'max', entries: [{ value: 9n }] },
    { name: '@s', kind: 'stats', entries: [{ value: { total: 63n, count: 3n } }] },
    { name: '@su', kind: 'sum', entries: [{ value: -3n }] },
    { name: '@z', kind: 'count', entries: [{ value: 0n }] },
  ];
  assert.equal(formatExit(maps), `

@a: 15
@av[q]: 1
@av[p]: 3
@k[x]: { .count = 1, .average = 4, .total = 4 }
@k[y]: { .count = 1, .average = 100, .total = 100 }
@mn: -3
@mx: 9
@s: { .count = 3, .average = 21, .total = 63 }
@su: -3
@z: 0
`);
});

test('print(@a), print(@a, 2), print(@a, 0, 10); print of plain values', () => {
  const a: MapSnapshot = { name: '@a', kind: 'int', entries: [{ key: 2n, value: 20n }, { key: 1n, value: 10n }, { key: 3n, value: 30n }] };
  assert.equal(formatMap(a), '@a[1]: 10\n@a[2]: 20\n@a[3]: 30\n');
  assert.equal(formatMap(a, { top: 2 }), '@a[2]: 20\n@a[3]: 30\n');
  assert.equal(formatMap(a, { top: 0, div: 10 }), '@a[1]: 1\n@a[2]: 2\n@a[3]: 3\n');
  const avg: MapSnapshot = {
    name: '@', kind: 'avg',
    entries: ['a', 'b', 'c', 'd'].map((k, i) => ({ key: k, value: { total: BigInt(10 * (i + 1)), count: 1n } })),
  };
  assert.equal(formatMap(avg, { top: 2, div: 10 }), '@[c]: 3\n@[d]: 4\n'); // upstream print_avg_map_args
  assert.equal(formatMap(avg, { top: 10, div: 10 }), '@[a]: 1\n@[b]: 2\n@[c]: 3\n@[d]: 4\n');
  assert.equal(formatPrintValue(123n), '123\n');
  assert.equal(formatPrintValue('str'), 'str\n');
  assert.equal(formatPrintValue(tuple(1n, 'two', 3n)), '(1, two, 3)\n');
  assert.equal(formatPrintValue(-5n), '-5\n');
  const h = hist('@h', [5]);
  assert.equal(formatMap(h), '@h:\n[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n');
  assert.equal(formatMap(hist('@h', [5, 6, 7, 100]), { div: 2 }), `@h:
[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)                0 |                                                    |
[16, 32)               0 |                                                    |
[32, 64)               0 |                                                    |
[64, 128)              0 |                                                    |

`);
});

test('empty maps: keyed prints nothing, a zeroed scalar hist prints its name and a blank line', () => {
  assert.equal(formatMap({ name: '@e', kind: 'count', entries: [] }), '');
  assert.equal(formatMap({ name: '@hist', kind: 'hist', bits: 0, entries: [{ value: [0n, 0n, 0n] }] }), '@hist:\n\n');
});

test('stack keys print one frame per line with 8 spaces', () => {
  const m: MapSnapshot = {
    name: '@', kind: 'count',
    entries: [{ key: stack(['do_nanosleep+1', 'hrtimer_nanosleep+112', 'common_nsleep+64']), value: 5n }, { key: stack([]), value: 1n }],
  };
  assert.equal(formatMap(m), `@[
]: 1
@[
        do_nanosleep+1
        hrtimer_nanosleep+112
        common_nsleep+64
]: 5
`);
});

test('printf: every conversion, flag and width of the captured example (latest: no %.2s truncation)', () => {
  const out = formatPrintf(
    '[%d] [%5d] [%-5d|] [%05d] [%x] [%X] [%o] [%u] [%lld] [%llu] [%c] [%s] [%10s|] [%-10s|] [%.2s] [%%] [%hhd] [%hu] [%lx]\n',
    [-42n, 42n, 42n, 42n, 255n, 255n, 8n, -1n, -1n, -1n, 65n, 'str', 'abc', 'abc', 'abcdef', 300n, 70000n, -1n],
  );
  assert.equal(out, '[-42] [   42] [42   |] [00042] [ff] [FF] [10] [4294967295] [-1] [18446744073709551615] [A] [str] [       abc|] [abc       |] [abcdef] [%] [44] [4464] [ffffffffffffffff]\n');
});

test('printf: int truncation, 64-bit modifiers, iostream flags', () => {
  assert.equal(formatPrintf('%d', [1n << 40n]), '0');
  assert.equal(formatPrintf('%ld %zu %jd %td', [1n << 40n, -1n, -2n, -3n]), '1099511627776 18446744073709551615 -2 -3');
  assert.equal(formatPrintf('%i|%hd|%hhu', [4294967295n, 32768n, 257n]), '-1|-32768|1');
  assert.equal(formatPrintf('%x %lX', [-1n, 3735928559n]), 'ffffffff DEADBEEF');
  assert.equal(formatPrintf('%+d %+d %+u', [5n, -5n, 5n]), '+5 -5 5');
  assert.equal(formatPrintf('% d', [5n]), '5'); // the space flag is parsed but has no effect
  assert.equal(formatPrintf('%#x %#X %#o %#x %#o', [255n, 255n, 8n, 0n, 0n]), '0xff 0XFF 010 0 0');
  // Padding goes outside the sign and the base prefix (std::right, not std::internal).
  assert.equal(formatPrintf('[%05d] [%-05d] [%#06x] [%06s]', [-42n, 42n, 255n, 'ab']), '[00-42] [42000] [000xff] [0000ab]');
  assert.equal(formatPrintf('%*d|%.3d', [7n, 7n]), '7|7'); // `*` consumes no argument; precision ignored for ints
  assert.equal(formatPrintf('%d %d %s', [true, false, true]), '1 0 true');
  assert.equal(formatPrintf('%c%c', [104n, 105n]), 'hi');
});

test('printf: %p, %s of composite values, %r family, %gr, bad conversions', () => {
  assert.equal(formatPrintf('[%p] [%p] [%d]', [pointer(0x1000n), 0n, pointer(16n)]), '[0x1000] [0] [16]');
  assert.equal(formatPrintf('[%s] [%10s] [%-8s]', [pointer(0xffffn), tuple(1n, 2n), tuple(1n, 2n)]), '[0xffff] [         (1, 2)] [(       1, 2)]');
  assert.equal(formatPrintf('%s|%s|%s', [null, stack(['f1']), { kind: 'record', fields: [['a', 1n]] }]), 'null|\n        f1\n|{ .a = 1 }');
  const b = buffer([0x61, 0x62, 0x01, 0x63]);
  assert.equal(formatPrintf('%r %rx %rh %8r|', [b, b, b, b]), 'ab\\x01c \\x61\\x62\\x01\\x63 61 62 01 63  ab\\x01c|');
  assert.equal(formatPrintf('%r', ['plain']), 'plain');
  assert.equal(formatPrintf('%gr %gr %gr %gr', [0xcc0n, 0xdc0n, 0x820n, 0n]), 'GFP_KERNEL GFP_KERNEL|__GFP_ZERO GFP_ATOMIC 0');
  assert.equal(formatGfpFlags((1n << 40n) | 0x100n), '__GFP_ZERO|0x10000000000');
  assert.equal(formatPrintf('%d!', ['abc']), '!{invalid integer conversion: abc}!');
});

test('printf: literal text, %% and unmatched percent signs', () => {
  assert.equal(formatPrintf('100%% done, 50%!\n', []), '100% done, 50%!\n');
  // As in bpftrace, `% le` is a conversion (space flag, `l` modifier, `e`), so this string wants one argument.
  assert.equal(parseFormat('50% left').specs[0]?.specifier, 'e');
  assert.equal(formatPrintf('%s=%d\n', ['x', 3n]), 'x=3\n');
  assert.deepEqual(parseFormat('a%%b%5.2lld!').fragments, ['a%b', '!']);
  assert.deepEqual(
    parseFormat('%-+ #012.3hhx').specs[0],
    { leftAlign: true, showSign: true, spacePrefix: true, alternate: true, zeroPad: true, width: 12, precision: 3, length: 'hh', specifier: 'x' },
  );
});

test('printf compile-time checks: argument count and unsupported specifiers', () => {
  assert.equal(checkFormat(parseFormat('%d %s'), 2), undefined);
  assert.equal(checkFormat(parseFormat('%d %s'), 3), 'too many arguments for format string (3 supplied, 2 expected)');
  assert.equal(checkFormat(parseFormat('%d %s'), 1), 'not enough arguments for format string (1 supplied, 2 expected)');
  assert.equal(checkFormat(parseFormat('%f'), 1), 'unsupported format specifier: f');
  assert.equal(checkFormat(parseFormat('%e'), 1), 'unsupported format specifier: e');
  assert.equal(checkFormat(parseFormat('%n'), 1), 'unsupported format specifier: n');
});

test('time(), join() and status lines', () => {
  const when = new Date(2026, 10, 25, 16, 50, 41); // local time
  assert.equal(formatTime(undefined, when), '16:50:41\n');
  assert.equal(formatTime('%H:%M\n', when), '16:50\n');
  assert.equal(formatJoin(['/usr/bin/true', 'a', 'b', '', 'stale']), '/usr/bin/true a b\n');
  assert.equal(formatJoin(['a', 'b'], ','), 'a,b\n');
  assert.equal(formatAttachedProbes(1), 'Attached 1 probe\n');
  assert.equal(formatAttachedProbes(2), 'Attached 2 probes\n');
  assert.equal(formatLostEvents(12n), 'Lost 12 events\n');
});
