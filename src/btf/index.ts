/** src/btf: kernel type information (BTF) and tracepoint formats (tracefs). */
export * from './btf.js';
export * from './tracefs.js';
