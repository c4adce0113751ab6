import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { demangle } from './demangle.js';
import { findLibrary } from './libs.js';
import { have } from './testfixtures.js';

const CASES: [string, string][] = [
  ['_ZNSt6vectorIiSaIiEE9push_backERKi', 'std::vector<int, std::allocator<int> >::push_back(int const&)'],
  ['_ZN3foo3barEv', 'foo::bar()'],
  ['_Z3addii', 'add(int, int)'],
  ['_ZNK3foo3getEv', 'foo::get() const'],
  ['_ZN3FooC1Ev', 'Foo::Foo()'],
  ['_ZN3FooD2Ev', 'Foo::~Foo()'],
  ['_ZN2ns3FooC2ERKS0_', 'ns::Foo::Foo(ns::Foo const&)'],
  ['_ZN12_GLOBAL__N_14helpEPKc', '(anonymous namespace)::help(char const*)'],
  ['_ZSt4swapIiEvRT_S1_', 'void std::swap<int>(int&, int&)'],
  ['_Z1fIiEvT_', 'void f<int>(int)'],
  ['_Z1fPFivE', 'f(int (*)())'],
  ['_Z1fPA10_i', 'f(int (*) [10])'],
  ['_Z1fM1AKFivE', 'f(int (A::*)() const)'],
  ['_Z1fM1Ai', 'f(int A::*)'],
  ['_ZN3FoopLERKS_', 'Foo::operator+=(Foo const&)'],
  ['_ZN1AcviEv', 'A::operator int()'],
  ['_ZN1AltIiEEbT_', 'bool A::operator< <int>(int)'],
  ['_ZN1AixEm', 'A::operator[](unsigned long)'],
  ['_Znwm', 'operator new(unsigned long)'],
  ['_ZdlPv', 'operator delete(void*)'],
  ['_ZTV3Foo', 'vtable for Foo'],
  ['_ZTI3Foo', 'typeinfo for Foo'],
  ['_ZThn8_N3Foo3barEv', 'non-virtual thunk to Foo::bar()'],
  ['_ZZ4mainE5count', 'main::count'],
  ['_ZGVZ4mainE1x', 'guard variable for main::x'],
  ['_ZL6statici', 'static(int)'],
  ['_Z3foov.cold', 'foo() [clone .cold]'],
  ['_Z3barv.constprop.0.isra.0', 'bar() [clone .constprop.0] [clone .isra.0]'],
  ['_ZNSsC1Ev', 'std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()'],
  ['_ZNSo5flushEv', 'std::basic_ostream<char, std::char_traits<char> >::flush()'],
  ['_ZNKSt5ctypeIcE8do_widenEc', 'std::ctype<char>::do_widen(char) const'],
  ['_Z1fIJidEEvDpT_', 'void f<int, double>(int, double)'],
  ['_Z1fIiLi5EEvv', 'void f<int, 5>()'],
  ['_Z1fILb1EEvv', 'void f<true>()'],
  ['_ZN1A1fB5cxx11Ev', 'A::f[abi:cxx11]()'],
  ['_ZNKR1A1fEv', 'A::f() const &'],
  ['_Z1fPVKc', 'f(char const volatile*)'],
  ['_Z1fOi', 'f(int&&)'],
  ['_Znam@@GLIBCXX_3.4', 'operator new[](unsigned long)@@GLIBCXX_3.4'],
  ['_ZZ4mainENKUliE_clEi', 'main::{lambda(int)#1}::operator()(int) const'],
  // Rust legacy (hash dropped) and v0
  ['_ZN4core3ptr13drop_in_place17h0123456789abcdefE', 'core::ptr::drop_in_place'],
  ['_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h7f1e2d3c4b5a6978E', 'std::rt::lang_start::{{closure}}'],
  ['_ZN60_$LT$alloc..string..String$u20$as$u20$core..fmt..Display$GT$3fmt17h0011223344556677E',
    '<alloc::string::String as core::fmt::Display>::fmt'],
  ['_RNvCs1234_7mycrate3foo', 'mycrate::foo'],
  ['_RNvNtCs1234_7mycrate3bar3baz', 'mycrate::bar::baz'],
  ['_RNCNvCs1234_7mycrate4main0', 'mycrate::main::{closure#0}'],
  ['_RINvCs1234_7mycrate3fooyE', 'mycrate::foo::<u64>'],
  // not mangled, or not parseable: unchanged
  ['malloc', 'malloc'],
  ['_Zgarbage', '_Zgarbage'],
  ['_ZN3foo', '_ZN3foo'],
];

test('demangles common C++ and Rust names', () => {
  for (const [mangled, want] of CASES) assert.equal(demangle(mangled), want, mangled);
});

test('agrees with c++filt on libstdc++ exports', (t) => {
  const lib = findLibrary('libstdc++');
  if (!lib || !have('c++filt') || !have('nm')) return t.skip('libstdc++, c++filt or nm missing');
  const names = execFileSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim().split(/\s+/)[2]).filter((n) => n?.startsWith('_Z'));
  const want = execFileSync('c++filt', { input: names.join('\n'), encoding: 'utf8' }).split('\n');
  const bad = names.filter((n, i) => demangle(n) !== want[i]);
  assert.ok(names.length > 1000);
  assert.ok(bad.length / names.length < 0.02, `${bad.length}/${names.length} differ, e.g. ${bad.slice(0, 3).join(' ')}`);
});
