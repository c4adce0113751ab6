import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Btf, type BtfComposite } from '../btf/btf.js';
import { compileC } from '../../test/lib/cc.js';
import { parseProgram } from './compile.js';
import { buildTypes, type ProgramTypes } from './ctypes.js';
import { formatDiagnostic } from './diagnostics.js';

/** The types of a script made of `defs` and an empty probe (no kernel BTF unless given). */
function types(defs: string, kernel?: Btf): ProgramTypes {
  const { source, ast } = parseProgram(`${defs}\nBEGIN {}`);
  const r = buildTypes(ast, () => kernel);
  assert.deepEqual(r.diags.map((d) => formatDiagnostic(d, source)), []);
  return r.types;
}

/** The first diagnostic of a script made of `defs`, formatted. */
function failure(defs: string, kernel?: Btf): string {
  const { source, ast } = parseProgram(`${defs}\nBEGIN {}`);
  const r = buildTypes(ast, () => kernel);
  assert.ok(r.diags.length, 'expected a diagnostic');
  return formatDiagnostic(r.diags[0]!, source);
}

/** Definitions that gcc and kscope both lay out (C11, x86_64 System V). */
const DEFS = `
struct Inner { short s; char tag[3]; };
struct Foo { int a; char name[16]; unsigned long long b; struct Inner in; int arr[3]; unsigned char c : 3; unsigned char d : 5; union { int i; char ch[5]; } u; struct Foo *next; };
union U { int i; char c[4]; long long l; struct Inner in; };
struct Bits { unsigned int a:4, b:8, c:3, d:1, e:16; };
struct Bar { short a:4, b:8, c:3, d:1; int e:9, f:15, g:1, h:2, i:5; };
struct Mixed { char c; int x:3; char d; long long y:40; int z:30; int w:4; signed char s:2; };
struct ZeroWidth { char a; int :0; char b; unsigned :5; char c; long :0; char d; };
struct Packed { char a; int b; short c; long long d:33; } __attribute__((packed));
struct Aligned { char a; } __attribute__((aligned(16)));
struct Embed { char c; struct Aligned al; char d; struct Packed p; };
struct Anon { int a; struct { char b; long c; }; union { short d; int e; }; };
struct Multi { int m[2][3]; char names[4][5]; void (*fn)(int, char *); u8 u; uint16_t w; size_t sz; bool flag; int32_t i32; };
struct Flex { short n; long data[]; };
typedef struct Foo foo_t;
typedef unsigned int myint, *myptr;
struct UsesTypedef { char c; foo_t f; foo_t *p; myint m; myptr mp; };
enum Color { RED, GREEN = 5, BLUE };
struct WithEnum { char c; enum Color col; enum Color small : 3; };
struct Nested { struct Bar2 { int x; char y; } bar; int z; struct Bar2 again; };
struct Later { struct Defined *p; };
struct Defined { int x; };
struct Floats { char c; double d; float f; };
`;

/** Member paths of a struct/union for the C side: nested named members, anonymous ones flattened, no arrays. */
function paths(btf: Btf, id: number, prefix = ''): { path: string; bits: boolean }[] {
  const out: { path: string; bits: boolean }[] = [];
  for (const m of (btf.type(id) as BtfComposite).members) {
    const t = btf.type(btf.resolve(m.type));
    if (!m.name && (t.kind === 'struct' || t.kind === 'union')) out.push(...paths(btf, t.id, prefix));
    if (!m.name) continue;
    out.push({ path: prefix + m.name, bits: m.bitSize > 0 });
    if (t.kind === 'struct' || t.kind === 'union') out.push(...paths(btf, t.id, `${prefix}${m.name}.`));
  }
  return out;
}

