import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestamp, strftime } from './strftime.js';

// Wednesday 2026-11-25 16:50:02 UTC, day 329 of the year, ISO week 48.
const when = new Date(Date.UTC(2026, 10, 25, 16, 50, 2));
const ns = BigInt(when.getTime()) * 1_000_000n + 123_456_789n;

test('glibc C-locale conversions', () => {
  assert.equal(strftime('%Y-%m-%d %H:%M:%S', when, true), '2026-11-25 16:50:02');
  assert.equal(strftime('%a %A %b %B %h', when, true), 'Wed Wednesday Nov November Nov');
  assert.equal(strftime('%c', when, true), 'Wed Nov 25 16:50:02 2026');
  assert.equal(strftime('%D %F %T %R %x %X', when, true), '11/25/26 2026-11-25 16:50:02 16:50 11/25/26 16:50:02');
  assert.equal(strftime('%I %l %p %P %r', when, true), '04  4 PM pm 04:50:02 PM');
  assert.equal(strftime('%j %U %W %V %G %g %u %w %C %y', when, true), '329 47 47 48 2026 26 3 3 20 26');
  assert.equal(strftime('%z %Z %%%n%t', when, true), '+0000 UTC %\n\t');
});

test('day padding, flags and unknown conversions', () => {
  const d = new Date(Date.UTC(2026, 0, 5, 3, 4, 5));
  assert.equal(strftime('[%e] [%d] [%-d] [%_m] [%k] [%^a] [%10Y]', d, true), '[ 5] [05] [5] [ 1] [ 3] [MON] [0000002026]');
  assert.equal(strftime('%Q', d, true), '%Q');
  // 2021-01-01 (Friday) belongs to ISO week 53 of 2020.
  assert.equal(strftime('%G-W%V-%u', new Date(Date.UTC(2021, 0, 1)), true), '2020-W53-5');
});

test('bpftrace strftime extensions %f (us), %k (ns), %l (ms)', () => {
  assert.equal(formatTimestamp('%H:%M:%S.%f', ns, true), '16:50:02.123456');
  assert.equal(formatTimestamp('%k|%l', ns, true), '123456789|123');
  assert.equal(formatTimestamp('%Y-%m-%d %H:%M:%S', ns, true), '2026-11-25 16:50:02');
  assert.equal(formatTimestamp('%H', 5n, true), '(?)');
  assert.equal(formatTimestamp('', ns, true), '(?)');
});
