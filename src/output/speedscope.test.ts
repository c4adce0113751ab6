import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFolded } from './flamegraph.js';
import { speedscope } from './speedscope.js';

test('a sampled profile: frames shared by name, samples root first, weights are the counts', () => {
  const doc = speedscope(parseFolded('app;main;work 30\napp;main;idle 10\n'), 'p');
  assert.deepEqual(doc.shared.frames, [{ name: 'app' }, { name: 'main' }, { name: 'work' }, { name: 'idle' }]);
  assert.equal(doc.profiles.length, 1);
  const p = doc.profiles[0]!;
  assert.deepEqual([p.type, p.unit, p.startValue, p.endValue], ['sampled', 'none', 0, 40]);
  assert.deepEqual(p.samples, [
    [0, 1, 2],
    [0, 1, 3],
  ]);
  assert.deepEqual(p.weights, [30, 10]);
  assert.equal(doc.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(JSON.parse(JSON.stringify(doc)).activeProfileIndex, 0);
});