test('struct, union, bitfield and typedef layouts equal what gcc computes', () => {
  const ty = types(DEFS);
  const btf = ty.btf!;
  const names = [...DEFS.matchAll(/^(struct|union) (\w+) \{/gm)].map((m) => [m[1] as 'struct' | 'union', m[2]!] as const);
  assert.equal(names.length, 19);
  const c: string[] = [];
  const mine: string[] = [];
  for (const [tag, name] of names) {
    const id = ty.tagged(tag, name)!;
    const s = `${tag} ${name}`;
    c.push(`printf("${s} size %zu\\n", sizeof(${s}));`);
    mine.push(`${s} size ${btf.sizeof(id)}`);
    for (const { path, bits } of paths(btf, id)) {
      const m = btf.member(id, path);
      if (bits) {
        c.push(`{ ${s} v; memset(&v, 0, sizeof v); v.${path} = -1; unsigned char *b = (unsigned char *)&v; int first = -1, n = 0;`
          + ` for (int i = 0; i < (int)sizeof v * 8; i++) if (b[i / 8] >> (i % 8) & 1) { if (first < 0) first = i; n++; } printf("${s} ${path} bits %d %d\\n", first, n); }`);
        mine.push(`${s} ${path} bits ${m.bitOffset} ${m.bitSize}`);
      } else {
        c.push(`printf("${s} ${path} offset %zu\\n", offsetof(${s}, ${path}));`);
        mine.push(`${s} ${path} offset ${m.offset}`);
      }
    }
  }
  const program = `#include <stdio.h>\n#include <string.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdbool.h>\ntypedef uint8_t u8;\n${DEFS}\nint main(void) {\n${c.join('\n')}\nreturn 0; }\n`;
  const gcc = execFileSync(compileC(program, ['-Wno-overflow']), { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(mine, gcc);
  // members C reaches through anonymous structs, nested definitions, typedefs and forward references
  assert.ok(mine.includes('struct Anon c offset 16') && mine.includes('struct Nested again.y offset 16'));
  assert.equal(btf.typeName(btf.member(ty.tagged('struct', 'Later')!, 'p').typeId), 'struct Defined *');
  assert.equal(btf.resolve(btf.member(ty.tagged('struct', 'UsesTypedef')!, 'f').typeId), ty.tagged('struct', 'Foo'));
  assert.equal(ty.typedef('myptr') !== undefined && btf.typeName(btf.resolve(ty.typedef('myptr')!)), 'unsigned int *');
});

test('plain char arrays are strings, other byte arrays are not; enumerators and #defines are constants', () => {
  const ty = types(`#define TASK_COMM_LEN 16\n#define TWICE (TASK_COMM_LEN * 2)\n#define NAME "text"\nenum E { A = 3, B, C = A << 4 };\nstruct S { char a[TWICE]; unsigned char b[4]; signed char c[4]; u8 d[4]; char e[2][TASK_COMM_LEN]; };`);
  const b = ty.btf!;
  const s = ty.tagged('struct', 'S')!;
  const arr = (f: string) => b.resolve(b.member(s, f).typeId);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((f) => ty.isString(arr(f))), [true, false, false, false]);
  // also when u8 is the kernel's typedef; kernel arrays of any byte type are strings (bpftrace's BTF rule)
  const kernel = Btf.vmlinux();
  const withKernel = types('struct S { u8 d[4]; char e[4]; };', kernel);
  const ks = withKernel.tagged('struct', 'S')!;
  assert.deepEqual(['d', 'e'].map((f) => withKernel.isString(withKernel.btf!.resolve(withKernel.btf!.member(ks, f).typeId))), [false, true]);
  const taskComm = kernel.member(kernel.findStruct('task_struct')!, 'comm').typeId;
  assert.ok(withKernel.isString(kernel.resolve(taskComm)));
  assert.equal(b.sizeof(arr('a')), 32);
  assert.equal(b.typeName(arr('e')), 'char[2][16]');
  assert.deepEqual(['A', 'B', 'C', 'TASK_COMM_LEN', 'TWICE', 'NAME'].map((n) => ty.constant(n)), [3n, 4n, 48n, 16n, 32n, undefined]);
});

test('#if/#ifdef/#ifndef/#else/#endif pick definitions; BPFTRACE_HAVE_BTF is defined with kernel BTF', () => {
  const defs = `#ifndef BPFTRACE_HAVE_BTF\nstruct S { int a; };\n#else\nstruct S { long a; long b; };\n#define AF_INET 2\n#endif\n#if defined(AF_INET) && AF_INET == 2\nstruct T { char x; };\n#elif 1\nstruct T { int y; };\n#endif\n#ifdef NOPE\n#define AF_INET 3\n#endif`;
  const without = types(defs);
  assert.equal(without.btf!.sizeof(without.tagged('struct', 'S')!), 4);
  assert.equal(without.constant('AF_INET'), undefined);
  assert.equal(without.btf!.member(without.tagged('struct', 'T')!, 'y').offset, 0);
  const kernel = Btf.vmlinux();
  const withBtf = types(defs, kernel);
  assert.equal(withBtf.btf!.sizeof(withBtf.tagged('struct', 'S')!), 16);
  assert.equal(withBtf.constant('AF_INET'), 2n);
  assert.equal(withBtf.btf!.member(withBtf.tagged('struct', 'T')!, 'x').offset, 0);
  assert.match(failure('#if 1\nstruct S { int a; };'), /^stdin:1:1-6: ERROR: unterminated conditional directive/);
  assert.match(failure('#endif'), /^stdin:1:1-7: ERROR: #endif without #if/);
});

test('kernel types by value and by pointer, and script types shadowing kernel ones by name', () => {
  const kernel = Btf.vmlinux();
  const ty = types('struct Foo { int a; struct list_head l; struct task_struct *t; u32 x; };\nstruct file { int mine; };', kernel);
  const b = ty.btf!;
  const foo = ty.tagged('struct', 'Foo')!;
  assert.ok(ty.isScript(foo) && foo >= kernel.nextId);
  assert.deepEqual([b.member(foo, 'l').offset, b.member(foo, 'l.prev').offset, b.member(foo, 't').offset, b.member(foo, 'x').offset, b.sizeof(foo)], [8, 16, 24, 32, 40]);
  assert.equal(b.typeName(b.member(foo, 't').typeId), 'struct task_struct *');
  // the script's struct file replaces the kernel's wherever a kernel type refers to it
  const file = ty.tagged('struct', 'file')!;
  assert.ok(ty.isScript(file));
  assert.equal(ty.shadow(kernel.findStruct('file')!), file);
  assert.equal(ty.shadow(kernel.findStruct('task_struct')!), kernel.findStruct('task_struct'));
  assert.equal(ty.tagged('struct', 'task_struct'), kernel.findStruct('task_struct'));
  assert.equal(ty.typedef('pid_t'), kernel.findTypedef('pid_t'));
});

test('values decode as bpftrace prints them: records, arrays, strings, bitfields, enums, pointers', () => {
  const ty = types('enum E { ONE = 1, TWO };\nstruct In { short s; char tag[4]; };\nstruct S { int a; char name[8]; struct In in; int arr[2]; unsigned char c:3, d:5; signed char e:4; union { int i; char ch[4]; }; enum E en; struct S *next; };');
  const s = ty.tagged('struct', 'S')!;
  const b = ty.btf!;
  const buf = Buffer.alloc(b.sizeof(s));
  const at = (f: string) => b.member(s, f).offset;
  buf.writeInt32LE(-7, at('a'));
  buf.write('hello', at('name'));
  buf.writeInt16LE(12, at('in.s'));
  buf.write('abcd', at('in.tag'));
  buf.writeInt32LE(1, at('arr'));
  buf.writeInt32LE(2, at('arr') + 4);
  buf[at('c')] = 5 | (17 << 3);
  buf[at('e')] = 0xc;
  buf.writeInt32LE(0x44434241, at('i'));
  buf.writeInt32LE(2, at('en'));
  buf.writeBigUInt64LE(0x7fff1234n, at('next'));
  assert.deepEqual(ty.decode(s, buf, 0), {
    kind: 'record',
    fields: [
      ['a', -7n], ['name', 'hello'], ['in', { kind: 'record', fields: [['s', 12n], ['tag', 'abcd']] }], ['arr', { kind: 'array', items: [1n, 2n] }],
      ['c', 5n], ['d', 17n], ['e', -4n], ['i', 0x44434241n], ['ch', 'ABCD'], ['en', { kind: 'symbolic', text: 'TWO', value: 2n }],
      ['next', { kind: 'symbolic', text: '0x7fff1234', value: 0x7fff1234n }],
    ],
  });
});

test('diagnostics point into the definition, in clang wording', () => {
  const kernel = Btf.vmlinux();
  assert.equal(failure('struct Foo { int a; foo_t b; };'), "stdin:1:21-26: ERROR: unknown type name 'foo_t'\nstruct Foo { int a; foo_t b; };\n                    ~~~~~");
  assert.equal(failure('struct Foo { int a; };\nunion U { int x; };\nstruct Foo { long b; };').split('\n')[0], "stdin:3:8-11: ERROR: redefinition of 'Foo'");
  assert.equal(failure('struct Foo { int a; struct nosuch x; };', kernel).split('\n')[0], "stdin:1:21-34: ERROR: field has incomplete type 'struct nosuch'");
  assert.equal(failure('struct Foo { struct Foo self; };').split('\n')[0], "stdin:1:14-24: ERROR: field has incomplete type 'struct Foo'");
  assert.equal(failure('struct Foo { int a : 33; };').split('\n')[0], "stdin:1:22-24: ERROR: width of bit-field 'a' (33 bits) exceeds the width of its type (32 bits)");
  assert.equal(failure('struct Foo { int *p : 3; };').split('\n')[0], "stdin:1:14-20: ERROR: bit-field 'p' has non-integral type 'int *'");
  assert.equal(failure('struct Foo { int a; char a; };').split('\n')[0], "stdin:1:21-27: ERROR: duplicate member 'a'");
  assert.equal(failure('struct Foo { int x[N]; };').split('\n')[0], 'stdin:1:20-21: ERROR: expression is not an integer constant expression');
  assert.equal(failure('struct Foo { void v; };').split('\n')[0], "stdin:1:14-18: ERROR: field has incomplete type 'void'");
  assert.equal(failure('enum E { A };\nenum F { A };').split('\n')[0], "stdin:2:10-11: ERROR: redefinition of enumerator 'A'");
  assert.equal(failure('typedef int t;\ntypedef long t;').split('\n')[0], "stdin:2:1-15: ERROR: typedef redefinition with different types for 't'");
  // a type used only behind a pointer may stay incomplete
  assert.equal(types('struct Foo { struct nosuch *p; };').btf!.sizeof(types('struct Foo { struct nosuch *p; };').tagged('struct', 'Foo')!), 8);
});
