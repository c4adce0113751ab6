import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompileError } from './diagnostics.js';
import { canonicalProvider, parse, parseExpression, splitAttachPoint } from './parser.js';
import { printAst } from './print_ast.js';
import { Source } from './source.js';

const tree = (text: string): string => printAst(parse(new Source('stdin', text)));
/** The printed statements of `begin { code }`, dedented to column 0. */
const body = (code: string): string =>
  printAst(parse(new Source('stdin', `begin { ${code} }`)).probes[0].body)
    .split('\n')
    .slice(1)
    .map((l) => l.slice(2))
    .join('\n');
const expr = (code: string): string => printAst(parseExpression(new Source('stdin', code)));
const lines = (...l: string[]): string => `${l.join('\n')}\n`;
const failure = (text: string): string => {
  try {
    parse(new Source('stdin', text));
  } catch (e) {
    assert.ok(e instanceof CompileError);
    return e.message;
  }
  assert.fail(`parsed without error: ${text}`);
};

test('anchor one-liner: opensnoop-style tracepoint', () => {
  assert.equal(
    tree('tracepoint:syscalls:sys_enter_openat { printf("%s opened %s\\n", comm, str(args->filename)); }'),
    lines(
      'program',
      '  probe',
      '    attach_point tracepoint:syscalls:sys_enter_openat',
      '    block',
      '      expr_stmt',
      '        call printf',
      '          string "%s opened %s\\n"',
      '          builtin comm',
      '          call str',
      '            field ->filename',
      '              builtin args',
    ),
  );
});

test('anchor one-liner: profile with the unnamed map', () => {
  assert.equal(
    tree('profile:hz:99 { @[kstack] = count(); }'),
    lines('program', '  probe', '    attach_point profile:hz:99', '    block', '      assign =', '        map_access', '          map @', '          builtin kstack', '        call count'),
  );
});

test('program preamble: shebang, C definitions, config, imports, map declarations, macros, fn', () => {
  const text = [
    '#!/usr/bin/env bpftrace',
    '#include <linux/sched.h>',
    'struct S { int a; }',
    'config = { max_strlen = 64; stack_mode = perf; lazy_symbolication = true; license = "GPL" }',
    'import "lib.bt";',
    'let @m = lruhash(100);',
    'macro inc($x, @map, k) { $x + 1 }',
    'fn add($a: uint32, $b: struct S *): int64 { return $a; }',
    'BEGIN { }',
  ].join('\n');
  assert.equal(
    tree(text),
    lines(
      'program #!/usr/bin/env bpftrace',
      '  c_preprocessor "#include <linux/sched.h>"',
      '  c_definition "struct S { int a; }"',
      '    c_tagged struct S',
      '      c_member a',
      '        c_named int',
      '  config',
      '    config_entry max_strlen = 64',
      '    config_entry stack_mode = perf',
      '    config_entry lazy_symbolication = true',
      '    config_entry license = "GPL"',
      '  import "lib.bt"',
      '  map_decl lruhash(100)',
      '    map @m',
      '  macro inc',
      '    variable $x',
      '    map @map',
      '    ident k',
      '    block',
      '      binary +',
      '        variable $x',
      '        int 1',
      '  subprog add',
      '    subprog_param',
      '      variable $a',
      '      named_type uint32',
      '    subprog_param',
      '      variable $b',
      '      pointer_type',
      '        named_type struct S',
      '    named_type int64',
      '    block',
      '      return',
      '        variable $a',
      '  probe',
      '    attach_point BEGIN',
      '    block',
    ),
  );
});

test('several attach points, trailing comma, predicate with division', () => {
  assert.equal(
    tree('uprobe:/bin/bash:readline,\n  usdt:/p:prov:name, /100/25 == 4/ { }'),
    lines(
      'program',
      '  probe',
      '    attach_point uprobe:/bin/bash:readline',
      '    attach_point usdt:/p:prov:name',
      '    binary ==',
      '      binary /',
      '        int 100',
      '        int 25',
      '      int 4',
      '    block',
    ),
  );
});

