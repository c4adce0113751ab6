import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KscopeError } from '../sys/errors.js';
import { CompileError, Diagnostic, formatDiagnostic } from './diagnostics.js';
import { Source } from './source.js';

const src = new Source('script.bt', 'begin {}\nkprobe:f { foo(1); }\n');

test('error with a range: location, source line, tildes', () => {
  const d = Diagnostic.error('Unknown function: foo', { start: 20, end: 26 });
  assert.equal(formatDiagnostic(d, src), 'script.bt:2:12-18: ERROR: Unknown function: foo\nkprobe:f { foo(1); }\n           ~~~~~~');
});

test('zero-width range gives a blank marker line like bpftrace', () => {
  const s = new Source('stdin', 'kprobe:f { "asdf }');
  const d = Diagnostic.error('syntax: unterminated string', { start: 18, end: 18 });
  assert.equal(formatDiagnostic(d, s), 'stdin:1:19-19: ERROR: syntax: unterminated string\nkprobe:f { "asdf }\n' + ' '.repeat(18));
});

test('tabs are shown as four spaces in the line and the marker', () => {
  const s = new Source('stdin', 'i:s:1\t\t\t$a');
  const d = Diagnostic.error("syntax: expected '{'", { start: 8, end: 10 });
  assert.equal(formatDiagnostic(d, s), "stdin:1:9-11: ERROR: syntax: expected '{'\ni:s:1            $a\n                 ~~");
});

test('multi-line range prints every line and no marker', () => {
  const d = Diagnostic.warning('spans lines', { start: 0, end: 12 });
  assert.equal(formatDiagnostic(d, src), 'script.bt:1-2: WARNING: spans lines\nbegin {}\nkprobe:f { foo(1); }');
});

test('notes and hints follow the message; no range means no location', () => {
  const d = new Diagnostic('error', 'Something bad', { start: 11, end: 13 }, [{ message: 'expanded from', range: { start: 0, end: 5 } }], ['try this']);
  assert.equal(
    formatDiagnostic(d, src),
    [
      'script.bt:2:3-5: ERROR: Something bad',
      'kprobe:f { foo(1); }',
      '  ~~',
      'script.bt:1:1-6: ERROR: expanded from',
      'begin {}',
      '~~~~~',
      'HINT: try this',
    ].join('\n'),
  );
  assert.equal(formatDiagnostic(Diagnostic.warning('no location'), src), 'WARNING: no location');
});

test('CompileError is a KscopeError whose message lists errors before warnings', () => {
  const w = Diagnostic.warning('w', { start: 0, end: 5 });
  const e = Diagnostic.error('e', { start: 9, end: 15 });
  const err = new CompileError([w, e], src);
  assert.ok(err instanceof KscopeError);
  assert.deepEqual(err.diagnostics, [e, w]);
  assert.equal(err.message, 'script.bt:2:1-7: ERROR: e\nkprobe:f { foo(1); }\n~~~~~~\nscript.bt:1:1-6: WARNING: w\nbegin {}\n~~~~~');
  assert.equal(new CompileError(e, src).diagnostics.length, 1);
});
