import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X86_64_PT_REGS_OFFSET, parseUsdtArg, parseUsdtArgs } from './usdt.js';

test('register, memory, constant and indexed operands', () => {
  assert.deepEqual(parseUsdtArg('-4@%eax'), { kind: 'reg', size: 4, signed: true, reg: 'rax', spec: '-4@%eax' });
  assert.deepEqual(parseUsdtArg('8@-16(%rbp)'), { kind: 'mem', size: 8, signed: false, reg: 'rbp', offset: -16, spec: '8@-16(%rbp)' });
  assert.deepEqual(parseUsdtArg('4@$5'), { kind: 'const', size: 4, signed: false, value: 5n, spec: '4@$5' });
  assert.deepEqual(parseUsdtArg('-4@$-12'), { kind: 'const', size: 4, signed: true, value: -12n, spec: '-4@$-12' });
  assert.deepEqual(parseUsdtArg('8@8(%rax,%rdx,8)'), {
    kind: 'mem', size: 8, signed: false, reg: 'rax', offset: 8, index: 'rdx', scale: 8, spec: '8@8(%rax,%rdx,8)',
  });
  assert.deepEqual(parseUsdtArg('-2@counter+4(%rip)'), {
    kind: 'mem', size: 2, signed: true, reg: 'rip', offset: 4, symbol: 'counter', spec: '-2@counter+4(%rip)',
  });
  assert.deepEqual(parseUsdtArg('1@(%rsi)'), { kind: 'mem', size: 1, signed: false, reg: 'rsi', offset: 0, spec: '1@(%rsi)' });
  assert.equal(parseUsdtArg('8@%r12d').kind === 'reg' && (parseUsdtArg('8@%r12d') as { reg: string }).reg, 'r12');
  assert.equal((parseUsdtArg('1@%sil') as { reg: string }).reg, 'rsi');
  assert.equal((parseUsdtArg('1@%ah') as { reg: string }).reg, 'rax');
  assert.equal(parseUsdtArg('8@%xmm0').kind, 'unsupported');
  assert.deepEqual(parseUsdtArgs('').length, 0);
  assert.deepEqual(parseUsdtArgs('-4@%edi 8@%rsi').map((a) => a.kind), ['reg', 'reg']);
});

test('pt_regs offsets follow the x86-64 layout', () => {
  assert.equal(X86_64_PT_REGS_OFFSET.r15, 0);
  assert.equal(X86_64_PT_REGS_OFFSET.rdi, 112);
  assert.equal(X86_64_PT_REGS_OFFSET.rip, 128);
  assert.equal(X86_64_PT_REGS_OFFSET.rsp, 152);
});