test('assignments: scratch, map, multi-key map, compound, let, discard', () => {
  assert.equal(
    body('$a = 1; @b[pid, comm] = 2; @c <<= 3; let $d: uint8 = 4; let $e; _ = 5'),
    lines(
      'assign =', '  variable $a', '  int 1',
      'assign =', '  map_access', '    map @b', '    tuple', '      builtin pid', '      builtin comm', '  int 2',
      'assign <<=', '  map @c', '  int 3',
      'var_decl', '  variable $d', '  named_type uint8', '  int 4',
      'var_decl', '  variable $e',
      'discard', '  int 5',
    ),
  );
});

test('increment and decrement, pre and post', () => {
  assert.equal(
    body('$x++; --@y; @z[1]--; ++$w'),
    lines(
      'expr_stmt', '  incdec post++', '    variable $x',
      'expr_stmt', '  incdec pre--', '    map @y',
      'expr_stmt', '  incdec post--', '    map_access', '      map @z', '      int 1',
      'expr_stmt', '  incdec pre++', '    variable $w',
    ),
  );
});

test('if / else if / else, with and without parentheses', () => {
  assert.equal(
    body('if ($a > 1) { return; } else if $b { break } else { continue; }'),
    lines(
      'if', '  binary >', '    variable $a', '    int 1', '  block', '    return',
      '  if', '    variable $b', '    block', '      break', '    block', '      continue',
    ),
  );
});

test('loops: while, unroll, for over map and range', () => {
  assert.equal(
    body('while ($i < 3) { $i++ } unroll (2) { } for ($kv : @m) { } for $i : 0..$n { }'),
    lines(
      'while', '  binary <', '    variable $i', '    int 3', '  block', '    expr_stmt', '      incdec post++', '        variable $i',
      'unroll', '  int 2', '  block',
      'for_map', '  variable $kv', '  map @m', '  block',
      'for_range', '  variable $i', '  int 0', '  variable $n', '  block',
    ),
  );
});

test('nested block statement and block expression value', () => {
  assert.equal(
    body('{ $a = 1 } $b = { let $c = 2; $c };'),
    lines(
      'block', '  assign =', '    variable $a', '    int 1',
      'assign =', '  variable $b', '  block_expr', '    block', '      var_decl', '        variable $c', '        int 2', '      variable $c',
    ),
  );
});

test('precedence: C levels, left associativity, unary binds tighter than binary', () => {
  assert.equal(
    expr('1 + 2 * 3 - 4'),
    lines('binary -', '  binary +', '    int 1', '    binary *', '      int 2', '      int 3', '  int 4'),
  );
  assert.equal(
    expr('a || b && c | d ^ e & f == g < h << i'),
    lines(
      'binary ||', '  ident a', '  binary &&', '    ident b', '    binary |', '      ident c', '      binary ^', '        ident d',
      '        binary &', '          ident e', '          binary ==', '            ident f', '            binary <', '              ident g',
      '              binary <<', '                ident h', '                ident i',
    ),
  );
  assert.equal(expr('-*$p + !~1'), lines('binary +', '  unary -', '    unary *', '      variable $p', '  unary !', '    unary ~', '      int 1'));
  assert.equal(expr('$a ? 1 : $b ?: 2'), lines('ternary', '  variable $a', '  int 1', '  ternary ?:', '    variable $b', '    int 2'));
});

test('postfix: fields, arrows, indexing, tuple index, calls', () => {
  assert.equal(
    expr('curtask->mm.owner[2].x.0'),
    lines('tuple_index .0', '  field .x', '    index', '      field .owner', '        field ->mm', '          builtin curtask', '      int 2'),
  );
  assert.equal(expr('args.filename'), lines('field .filename', '  builtin args'));
  assert.equal(expr('kstack(perf, 3)'), lines('call kstack', '  ident perf', '  int 3'));
  assert.equal(expr('f()'), lines('call f'));
});

