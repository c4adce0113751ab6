/** src/asm: the eBPF instruction set — opcodes, encoding, a label-resolving builder, helper ids, a disassembler. */
export * from './opcodes.js';
export * from './insn.js';
export * from './builder.js';
export * from './helpers.js';
export * from './disasm.js';
