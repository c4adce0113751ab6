import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from './diagnostics.js';
import { parseIntLiteral, Scanner, tokenize, type Token } from './scanner.js';
import { Source } from './source.js';

const kinds = (text: string): string[] => tokenize(new Source('t', text)).map((t) => `${t.kind}:${t.text}`);
const one = (text: string): Token => tokenize(new Source('t', text))[0];
const errorOf = (text: string): string => {
  const s = new Source('stdin', text);
  const bad = tokenize(s).find((t) => t.error);
  assert.ok(bad?.error, `no error in ${text}`);
  return formatDiagnostic(bad.error, s);
};

test('token kinds and ranges', () => {
  const toks = tokenize(new Source('t', '$x = @m[$1, $#] + arg0; // c\n/* b */ @ ->'));
  assert.deepEqual(
    toks.map((t) => [t.kind, t.text, t.start, t.end]),
    [
      ['variable', '$x', 0, 2], ['punct', '=', 3, 4], ['map', '@m', 5, 7], ['punct', '[', 7, 8], ['positional', '$1', 8, 10],
      ['punct', ',', 10, 11], ['param_count', '$#', 12, 14], ['punct', ']', 14, 15], ['punct', '+', 16, 17],
      ['ident', 'arg0', 18, 22], ['punct', ';', 22, 23], ['map', '@', 37, 38], ['punct', '->', 39, 41], ['eof', '', 41, 41],
    ],
  );
});

test('operators scan longest first', () => {
  assert.deepEqual(
    kinds('<<= >>= << >> <= >= == != && || ++ -- += -= *= /= %= &= |= ^= .. . ? : ~ !').slice(0, -1).map((k) => k.slice(6)),
    ['<<=', '>>=', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '..', '.', '?', ':', '~', '!'],
  );
  assert.deepEqual(kinds('0..10'), ['int:0', 'punct:..', 'int:10', 'eof:']);
  assert.deepEqual(kinds('$t.0'), ['variable:$t', 'punct:.', 'int:0', 'eof:']);
});

test('integer literals', () => {
  const cases: [string, bigint][] = [
    ['42', 42n], ['0x1F', 31n], ['0b101', 5n], ['017', 15n], ['0', 0n], ['1_000_000', 1000000n], ['1e6', 1000000n],
    ['5u', 5n], ['5UL', 5n], ['5ll', 5n], ['18446744073709551615', (1n << 64n) - 1n], ['2ns', 2n], ['3us', 3000n],
    ['4ms', 4000000n], ['5s', 5000000000n], ['1m', 60000000000n], ['1h', 3600000000000n], ['1d', 86400000000000n],
  ];
  for (const [text, value] of cases) {
    const t = one(text);
    assert.equal(t.kind, 'int', text);
    assert.equal(t.text, text);
    assert.equal(t.kind === 'int' && t.value, value, text);
    assert.equal(t.error, undefined, text);
  }
  assert.equal(parseIntLiteral('4294967296u'), 'overflow error, maximum value is 4294967295: 4294967296u');
  assert.equal(parseIntLiteral('08'), 'invalid trailing bytes: 08');
});

test('integer literal errors match bpftrace', () => {
  assert.equal(errorOf('k:f { print(5e-9); }'.slice(12)), 'stdin:1:1-3: ERROR: syntax: invalid trailing bytes: 5e\n5e-9); }\n~~');
  const at = (text: string): string => errorOf(`k:f { print(${text}); }`).split('\n')[0];
  assert.equal(at('1e21'), 'stdin:1:13-17: ERROR: syntax: overflow error, maximum value is 18446744073709551615: 1e21');
  assert.equal(at('10000000000m'), 'stdin:1:13-25: ERROR: syntax: overflow error, maximum value is 18446744073709551615: 10000000000m');
  assert.equal(at('12e4'), 'stdin:1:13-17: ERROR: syntax: coefficient part of scientific literal must be 1-9: 12e4');
  assert.equal(at('1_1e100'), 'stdin:1:13-20: ERROR: syntax: coefficient part of scientific literal must be 1-9: 1_1e100');
  assert.equal(at('1e1_1_'), 'stdin:1:18-19: ERROR: syntax: trailing underscore in integer literal');
  assert.equal(at('1_1_'), 'stdin:1:16-17: ERROR: syntax: trailing underscore in integer literal');
  assert.equal(at('1ulll'), "stdin:1:17-18: ERROR: syntax: invalid integer suffix 'l'");
  assert.equal(at('1lul'), "stdin:1:15-17: ERROR: syntax: invalid integer suffix 'ul'");
});