test('casts, tuples, records and grouping', () => {
  assert.equal(expr('(struct task_struct *)$p'), lines('cast', '  pointer_type', '    named_type struct task_struct', '  variable $p'));
  assert.equal(expr('(uint8)arg0'), lines('cast', '  named_type uint8', '  builtin arg0'));
  assert.equal(expr('(int32[4])$x'), lines('cast', '  array_type [4]', '    named_type int32', '  variable $x'));
  assert.equal(expr('(int8[])"ab"'), lines('cast', '  array_type []', '    named_type int8', '  string "ab"'));
  assert.equal(expr('(1, "a")'), lines('tuple', '  int 1', '  string "a"'));
  assert.equal(expr('(1,)'), lines('tuple', '  int 1'));
  assert.equal(expr('()'), lines('tuple'));
  assert.equal(expr('(a = 1, b = $x)'), lines('record', '  record_field a', '    int 1', '  record_field b', '    variable $x'));
  assert.equal(expr('(pid) - 1'), lines('binary -', '  builtin pid', '  int 1')); // a builtin is never a cast type
  assert.equal(expr('($x)'), lines('variable $x'));
});

test('sizeof, offsetof, typeof, comptime, address-of, literals, positional parameters', () => {
  assert.equal(expr('sizeof(struct foo)'), lines('sizeof', '  named_type struct foo'));
  assert.equal(expr('sizeof($x)'), lines('sizeof', '  variable $x'));
  assert.equal(expr('sizeof(u32)'), lines('sizeof', '  ident u32')); // typedef or value: decided later
  assert.equal(expr('offsetof(struct foo, a.b)'), lines('offsetof a.b', '  named_type struct foo'));
  assert.equal(expr('(typeof($x))1'), lines('cast', '  typeof', '    variable $x', '  int 1'));
  assert.equal(expr('comptime 1'), lines('comptime', '  int 1'));
  assert.equal(expr('&$x == &@m'), lines('binary ==', '  addr_of', '    variable $x', '  addr_of', '    map @m'));
  assert.equal(expr('true != false'), lines('binary !=', '  bool true', '  bool false'));
  assert.equal(expr('$1 + $#'), lines('binary +', '  positional $1', '  param_count'));
  assert.equal(expr('0x10 + 1_000 + 1ms'), lines('binary +', '  binary +', '    int 16', '    int 1000', '  int 1000000'));
});

test('keywords can be field names; deprecated delete(@m[k]) is a call', () => {
  assert.equal(expr('$x->if.while'), lines('field .while', '  field ->if', '    variable $x'));
  assert.equal(body('delete(@m[1])'), lines('expr_stmt', '  call delete', '    map_access', '      map @m', '      int 1'));
});

test('semicolon optional before } and after if blocks', () => {
  assert.equal(body('if (1) { @a = 1 }; @b = 2'), lines('if', '  int 1', '  block', '    assign =', '      map @a', '      int 1', 'assign =', '  map @b', '  int 2'));
});

test('node ranges cover their source text', () => {
  const text = 'begin { @x[1, 2] = (uint8)$a + 1; }';
  const prog = parse(new Source('stdin', text));
  const stmt = prog.probes[0].body.stmts[0];
  assert.equal(stmt.kind, 'assign');
  if (stmt.kind !== 'assign') return;
  const slice = (r: { start: number; end: number }): string => text.slice(r.start, r.end);
  assert.equal(slice(stmt.range), '@x[1, 2] = (uint8)$a + 1');
  assert.equal(slice(stmt.target.range), '@x[1, 2]');
  assert.equal(stmt.target.kind === 'map_access' && slice(stmt.target.key.range), '1, 2');
  assert.equal(slice(stmt.value.range), '(uint8)$a + 1');
  assert.equal(slice(prog.probes[0].range), 'begin');
});

