import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from './compile.js';
import { printResources } from './print_resources.js';

test('-d resources: programs with their hook and size, maps with kind, BPF type and sizes, ring-buffer records', () => {
  const text = printResources(compile('BEGIN { @c[comm, pid] = count(); @s = sum(5); printf("%s %d\\n", comm, pid); exit(); } END { clear(@c); }', { name: 'stdin' }));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'programs');
  assert.match(lines[1]!, /^ {2}BEGIN: RAW_TRACEPOINT, \d+ insns$/);
  assert.match(lines[2]!, /^ {2}END: RAW_TRACEPOINT, \d+ insns$/);
  assert.equal(lines[3], 'maps');
  assert.ok(lines.includes('  @c[(string[16], uint32)]: count; PERCPU_HASH key 24 B, value 8 B, max 4096'), text);
  assert.ok(lines.includes('  @s: sum; PERCPU_HASH key 8 B, value 8 B, max 4096'), text);
  const rec = lines.indexOf('records (ring buffer)');
  assert.ok(rec > 0, text);
  assert.match(lines.slice(rec + 1).join('\n'), /^ {2}\d+: printf "%s %d\\n" \(\d+ B: string\[16\]@\d+, uint32@\d+\)$/m);
  assert.match(lines.slice(rec + 1).join('\n'), /^ {2}\d+: exit$/m);
  assert.match(lines.slice(rec + 1).join('\n'), /^ {2}\d+: clear @c$/m);
});
