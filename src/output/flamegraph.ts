/**
 * An interactive flame graph as one self-contained SVG (inline CSS and JavaScript, no external resources), built
 * from folded stacks: hover a frame for its name, samples and share; click to zoom into it (click the bottom frame
 * or "Reset Zoom" to zoom out); "Search" (or Ctrl-F) highlights frames matching a regular expression.
 */

/** One folded stack: frames root first (as in `comm;main;f;g 12`) and its sample count. */
export interface Stack {
  frames: string[];
  count: number;
}

/** Parses folded text (`a;b;c 12` per line; blank lines ignored). */
export function parseFolded(text: string): Stack[] {
  const out: Stack[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line.trimEnd());
    if (m) out.push({ frames: m[1]!.split(';'), count: Number(m[2]) });
  }
  return out;
}

interface Node {
  name: string;
  count: number;
  children: Map<string, Node>;
}

/** Merges stacks into a tree rooted at a node that counts every sample. */
function tree(stacks: Stack[]): Node {
  const root: Node = { name: 'all', count: 0, children: new Map() };
  for (const s of stacks) {
    root.count += s.count;
    let n = root;
    for (const f of s.frames) {
      let c = n.children.get(f);
      if (!c) n.children.set(f, (c = { name: f, count: 0, children: new Map() }));
      c.count += s.count;
      n = c;
    }
  }
  return root;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A warm colour from the name's hash (kernel frames, marked `_[k]`, in orange; `-` delimiters grey). */
function color(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const v = (h % 1000) / 1000;
  if (name === '-' || name === '--') return 'rgb(160,160,160)';
  if (name.endsWith('_[k]')) return `rgb(${Math.round(200 + 55 * v)},${Math.round(110 + 60 * v)},40)`;
  return `rgb(${Math.round(205 + 50 * v)},${Math.round(80 + 120 * ((h >> 10) % 100) / 100)},${Math.round(40 * v)})`;
}

export interface FlameGraphOptions {
  title?: string;
  /** what a sample is called in the details line */
  unit?: string;
  width?: number;
}

/** The name cut to what fits in `w` pixels (about 7 px a character at 12 px), `..` marking a cut. */
function fit(name: string, w: number): string {
  const n = Math.floor((w - 6) / 7);
  return n < 3 ? '' : name.length <= n ? name : `${name.slice(0, n - 2)}..`;
}

const FRAME_H = 16;
const PAD_TOP = 50;
const PAD_BOTTOM = 30;
const PAD_X = 10;

/** The flame graph SVG of `stacks` (root at the bottom). */
export function flameGraphSvg(stacks: Stack[], o: FlameGraphOptions = {}): string {
  const width = o.width ?? 1200;
  const title = o.title ?? 'Flame Graph';
  const unit = o.unit ?? 'samples';
  const root = tree(stacks);
  const frames: string[] = [];
  const depthOf = (n: Node): number => 1 + Math.max(0, ...[...n.children.values()].map(depthOf));
  const height = PAD_TOP + depthOf(root) * FRAME_H + PAD_BOTTOM;
  const bottom = height - PAD_BOTTOM;
  const scale = root.count ? (width - 2 * PAD_X) / root.count : 0;
  const walk = (n: Node, x: number, depth: number): void => {
    // laid out here too, so the graph shows without scripting; the script redoes it on zoom
    const w = n.count * scale;
    if (w >= 0.5) {
      const px = PAD_X + x * scale;
      const y = bottom - (depth + 1) * FRAME_H;
      frames.push(
        `<g class="f" data-n="${esc(n.name)}" data-c="${n.count}" data-d="${depth}" data-x="${x}"><title>${esc(n.name)} (${n.count} ${unit})</title>` +
          `<rect x="${px.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${FRAME_H - 1}" rx="2" fill="${color(n.name)}"/>` +
          `<text x="${(px + 3).toFixed(1)}" y="${y + FRAME_H - 4}">${esc(fit(n.name, w))}</text></g>`,
      );
    }
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      walk(c, cx, depth + 1);
      cx += c.count;
    }
  };
  if (root.count) walk(root, 0, 0);
  return `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" data-total="${root.count}" data-unit="${esc(unit)}" data-h="${height}">
<style>
text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }
#title { font-size: 17px; text-anchor: middle; }
.f text { pointer-events: none; }
.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
.f.dim rect { opacity: 0.5; }
.f.hit rect { fill: rgb(230,0,230); }
.btn { cursor: pointer; fill: #444; }
.btn:hover { text-decoration: underline; }
</style>
<rect width="100%" height="100%" fill="#f8f8f8"/>
<text id="title" x="${width / 2}" y="24">${esc(title)}</text>
<text id="reset" class="btn" x="${PAD_X}" y="24" visibility="hidden">Reset Zoom</text>
<text id="search" class="btn" x="${width - PAD_X - 60}" y="24">Search</text>
<text id="matched" x="${width - PAD_X - 160}" y="${height - 10}"></text>
<text id="details" x="${PAD_X}" y="${height - 10}"> </text>
<g id="frames">
${frames.join('\n')}
</g>
<script><![CDATA[
(function () {
  var svg = document.documentElement, W = ${width}, PAD = ${PAD_X}, FH = ${FRAME_H}, H = +svg.getAttribute('data-h');
  var total = +svg.getAttribute('data-total'), unit = svg.getAttribute('data-unit');
  var gs = Array.prototype.slice.call(document.querySelectorAll('.f'));
  var details = document.getElementById('details'), matched = document.getElementById('matched'), reset = document.getElementById('reset');
  var zoomed = null, re = null;
  function pct(c) { return (100 * c / total).toFixed(2) + '%'; }
  function info(g) { return { n: g.getAttribute('data-n'), c: +g.getAttribute('data-c'), d: +g.getAttribute('data-d'), x: +g.getAttribute('data-x') }; }
  // lays every frame out for the zoom window [x0, x0 + span) at depth d0 and below
  function layout(x0, span, d0) {
    var k = (W - 2 * PAD) / span;
    gs.forEach(function (g) {
      var f = info(g), r = g.querySelector('rect'), t = g.querySelector('text');
      var inside = f.x >= x0 && f.x + f.c <= x0 + span, below = f.d < d0 && f.x <= x0 && f.x + f.c >= x0 + span;
      var w = below ? W - 2 * PAD : f.c * k;
      if (!(inside || below) || w < 0.5) { g.style.display = 'none'; return; }
      g.style.display = '';
      g.classList.toggle('dim', below && d0 > 0);
      var x = below ? PAD : PAD + (f.x - x0) * k, y = H - ${PAD_BOTTOM} - (f.d + 1) * FH;
      r.setAttribute('x', x); r.setAttribute('y', y); r.setAttribute('width', w);
      t.setAttribute('x', x + 3); t.setAttribute('y', y + FH - 4);
      var n = Math.floor((w - 6) / 7);
      t.textContent = n < 3 ? '' : f.n.length <= n ? f.n : f.n.slice(0, n - 2) + '..';
    });
  }
  function zoom(g) {
    var f = g ? info(g) : null;
    zoomed = f && f.d > 0 ? f : null;
    reset.setAttribute('visibility', zoomed ? 'visible' : 'hidden');
    if (zoomed) layout(zoomed.x, zoomed.c, zoomed.d); else layout(0, total, 0);
  }
  function search(s) {
    re = s ? new RegExp(s) : null;
    var spans = [];
    gs.forEach(function (g) {
      var f = info(g), on = !!re && re.test(f.n);
      g.classList.toggle('hit', on);
      if (on) spans.push([f.x, f.x + f.c]);
    });
    // share of samples under any match: the union of the matching frames' sample ranges
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) { if (s[1] > end) { sum += s[1] - Math.max(s[0], end); end = s[1]; } });
    matched.textContent = re ? 'Matched: ' + pct(sum) : '';
  }
  gs.forEach(function (g) {
    g.addEventListener('mouseover', function () { var f = info(g); details.textContent = 'Function: ' + f.n + ' (' + f.c + ' ' + unit + ', ' + pct(f.c) + ')'; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
    g.addEventListener('click', function () { zoom(g); });
  });
  reset.addEventListener('click', function () { zoom(null); });
  function ask() { var s = prompt('Search (regular expression); empty to clear', re ? re.source : ''); if (s !== null) search(s); }
  document.getElementById('search').addEventListener('click', ask);
  window.addEventListener('keydown', function (e) { if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); ask(); } if (e.key === 'Escape') search(''); });
  zoom(null);
})();
]]></script>
</svg>
`;
}