test('attach point splitting and providers', () => {
  assert.deepEqual(splitAttachPoint('t:syscalls:sys_enter_openat'), { name: undefined, provider: 'tracepoint', parts: ['syscalls', 'sys_enter_openat'] });
  assert.deepEqual(splitAttachPoint('uprobe:"/a b:c":f'), { name: undefined, provider: 'uprobe', parts: ['/a b:c', 'f'] });
  assert.deepEqual(splitAttachPoint('x=BEGIN'), { name: 'x', provider: 'begin', parts: [] });
  assert.deepEqual(splitAttachPoint('u:./bin@file.c:10'), { name: undefined, provider: 'uprobe', parts: ['./bin', '@', 'file.c', '10'] });
  assert.deepEqual(splitAttachPoint('BEG$1', ['IN']), { name: undefined, provider: 'begin', parts: [] });
  assert.deepEqual(splitAttachPoint('k*:f'), { name: undefined, provider: 'k*', parts: ['f'] });
  assert.equal(splitAttachPoint('nope:x'), 'Invalid probe type: nope');
  assert.equal(canonicalProvider('U'), 'usdt');
  assert.equal(canonicalProvider('u'), 'uprobe');
  assert.equal(canonicalProvider('kfunc'), 'fentry');
  assert.equal(canonicalProvider('Interval'), 'interval');
});

test('every bpftrace tools/*.bt script parses', () => {
  // Tests run from a build directory (.build/NAME or dist/): find the checkout's testdata above it.
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'src/lang/testdata/tools'))) root = dirname(root);
  const dir = join(root, 'src/lang/testdata/tools');
  const files = ['', 'old'].flatMap((sub) => readdirSync(join(dir, sub)).filter((f) => f.endsWith('.bt')).map((f) => join(dir, sub, f)));
  assert.ok(files.length >= 40, `only ${files.length} tool scripts found`);
  for (const f of files) {
    const prog = parse(new Source(f, readFileSync(f, 'utf8')));
    assert.ok(prog.probes.length > 0, f);
  }
  const syscount = parse(new Source('syscount.bt', readFileSync(join(dir, 'syscount.bt'), 'utf8')));
  assert.deepEqual(syscount.macros.map((m) => m.name), ['sysname', 'display_map']);
  assert.deepEqual(syscount.probes.map((p) => p.attachPoints[0].raw), ['BEGIN', 'tracepoint:raw_syscalls:sys_enter', 'END']);
});