test('string literals and escapes', () => {
  const t = one(String.raw`"a\n\t\r\"\\\x41\101\0z é"`);
  assert.equal(t.kind, 'string');
  assert.equal(t.kind === 'string' && t.value, 'a\n\t\r"\\AA\0z \xc3\xa9');
  assert.equal(errorOf(String.raw`kprobe:sys_open { "\777" }`), "stdin:1:20-24: ERROR: syntax: octal escape sequence out of range '\\777'\nkprobe:sys_open { \"\\777\" }\n                   ~~~~");
  assert.equal(errorOf(String.raw`"\q"`).split('\n')[0], "stdin:1:3-4: ERROR: syntax: invalid escape character '\\q'");
  assert.equal(errorOf(String.raw`"\xg"`).split('\n')[0], 'stdin:1:4-5: ERROR: syntax: invalid hex escape sequence');
  assert.equal(errorOf('"abc\n"').split('\n')[0], 'stdin:1:5-5: ERROR: syntax: unterminated string');
});

test('sigils and positional parameter errors', () => {
  assert.equal(errorOf('$ x').split('\n')[0], "stdin:1:1-2: ERROR: syntax: expected identifier after '$'");
  assert.equal(errorOf('$0').split('\n')[0], 'stdin:1:1-3: ERROR: syntax: param $0 is out of integer range [1, 9223372036854775807]');
  assert.deepEqual(kinds('@ @x $_y'), ['map:@', 'map:@x', 'variable:$_y', 'eof:']);
  assert.equal(errorOf('`').split('\n')[0], 'stdin:1:1-2: ERROR: syntax: unexpected input');
});

test('preprocessor lines are single tokens', () => {
  assert.deepEqual(kinds('#!/usr/bin/env bpftrace\n#include <linux/sched.h>  \n#define X 1\nx'), [
    'preprocessor:#!/usr/bin/env bpftrace', 'preprocessor:#include <linux/sched.h>', 'preprocessor:#define X 1', 'ident:x', 'eof:',
  ]);
});

test('attach points scan as one token', () => {
  const specs = [
    'tracepoint:syscalls:sys_enter_openat', 'kprobe:vfs_*', 'uprobe:/bin/bash:readline', 'uprobe:libc:malloc',
    'usdt:/path/to/bin:prov:name', 'interval:s:1', 'profile:hz:99', 'software:cpu-clock:100', 'hardware:cache-misses:1e6',
    'kfunc:vmlinux:vfs_read', 'rawtracepoint:sched_switch', 'BEGIN', 'self:signal:SIGUSR1', 'k:fn+0x10',
    'uprobe:"/my dir/a.out":"ns::f"', 'name=i:s:1', 'u:./a.out@file.c:10', 't:syscalls:sys_enter_*',
  ];
  const scanner = new Scanner(new Source('t', specs.map((s) => `${s} {}`).join('\n')));
  let pos = 0;
  for (const spec of specs) {
    const t = scanner.scan(pos, 'attach_point');
    assert.equal(t.kind, 'attach_point');
    assert.equal(t.text, spec);
    pos = scanner.scan(t.end).end + 2; // past "{" and "}"
  }
  // A predicate slash ends an attach point only before the first ':'.
  const s = new Source('t', 'BEGIN/1/{} t:a:b/1/');
  assert.equal(new Scanner(s).scan(0, 'attach_point').text, 'BEGIN');
  assert.equal(new Scanner(s).scan(10, 'attach_point').text, 't:a:b/1/');
  assert.equal(new Scanner(new Source('t', 'a:b,c:d')).scan(0, 'attach_point').text, 'a:b');
});
