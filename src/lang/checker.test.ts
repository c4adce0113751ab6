import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, ptonBytes, setConfig, signalNumber } from './checker.js';

test('config variables: names with or without BPFTRACE_, old names, checked values', () => {
  const c = { ...DEFAULT_CONFIG };
  assert.equal(c.maxStrlen, 1024);
  assert.equal(setConfig(c, 'BPFTRACE_MAX_STRLEN', '200', true), undefined);
  assert.equal(c.maxStrlen, 200);
  assert.equal(setConfig(c, 'strlen', 300n), undefined);
  assert.equal(c.maxStrlen, 300);
  assert.equal(setConfig(c, 'stack_mode', { ident: 'perf' }), undefined);
  assert.equal(c.stackMode, 'perf');
  assert.equal(setConfig(c, 'print_maps_on_exit', false), undefined);
  assert.equal(c.printMapsOnExit, false);
  assert.match(setConfig(c, 'max_map_keys', '-3') ?? '', /Invalid value for max_map_keys/);
  assert.match(setConfig(c, 'nope', 1n) ?? '', /Unrecognized config variable: nope/);
  assert.equal(setConfig(c, 'BPFTRACE_NOPE', '1', true), undefined);
});

test('pton literals', () => {
  assert.deepEqual([...ptonBytes('10.1.2.3')!], [10, 1, 2, 3]);
  assert.equal(ptonBytes('fe80::1')!.toString('hex'), 'fe800000000000000000000000000001');
  assert.equal(ptonBytes('::ffff:1.2.3.4')!.toString('hex'), '00000000000000000000ffff01020304');
  assert.equal(ptonBytes('1.2.3'), undefined);
});

test('signal names and numbers', () => {
  assert.equal(signalNumber('SIGKILL'), 9);
  assert.equal(signalNumber('TERM'), 15);
  assert.equal(signalNumber('10'), 10);
  assert.equal(signalNumber('SIGNOPE'), undefined);
});
