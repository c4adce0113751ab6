/**
 * Symbolisation speed: /proc/kallsyms load, kernel lookups, ELF symbol load of the node binary, user addresses of
 * this very process symbolised per second once its maps are loaded, and demangling.
 * Run: node .build/NAME/bench/symbols.js
 */
import { realpathSync } from 'node:fs';
import { ElfFile } from '../src/symbols/elf.js';
import { Kallsyms } from '../src/symbols/kallsyms.js';
import { readMaps } from '../src/symbols/procmaps.js';
import { Symbolizer } from '../src/symbols/symbolizer.js';
import { demangle } from '../src/symbols/demangle.js';

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}

const [ks, ksMs] = time(() => Kallsyms.load());
console.log(`kallsyms load: ${ksMs.toFixed(1)} ms (${ks.size} symbols)`);

const kaddrs = Array.from(ks.symbols()).filter((_, i) => i % 7 === 0).map((s) => s.address + 3n);
const [, kMs] = time(() => { for (let r = 0; r < 5; r++) for (const a of kaddrs) ks.resolve(a); });
console.log(`kernel lookups: ${Math.round((kaddrs.length * 5) / (kMs / 1000)).toLocaleString()} /s`);

const exe = realpathSync(process.execPath);
const [nodeElf, openMs] = time(() => ElfFile.open(exe));
const [syms, symMs] = time(() => nodeElf.symbols());
console.log(`node ELF: open ${openMs.toFixed(1)} ms, ${syms.length} symbols loaded in ${symMs.toFixed(1)} ms`);

// User addresses: the middle of each function symbol of node and libc, translated to where they are mapped here.
const maps = readMaps(process.pid);
const addrs: number[] = [];
for (const m of maps) {
  if (!m.perms.includes('x') || !m.path.startsWith('/')) continue;
  let elf: ElfFile;
  try {
    elf = m.path === exe ? nodeElf : ElfFile.open(m.path);
  } catch {
    continue;
  }
  for (const s of elf.symbols()) {
    if (s.type !== 'func' || s.size < 2) continue;
    const off = elf.fileOffsetOf(s.value + (s.size >> 1));
    if (off !== null && off >= m.offset && off < m.offset + (m.end - m.start)) addrs.push(m.start + off - m.offset);
  }
}
const sym = new Symbolizer();
const [, warmMs] = time(() => { for (const a of addrs) sym.user(process.pid, a); });
const rounds = 3;
let unknown = 0;
const [, userMs] = time(() => {
  for (let r = 0; r < rounds; r++) for (const a of addrs) if (sym.user(process.pid, a) === '[unknown]') unknown++;
});
console.log(`user addresses: ${addrs.length} distinct; first pass (loads ELF symbols, demangles) ${warmMs.toFixed(0)} ms`);
console.log(`user addresses symbolised: ${Math.round((addrs.length * rounds) / (userMs / 1000)).toLocaleString()} /s (unknown ${unknown})`);

const cxx = syms.map((s) => s.name).filter((n) => n.startsWith('_Z')).slice(0, 20000);
const [, dmMs] = time(() => { for (const n of cxx) demangle(n); });
console.log(`demangle: ${Math.round(cxx.length / (dmMs / 1000)).toLocaleString()} names/s`);
