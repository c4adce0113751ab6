import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Expr } from '../ast.js';
import { parse, parseExpression } from '../parser.js';
import { Source } from '../source.js';
import { foldLiterals } from './fold_literals.js';

/** Folds an expression; returns the folded literal as text, or the first diagnostic's message. */
function fold(text: string): string {
  const e = parseExpression(new Source('stdin', text));
  const holder = { kind: 'expr_stmt', range: e.range, expr: e } as const;
  const diags = foldLiterals(holder);
  if (diags.length) return `${diags[0].severity}: ${diags[0].message}`;
  const r: Expr = holder.expr;
  if (r.kind === 'int' || r.kind === 'bool') return `${r.kind} ${r.value}`;
  if (r.kind === 'string') return `string ${JSON.stringify(r.value)}`;
  return `unfolded ${r.kind}`;
}

test('integer arithmetic is exact within [-2^63, 2^64-1]', () => {
  assert.equal(fold('1 + 2 * 3'), 'int 7');
  assert.equal(fold('1 - 2'), 'int -1');
  assert.equal(fold('-9223372036854775807 - 1'), 'int -9223372036854775808');
  assert.equal(fold('-9223372036854775808'), 'int -9223372036854775808');
  assert.equal(fold('18446744073709551615 - 1'), 'int 18446744073709551614');
  assert.equal(fold('-7 / 2'), 'int -3'); // truncation toward zero, as in C
  assert.equal(fold('-7 % 3'), 'int -1');
  assert.equal(fold('-(-5)'), 'int 5');
  assert.equal(fold('(1 << 63) * 2 - 1'), 'error: unable to fold literals due to overflow or underflow');
  assert.equal(fold('18446744073709551615 + 1'), 'error: unable to fold literals due to overflow or underflow');
  assert.equal(fold('-9223372036854775808 - 1'), 'error: unable to fold literals due to overflow or underflow');
  assert.equal(fold('-9223372036854775809'), 'error: negative value will underflow');
});

test('division or modulo by a zero constant is an error at the operation', () => {
  const src = new Source('stdin', 'begin { @x = 10 / (5 - 5); }');
  const prog = parse(src);
  const diags = foldLiterals(prog);
  assert.equal(diags.length, 1);
  assert.equal(diags[0].message, 'unable to fold literals due to overflow or underflow');
  assert.deepEqual(diags[0].range, { start: 13, end: 25 });
  assert.equal(fold('1 % 0'), 'error: unable to fold literals due to overflow or underflow');
});

test('bitwise operations and shifts use 64-bit two\'s complement', () => {
  assert.equal(fold('~0'), 'int 18446744073709551615');
  assert.equal(fold('~(-1)'), 'int 0');
  assert.equal(fold('0xf0 | 0x0f ^ 0xff & 0x3c'), 'int 243');
  assert.equal(fold('1 << 63'), 'int 9223372036854775808');
  assert.equal(fold('3 << 63'), 'int 9223372036854775808'); // bits shifted out are lost
  assert.equal(fold('-1 >> 1'), 'int -1'); // arithmetic shift for negative values
  assert.equal(fold('-1 & 255'), 'int 255');
  assert.equal(fold('1 << 64'), 'error: unable to fold literals due to overflow or underflow');
  assert.equal(fold('1 >> -1'), 'error: unable to fold literals due to overflow or underflow');
});

test('comparisons and logic give booleans', () => {
  assert.equal(fold('-1 < 1'), 'bool true');
  assert.equal(fold('2 == 3'), 'bool false');
  assert.equal(fold('!0'), 'bool true');
  assert.equal(fold('1 && 0'), 'bool false');
  assert.equal(fold('true || false'), 'bool true');
  assert.equal(fold('!true'), 'bool false');
  assert.equal(fold('true == false'), 'bool false');
});

test('string literals: comparison, concatenation, suffix by offset', () => {
  assert.equal(fold('"a" + "b"'), 'string "ab"');
  assert.equal(fold('"abc" == "abc"'), 'bool true');
  assert.equal(fold('"abc" < "abd"'), 'bool true');
  assert.equal(fold('"hello" + 2'), 'string "llo"');
  assert.equal(fold('"hi" + 5'), 'warning: literal string will always be empty');
  assert.equal(fold('"a" * "b"'), 'error: illegal literal operation with strings');
});

test('literal ternaries pick a branch; non-literals are left alone', () => {
  assert.equal(fold('1 ? 2 : 3'), 'int 2');
  assert.equal(fold('0 ?: 7'), 'int 7');
  assert.equal(fold('$x + 1'), 'unfolded binary');
  assert.equal(fold('sizeof(int32) + 1'), 'unfolded binary');
});

test('folding reaches every part of a program', () => {
  const text = 'i:s:1 /1 + 1 == 2/ { @m[2 * 3] = -(4); if (10 > 1) { print("a" + "b"); } }';
  const prog = parse(new Source('stdin', text));
  assert.deepEqual(foldLiterals(prog), []);
  assert.deepEqual(prog.probes[0].predicate, { kind: 'bool', range: { start: 7, end: 17 }, value: true });
  const assign = prog.probes[0].body.stmts[0];
  assert.ok(assign.kind === 'assign' && assign.target.kind === 'map_access');
  assert.equal(assign.target.key.kind === 'int' && assign.target.key.value, 6n);
  assert.equal(assign.value.kind === 'int' && assign.value.value, -4n);
  const ifs = prog.probes[0].body.stmts[1];
  assert.ok(ifs.kind === 'if' && ifs.cond.kind === 'bool');
  const call = ifs.then.stmts[0];
  assert.ok(call.kind === 'expr_stmt' && call.expr.kind === 'call');
  const concat = text.indexOf('"a" + "b"');
  assert.deepEqual(call.expr.args[0], { kind: 'string', range: { start: concat, end: concat + 9 }, value: 'ab' });
});
