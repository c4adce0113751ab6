/**
 * kscope's library: everything the CLI and the tools are built on, one namespace per layer (each layer imports only
 * from the ones before it): `sys` (bpf(2), perf_event_open(2), mmap through koffi), `btf`, `asm`, `bpf` (maps,
 * programs, links, ring buffers, feature probes), `symbols`, `output`, `lang` (compile and run bpftrace scripts).
 * The most used classes are also exported at the top level. See docs/library.md.
 */
export * as sys from './sys/index.js';
export * as btf from './btf/index.js';
export * as asm from './asm/index.js';
export * as bpf from './bpf/index.js';
export * as symbols from './symbols/index.js';
export * as output from './output/index.js';
export * as lang from './lang/index.js';

export { KscopeError, SysError } from './sys/errors.js';
export { Btf } from './btf/btf.js';
export { Asm } from './asm/builder.js';
export { BpfMap, MapType } from './bpf/map.js';
export { Program, ProgType, VerifierError } from './bpf/program.js';
export { RingBufferReader } from './bpf/ringbuf.js';
export { u8, u16, u32, u64 } from './bpf/codec.js';
export { attachTracepoint } from './bpf/link/tracepoint.js';
export { closeAll } from './bpf/resources.js';
export { Symbolizer } from './symbols/symbolizer.js';
export { compile } from './lang/compile.js';
export { Runtime } from './lang/runtime.js';
