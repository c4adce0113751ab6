/**
 * SystemTap SDT (USDT) argument specs for x86-64, as written by <sys/sdt.h> into `.note.stapsdt`:
 * `[-]SIZE@OPERAND` separated by spaces, OPERAND in AT&T syntax: `%reg`, `$imm`, `disp(%base[,%index[,scale]])`,
 * `sym+disp(%rip)`. A negative SIZE means a signed value.
 */

/** One decoded USDT argument. Registers are named by their 64-bit register (`eax` → `rax`). */
export type UsdtArg =
  | { kind: 'reg'; size: number; signed: boolean; reg: string; spec: string }
  | { kind: 'const'; size: number; signed: boolean; value: bigint; spec: string }
  | {
      kind: 'mem'; size: number; signed: boolean; reg: string; offset: number;
      index?: string; scale?: number; symbol?: string; spec: string;
    }
  | { kind: 'unsupported'; size: number; signed: boolean; spec: string };

/** A USDT probe site read from an ELF file. Addresses are ELF virtual addresses; offsets are file offsets. */
export interface UsdtProbe {
  provider: string;
  name: string;
  /** Probe address (vaddr), already adjusted by `.stapsdt.base`. */
  pc: number;
  /** File offset of `pc`: what a uprobe attaches to. */
  fileOffset: number;
  /** Semaphore address (vaddr), 0 when the probe has none. */
  semaphore: number;
  /** File offset of the semaphore (uprobe ref_ctr_offset), 0 when none. */
  semaphoreFileOffset: number;
  args: UsdtArg[];
}

const GPR64 = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp'];
const REG_ALIASES: Record<string, string> = { rip: 'rip', eip: 'rip' };
for (const r of GPR64) {
  const s = r.slice(1); // ax, si, bp…
  REG_ALIASES[r] = r;
  REG_ALIASES['e' + s] = r;
  REG_ALIASES[s] = r;
  REG_ALIASES[s.endsWith('x') ? s[0] + 'l' : s + 'l'] = r; // al, sil, bpl
  if (s.endsWith('x')) REG_ALIASES[s[0] + 'h'] = r; // ah
}
for (let i = 8; i <= 15; i++) for (const suf of ['', 'd', 'w', 'b']) REG_ALIASES[`r${i}${suf}`] = `r${i}`;

/** Byte offset of each 64-bit register in the x86-64 `struct pt_regs` (what a BPF program reads from ctx). */
export const X86_64_PT_REGS_OFFSET: Readonly<Record<string, number>> = Object.fromEntries(
  ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi',
    'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss'].map((r, i) => [r, i * 8]),
);

function reg(name: string): string | undefined {
  return name.startsWith('%') ? REG_ALIASES[name.slice(1)] : undefined;
}

const MEM = /^([^(]*)\((%\w+)(?:,(%\w+)(?:,(\d+))?)?\)$/;

/** Decodes one argument spec like `-4@%eax`, `8@-16(%rbp)`, `4@$5`, `8@8(%rax,%rdx,8)`. */
export function parseUsdtArg(spec: string): UsdtArg {
  const at = spec.indexOf('@');
  const sz = at > 0 ? parseInt(spec.slice(0, at), 10) : 8;
  const size = Math.abs(sz) || 8;
  const signed = sz < 0;
  const op = at > 0 ? spec.slice(at + 1) : spec;
  const unsupported: UsdtArg = { kind: 'unsupported', size, signed, spec };
  if (op.startsWith('$')) {
    const v = op.slice(1);
    if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(v)) return unsupported;
    return { kind: 'const', size, signed, value: v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v), spec };
  }
  const r = reg(op);
  if (r) return { kind: 'reg', size, signed, reg: r, spec };
  const m = MEM.exec(op);
  const base = m && reg(m[2]);
  if (!m || !base) return unsupported;
  // Displacement: a number, or `sym`, `sym+N`, `sym-N` (RIP-relative globals).
  const d = /^(?:([A-Za-z_.$][\w.$@]*))?([+-]?(?:0x[0-9a-f]+|\d+))?$/i.exec(m[1]);
  if (!d) return unsupported;
  const arg: UsdtArg = { kind: 'mem', size, signed, reg: base, offset: d[2] ? signedNumber(d[2]) : 0, spec };
  if (d[1]) arg.symbol = d[1];
  if (m[3]) {
    const index = reg(m[3]);
    if (!index) return unsupported;
    arg.index = index;
    arg.scale = m[4] ? Number(m[4]) : 1;
  }
  return arg;
}

function signedNumber(s: string): number {
  return s.startsWith('-') ? -Number(s.slice(1)) : Number(s.startsWith('+') ? s.slice(1) : s);
}

/** Decodes a whole argument string (space separated; empty for probes without arguments). */
export function parseUsdtArgs(specs: string): UsdtArg[] {
  return specs.split(' ').filter(Boolean).map(parseUsdtArg);
}
