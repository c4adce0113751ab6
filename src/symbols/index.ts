/** src/symbols: naming addresses (kallsyms, ELF, /proc maps, perf maps, USDT notes, demangling). */
export * from './kallsyms.js';
export * from './elf.js';
export * from './usdt.js';
export * from './procmaps.js';
export * from './perfmap.js';
export * from './demangle.js';
export * from './libs.js';
export * from './symbolizer.js';
