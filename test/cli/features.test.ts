import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { allFeatures } from '../../src/bpf/features.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('kscope features prints one row per feature, agreeing with the probes', () => {
  const out = execFileSync(process.execPath, [cli, 'features'], { encoding: 'utf8' });
  const lines = out.trim().split('\n');
  assert.match(lines[0]!, /^FEATURE\s+SUPPORTED\s+WHAT\s+DETAIL$/);
  const rows = new Map(lines.slice(1).map((l) => [l.split(/\s+/)[0]!, l.split(/\s+/)[1]!]));
  for (const f of allFeatures()) assert.equal(rows.get(f.name), f.supported ? 'yes' : 'no', f.name);
  assert.equal(rows.size, allFeatures().length);
});