test('syntax errors: exact bpftrace-style diagnostics', () => {
  assert.equal(failure('kprobe:f /pid == 1 { 0; }'), "stdin:1:20-21: ERROR: syntax: expected '/' to close predicate\nkprobe:f /pid == 1 { 0; }\n                   ~");
  assert.equal(failure('i:s:1 { < }'), 'stdin:1:9-10: ERROR: syntax: expected expression\ni:s:1 { < }\n        ~');
  assert.equal(failure('BEGIN { print(1);'), "stdin:1:18-18: ERROR: syntax: expected '}'\nBEGIN { print(1);\n                 ");
  assert.equal(failure('BEGIN { @a = 1 @b = 2 }'), "stdin:1:16-18: ERROR: syntax: expected ';'\nBEGIN { @a = 1 @b = 2 }\n               ~~");
  assert.equal(failure('kprobe:f { "asdf }'), 'stdin:1:19-19: ERROR: syntax: unterminated string\nkprobe:f { "asdf }\n                  ');
  assert.equal(failure('kprobe:sys_open { $ x = 1; }').split('\n')[0], "stdin:1:19-20: ERROR: syntax: expected identifier after '$'");
  assert.equal(failure('i:s:1\t\t\t$a'), "stdin:1:9-11: ERROR: syntax: expected '{'\ni:s:1            $a\n                 ~~");
  assert.equal(failure('k:asdf+123abc').split('\n')[0], "stdin:1:14-14: ERROR: syntax: expected '{'");
  assert.equal(failure('i:s:1 { $a = 1; $a.2 = 3; }').split('\n')[0], 'stdin:1:17-25: ERROR: syntax: Tuples and records are immutable once created. Consider creating a new value and assigning it instead.');
  assert.equal(failure('i:s:1 { (1, 0) = 0 }').split('\n')[0], "stdin:1:16-17: ERROR: syntax: expected ';'");
  assert.equal(failure('i:s:1 { @=5++}').split('\n')[0], 'stdin:1:12-14: ERROR: syntax: increment/decrement requires a variable or map');
  assert.equal(failure('i:s:1 { @=++5}').split('\n')[0], 'stdin:1:13-14: ERROR: syntax: increment/decrement requires a variable or map');
  assert.equal(failure('i:s:1 { exit(); } config = { BPFTRACE_STACK_MODE=perf }').split('\n')[0], 'stdin:1:19-25: ERROR: syntax: config must appear before probes and functions');
  assert.equal(failure('config = { @start = nsecs; } i:s:1 { exit(); }').split('\n')[0], 'stdin:1:12-18: ERROR: syntax: expected config key');
  assert.equal(failure('config = { BPFTRACE_STACK_MODE=perf BPFTRACE_MAX_PROBES=2 } i:s:1 { exit(); }').split('\n')[0], "stdin:1:37-56: ERROR: syntax: expected ';'");
  assert.equal(failure('config { BPFTRACE_STACK_MODE=perf } i:s:1 { exit(); }').split('\n')[0], "stdin:1:8-9: ERROR: syntax: expected '='");
  assert.equal(failure('BPFTRACE_STACK_MODE=perf; i:s:1 { exit(); }').split('\n')[0], "stdin:1:27-28: ERROR: syntax: expected '{'");
  assert.equal(failure('struct Foo { int x; } begin { offsetof(struct Foo, bar->x); }').split('\n')[0], "stdin:1:55-56: ERROR: syntax: expected ')'");
  assert.equal(failure('begin {}\n#include <a.h>').split('\n')[0], 'stdin:2:1-15: ERROR: syntax: C definitions must appear before probes and functions');
  assert.equal(failure('let $x = 1;').split('\n')[0], 'stdin:1:1-4: ERROR: syntax: root-level let statements need to be map declarations, e.g. let @a = hash(2);');
  assert.equal(failure('macro f(pid) {}').split('\n')[0], "stdin:1:9-12: ERROR: syntax: builtin 'pid' can't be used as a macro argument");
  assert.equal(failure('begin { for ($x : 1) {} }').split('\n')[0], 'stdin:1:19-20: ERROR: syntax: expected map or range in for loop');
  assert.equal(failure('begin { (a = 1, a = 2) }').split('\n')[0], 'stdin:1:17-22: ERROR: syntax: Named argument list already contains name: a');
  assert.equal(failure('{ }').split('\n')[0], "stdin:1:1-2: ERROR: syntax: expected attach point");
});

