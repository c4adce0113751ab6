/**
 * Compiler diagnostics in bpftrace's format:
 *
 *     stdin:1:19-20: ERROR: syntax: expected ';'
 *     kprobe:f { $a = 1 $b }
 *                       ~~
 */
import { KscopeError } from '../sys/errors.js';
import type { Range, Source } from './source.js';

export type Severity = 'error' | 'warning';

/** A secondary message attached to another place in the source (bpftrace's "context", e.g. "expanded from"). */
export interface DiagnosticNote {
  message: string;
  range: Range;
}

/** One error or warning about a range of the program. */
export class Diagnostic {
  constructor(
    readonly severity: Severity,
    readonly message: string,
    readonly range?: Range,
    readonly notes: readonly DiagnosticNote[] = [],
    readonly hints: readonly string[] = [],
  ) {}

  /** An error at `range`. */
  static error(message: string, range?: Range, hints: readonly string[] = []): Diagnostic {
    return new Diagnostic('error', message, range, [], hints);
  }

  /** A warning at `range`. */
  static warning(message: string, range?: Range, hints: readonly string[] = []): Diagnostic {
    return new Diagnostic('warning', message, range, [], hints);
  }
}

/** bpftrace's source context: the line with tabs shown as 4 spaces, then `~` under the range (multi-line ranges show every line). */
function located(prefix: string, message: string, range: Range | undefined, source: Source): string[] {
  if (!range) return [`${prefix}${message}`];
  const b = source.position(range.start);
  const e = source.position(Math.max(range.start, range.end));
  if (b.line !== e.line) {
    const lines = [`${source.name}:${b.line}-${e.line}: ${prefix}${message}`];
    for (let l = b.line; l <= e.line; l++) lines.push(source.lineText(l));
    return lines;
  }
  const text = source.lineText(b.line);
  let marker = '';
  for (let x = 0; x < text.length && x < e.column - 1; x++) {
    const m = x < b.column - 1 ? ' ' : '~';
    marker += text[x] === '\t' ? m.repeat(4) : m;
  }
  return [`${source.name}:${b.line}:${b.column}-${e.column}: ${prefix}${message}`, text.replaceAll('\t', '    '), marker];
}

/** Formats one diagnostic as bpftrace prints it (no trailing newline): location, message, source line, marker, notes, hints. */
export function formatDiagnostic(d: Diagnostic, source: Source): string {
  const prefix = d.severity === 'error' ? 'ERROR: ' : 'WARNING: ';
  const lines = located(prefix, d.message, d.range, source);
  for (const n of d.notes) lines.push(...located(prefix, n.message, n.range, source));
  for (const h of d.hints) lines.push(`HINT: ${h}`);
  return lines.join('\n');
}

/** A failed compilation: one or more diagnostics; the message is their formatted text, errors first. */
export class CompileError extends KscopeError {
  override name = 'CompileError';
  readonly diagnostics: readonly Diagnostic[];

  constructor(
    diagnostics: Diagnostic | readonly Diagnostic[],
    readonly source: Source,
  ) {
    const list = diagnostics instanceof Diagnostic ? [diagnostics] : diagnostics;
    const ordered = [...list.filter((d) => d.severity === 'error'), ...list.filter((d) => d.severity === 'warning')];
    super(ordered.map((d) => formatDiagnostic(d, source)).join('\n'));
    this.diagnostics = ordered;
  }
}
