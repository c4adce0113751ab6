import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { helperId, helperName, setHelperIds } from './helpers.js';

test('helper ids match the uapi enum bpf_func_id', () => {
  const expected: Record<string, number> = {
    map_lookup_elem: 1, map_update_elem: 2, ktime_get_ns: 5, get_current_pid_tgid: 14, get_current_comm: 16,
    perf_event_output: 25, get_stackid: 27, probe_read_kernel: 113, ringbuf_output: 130, ringbuf_reserve: 131,
    ringbuf_submit: 132, ringbuf_discard: 133, loop: 181, cgrp_storage_delete: 211,
  };
  for (const [name, id] of Object.entries(expected)) {
    assert.equal(helperId(name), id, name);
    assert.equal(helperName(id), name);
  }
});

test('helper names are accepted with bpf_ or BPF_FUNC_ prefix', () => {
  assert.equal(helperId('bpf_map_lookup_elem'), 1);
  assert.equal(helperId('BPF_FUNC_map_lookup_elem'), 1);
});

test('unknown helpers throw a clear error with suggestions', () => {
  assert.throws(() => helperId('no_such_helper'), /unknown BPF helper 'no_such_helper'/);
  assert.throws(() => helperId('unspec'), /unknown BPF helper/);
  assert.throws(
    () => helperId('ringbuf'),
    (e: Error & { hint?: string }) => /bpf_ringbuf_output/.test(e.hint ?? ''),
  );
  assert.equal(helperName(100000), undefined);
});

test('static table agrees with the installed uapi header, name by name', (t) => {
  const h = '/usr/include/linux/bpf.h';
  if (!existsSync(h)) return t.skip('no kernel headers installed');
  const src = readFileSync(h, 'utf8');
  const mapper = src.slice(src.indexOf('#define __BPF_FUNC_MAPPER'), src.indexOf('enum bpf_func_id'));
  const names = [...mapper.matchAll(/^\s*FN\((\w+)/gm)].map((m) => m[1]!);
  assert.ok(names.length > 200);
  names.forEach((n, i) => n !== 'unspec' && assert.equal(helperId(n), i, n));
});

test('ids installed from the kernel take precedence; the static table stays the fallback', () => {
  try {
    setHelperIds(new Map([['BPF_FUNC_map_lookup_elem', 77], ['__BPF_FUNC_MAX_ID', 300]]));
    assert.equal(helperId('map_lookup_elem'), 77);
    assert.equal(helperName(77), 'map_lookup_elem');
    assert.equal(helperId('ktime_get_ns'), 5);
  } finally {
    setHelperIds(new Map());
  }
  assert.equal(helperId('map_lookup_elem'), 1);
});
