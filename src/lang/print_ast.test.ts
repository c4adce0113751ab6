import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Program } from './ast.js';
import { printAst, quoteBytes } from './print_ast.js';

const r = { start: 0, end: 0 };

test('printAst indents one node per line, children in order', () => {
  const prog: Program = {
    kind: 'program', range: r, cDefinitions: [], imports: [], mapDecls: [], macros: [], subprogs: [],
    probes: [{
      kind: 'probe', range: r,
      attachPoints: [{ kind: 'attach_point', range: r, raw: 'i:s:1' }],
      body: {
        kind: 'block', range: r,
        stmts: [{
          kind: 'assign', range: r, op: '+',
          target: { kind: 'map', range: r, name: '@x' },
          value: { kind: 'incdec', range: r, op: '--', prefix: false, operand: { kind: 'variable', range: r, name: '$y' } },
        }],
      },
    }],
  };
  assert.equal(printAst(prog), 'program\n  probe\n    attach_point i:s:1\n    block\n      assign +=\n        map @x\n        incdec post--\n          variable $y\n');
});

test('quoteBytes escapes control and non-ASCII bytes', () => {
  assert.equal(quoteBytes('a"b\\\n\t\x00\xff'), '"a\\"b\\\\\\n\\t\\x00\\xff"');
});
