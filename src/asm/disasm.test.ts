import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disassemble } from './disasm.js';
import { Asm } from './builder.js';
import { R0, R1, R6, R10 } from './opcodes.js';
import { buildVariant, VARIANTS } from './variants.fixture.js';

test('each instruction variant prints like bpftool prog dump xlated', () => {
  for (const x of VARIANTS) {
    const [first] = disassemble(buildVariant(x).assemble().insns);
    assert.equal(first, `   0: (${x.code.toString(16).padStart(2, '0')}) ${x.text}`, x.name);
  }
});

test('a whole program: slot numbers advance by 2 after ld_imm64, maps by name or fd', () => {
  const a = new Asm()
    .mov(R6, R1)
    .call('get_current_pid_tgid')
    .ldMapFd(R1, { fd: 5, name: 'pids' })
    .stx(8, R10, -8, R1)
    .ldx(8, R1, R10, -8)
    .jeq(R0, 0, 'out')
    .ldMapFd(R1, 6)
    .mov(R0, 0)
    .label('out')
    .exit();
  const { insns } = a.assemble();
  const want = [
    '   0: (bf) r6 = r1',
    '   1: (85) call bpf_get_current_pid_tgid#14',
    '   2: (18) r1 = map[pids]',
    '   4: (7b) *(u64 *)(r10 -8) = r1',
    '   5: (79) r1 = *(u64 *)(r10 -8)',
    '   6: (15) if r0 == 0x0 goto pc+3',
    '   7: (18) r1 = map[fd:6]',
    '   9: (b7) r0 = 0',
    '  10: (95) exit',
  ];
  assert.deepEqual(disassemble(insns, { mapName: (fd) => (fd === 5 ? 'pids' : undefined) }), want);
  assert.equal(disassemble(insns)[2], '   2: (18) r1 = map[fd:5]');
});

test('instructions outside the instruction set are shown, not hidden', () => {
  const lines = disassemble([
    { code: 0xff, dst: 0, src: 0, off: 0, imm: 0 },
    { code: 0x85, dst: 0, src: 0, off: 0, imm: 9999 },
  ]);
  assert.deepEqual(lines, ['   0: (ff) unknown', '   1: (85) call bpf_unknown#9999']);
});