test('C definitions: specifiers, declarators, bitfields, nested and anonymous members, attributes, typedefs', () => {
  const defs = [
    'struct __attribute__((aligned(8))) S { const unsigned long int a, *p[2]; unsigned char c : 3, : 2; void (*fn)(int, char *); int m[2][3];',
    '  struct { long x; }; union U { int i; } u; struct S *next } __attribute__((packed));',
    'typedef struct S s_t, *s_p;',
    'enum E { A, B = 1 << 2, };',
    'begin { }',
  ].join('\n');
  const t = tree(defs).split('\n');
  const c = t.slice(1, t.indexOf('  probe'));
  assert.deepEqual(c.filter((l) => !l.startsWith('  c_definition')), [
    '    c_tagged struct S packed', '      int 8',
    '      c_member a', '        c_named unsigned long',
    '      c_member p', '        c_array', '          c_pointer', '            c_named unsigned long', '          int 2',
    '      c_member c :', '        c_named unsigned char', '        int 3',
    '      c_member :', '        c_named unsigned char', '        int 2',
    '      c_member fn', '        c_pointer', '          c_function', '            c_named void',
    '      c_member m', '        c_array', '          c_array', '            c_named int', '            int 3', '          int 2',
    '      c_member', '        c_tagged struct', '          c_member x', '            c_named long',
    '      c_member u', '        c_tagged union U', '          c_member i', '            c_named int',
    '      c_member next', '        c_pointer', '          c_tagged struct S',
    '  c_typedef s_t', '    c_tagged struct S',
    '  c_typedef s_p', '    c_pointer', '      c_tagged struct S',
    '    c_tagged enum E', '      c_enumerator A', '      c_enumerator B', '        binary <<', '          int 1', '          int 2',
  ]);
  const p = parse(new Source('stdin', defs));
  const first = p.cDefinitions[0]!;
  assert.ok(first.kind === 'c_definition' && first.text.endsWith('__attribute__((packed));') && first.type.nameRange!.start === defs.indexOf('S {'));
  const next = first.kind === 'c_definition' ? first.type.members!.find((m) => m.name === 'next')! : undefined;
  assert.equal(defs.slice(next!.type.range.start, next!.type.range.end), 'struct S *next');
  // comments inside a definition are trivia, braces in them included
  const commented = parse(new Source('stdin', 'struct C { int a; /* } */ char b; // }\n};\nbegin {}')).cDefinitions[0]!;
  assert.deepEqual(commented.kind === 'c_definition' && commented.type.members!.map((m) => m.name), ['a', 'b']);
});

test('C definitions: syntax errors', () => {
  assert.equal(failure('struct Foo { int a b; };\nbegin {}').split('\n')[0], "stdin:1:20-21: ERROR: syntax: expected ';' at end of declaration list");
  assert.equal(failure('struct Foo { int a;\nbegin {}').split('\n')[0], "stdin:2:7-8: ERROR: syntax: expected ';' at end of declaration list");
  assert.equal(failure('struct Foo { short long a; };\nbegin {}').split('\n')[0], 'stdin:1:14-24: ERROR: syntax: invalid combination of type specifiers');
  assert.equal(failure('struct Foo { int a[4; };\nbegin {}').split('\n')[0], "stdin:1:21-22: ERROR: syntax: expected ']'");
  assert.equal(failure('typedef int;\nbegin {}').split('\n')[0], 'stdin:1:12-13: ERROR: syntax: expected identifier');
  assert.equal(failure('typedef int t\nbegin {}').split('\n')[0], "stdin:2:1-6: ERROR: syntax: expected ';' after top level declarator");
  assert.equal(failure('struct S { int a; } __attribute__(packed);\nbegin {}').split('\n')[0], "stdin:1:34-35: ERROR: syntax: __attribute__ syntax error, expected '(('");
  assert.equal(failure('begin {}\ntypedef int t;').split('\n')[0], 'stdin:2:1-15: ERROR: syntax: C definitions must appear before probes and functions');
});

test('bad attach points are reported after syntax checking, at the attach point', () => {
  assert.equal(failure('begin { } foo:bar, i:s:1 { }'), 'stdin:1:11-18: ERROR: Invalid probe type: foo\nbegin { } foo:bar, i:s:1 { }\n          ~~~~~~~');
  assert.equal(
    failure('BEG$x { }').split('\n')[0],
    'stdin:1:1-6: ERROR: invalid trailing character for positional param: x. Try quoting this entire part if this is intentional e.g. "$x".',
  );
  assert.equal(parse(new Source('stdin', 'BEG$1 { }')).probes[0].attachPoints[0].raw, 'BEG$1'); // expanded later
});
