import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flameGraphSvg, parseFolded } from './flamegraph.js';

test('parseFolded reads frames root first and the trailing count; frames may contain spaces', () => {
  assert.deepEqual(parseFolded('a;b c;d 12\n\nx 3\n'), [
    { frames: ['a', 'b c', 'd'], count: 12 },
    { frames: ['x'], count: 3 },
  ]);
});

/** The frames of an SVG: name, samples, depth, first sample index and drawn width. */
function frames(svg: string): { n: string; c: number; d: number; x: number; w: number }[] {
  const re = /<g class="f" data-n="([^"]*)" data-c="(\d+)" data-d="(\d+)" data-x="(\d+)">.*?<rect [^>]*width="([\d.]+)"/g;
  return [...svg.matchAll(re)].map((m) => ({ n: m[1]!, c: Number(m[2]), d: Number(m[3]), x: Number(m[4]), w: Number(m[5]) }));
}

test('stacks merge into a tree: shared prefixes add up, siblings sit side by side, widths are proportional', () => {
  const svg = flameGraphSvg(parseFolded('app;main;work 30\napp;main;idle 10\nsh;read 40\n'), { width: 820 });
  const f = frames(svg);
  const by = (n: string) => f.find((x) => x.n === n)!;
  assert.deepEqual(by('all'), { n: 'all', c: 80, d: 0, x: 0, w: 800 });
  assert.deepEqual([by('app').c, by('app').d, by('main').c, by('main').d], [40, 1, 40, 2]);
  assert.deepEqual([by('idle').x, by('work').x, by('work').d], [0, 10, 3]);
  assert.equal(by('sh').x, 40);
  assert.equal(by('work').w, 300);
  assert.equal(f.length, 7);
});

test('the SVG is self-contained and escapes names', () => {
  const svg = flameGraphSvg([{ frames: ['a<b>&"c"', 'std::vector<int>::push_back'], count: 5 }], { title: 'T' });
  assert.match(svg, /^<\?xml[^]*<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[^]*<\/svg>\n$/);
  assert.ok(!/(?:href|src)=|@import|url\(/.test(svg), 'no external resources');
  assert.match(svg, /data-n="a&lt;b&gt;&amp;&quot;c&quot;"/);
  assert.match(svg, /<title>std::vector&lt;int&gt;::push_back \(5 samples\)<\/title>/);
  assert.match(svg, /<script><!\[CDATA\[[^]*addEventListener\('click'[^]*\]\]><\/script>/);
});

test('an empty profile still gives a valid SVG with no frames', () => {
  const svg = flameGraphSvg([]);
  assert.equal(frames(svg).length, 0);
  assert.match(svg, /<\/svg>\n$/);
});

test('frames too narrow to draw are left out; long names are cut with ..', () => {
  const svg = flameGraphSvg(parseFolded(`big;${'x'.repeat(200)} 10000\ntiny 1\n`), { width: 1200 });
  const f = frames(svg);
  assert.ok(!f.some((x) => x.n === 'tiny'));
  assert.match(svg, new RegExp(`<text [^>]*>${'x'.repeat(20)}[x]*\\.\\.</text>`));
});
