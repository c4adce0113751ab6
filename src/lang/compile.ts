/**
 * The compiler pipeline, one pass after another: scan+parse → fold literals → check → codegen.
 */
import { parse } from './parser.js';
import { foldLiterals } from './passes/fold_literals.js';
import { check, type Config } from './checker.js';
import { generate, type Compiled } from './codegen.js';
import { CompileError } from './diagnostics.js';
import { Source } from './source.js';
import type * as A from './ast.js';

export interface CompileOptions {
  /** file name shown in diagnostics (`stdin` for -e) */
  name?: string;
  params?: string[];
  config?: Partial<Config>;
  /** environment: BPFTRACE_* variables override the config block (pass process.env) */
  env?: Record<string, string | undefined>;
  /** stop after parsing (for -d) */
  parseOnly?: boolean;
}

export function parseProgram(text: string, name = 'stdin'): { source: Source; ast: A.Program } {
  const source = new Source(name, text);
  const ast = parse(source);
  const diags = foldLiterals(ast);
  if (diags.some((d) => d.severity === 'error')) throw new CompileError(diags, source);
  return { source, ast };
}

/** Compiles a program text to BPF programs and their metadata (maps, events). Throws CompileError. */
export function compile(text: string, opts: CompileOptions = {}): Compiled {
  const { source, ast } = parseProgram(text, opts.name);
  const info = check(ast, source, { params: opts.params, config: opts.config, env: opts.env });
  return generate(info);
}
