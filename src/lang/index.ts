/** src/lang: the bpftrace-compatible language — compile a script, run it, read its maps and events. */
export { compile, parseProgram } from './compile.js';
export { Runtime, type RunOptions } from './runtime.js';
export { CompileError, Diagnostic, formatDiagnostic } from './diagnostics.js';
export { printAst } from './print_ast.js';
export { printResources } from './print_resources.js';
