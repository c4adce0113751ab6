/**
 * bpf(2): one encoder per command. Each builds a zeroed attr of the size that command needs (the kernel rejects
 * stray non-zero bytes after the fields a command uses), keeps every pointee referenced until the call returns,
 * and throws a SysError naming the command on failure.
 *
 * Layouts are those of include/uapi/linux/bpf.h (offsets checked against kernel 6.18 BTF).
 */
import { addressOf, E, sysBpf, sysBpfAt } from './libc.js';
import { SysError } from './errors.js';

export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
} as const;

const cmdNames = new Map<number, string>(Object.entries(BPF_CMD).map(([k, v]) => [v, `BPF_${k}`]));
export function bpfCmdName(cmd: number): string {
  return cmdNames.get(cmd) ?? `bpf cmd ${cmd}`;
}

/** Runs bpf(cmd, attr) and returns its result, or throws a SysError. */
export function bpfCall(cmd: number, attr: Buffer, hint?: string): number {
  const r = sysBpf(cmd, attr, attr.length);
  if (r < 0) throw new SysError(bpfCmdName(cmd), -r, hint);
  return r;
}

/** Like bpfCall but returns -errno instead of throwing (for probes and expected failures such as ENOENT). */
export function bpfTry(cmd: number, attr: Buffer): number {
  return sysBpf(cmd, attr, attr.length);
}

function ptr(b: Uint8Array | null | undefined): bigint {
  return b ? addressOf(b) : 0n;
}

function writeName(attr: Buffer, off: number, name: string | undefined): void {
  if (!name) return;
  // Object names: up to 15 chars of [A-Za-z0-9_.]; anything else makes the kernel answer EINVAL.
  const clean = name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
  attr.write(clean, off, 'latin1');
}

// ---------------------------------------------------------------------------------------------------------------
// Maps

export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  name?: string;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  mapExtra?: bigint;
}

export function mapCreate(a: MapCreateAttr): number {
  const attr = Buffer.alloc(72);
  attr.writeUInt32LE(a.mapType, 0);
  attr.writeUInt32LE(a.keySize, 4);
  attr.writeUInt32LE(a.valueSize, 8);
  attr.writeUInt32LE(a.maxEntries, 12);
  attr.writeUInt32LE(a.mapFlags ?? 0, 16);
  attr.writeUInt32LE(a.innerMapFd ?? 0, 20);
  attr.writeUInt32LE(a.numaNode ?? 0, 24);
  writeName(attr, 28, a.name);
  attr.writeUInt32LE(a.btfFd ?? 0, 48);
  attr.writeUInt32LE(a.btfKeyTypeId ?? 0, 52);
  attr.writeUInt32LE(a.btfValueTypeId ?? 0, 56);
  attr.writeBigUInt64LE(a.mapExtra ?? 0n, 64);
  return bpfCall(BPF_CMD.MAP_CREATE, attr);
}

/**
 * Reusable attrs for element operations on one map: key and value Buffers are owned by the object, and one attr per
 * operation is filled once (the kernel rejects stray bytes, so operations cannot share one), so the hot path is a
 * single syscall with no allocation and no field writes.
 */
export class MapElemAttr {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly nextKey: Buffer;
  /** every attr Buffer, kept referenced: the syscalls get their addresses */
  private readonly attrs: Buffer[] = [];
  private readonly lookupAttr: number;
  private readonly updateAttr: number;
  private readonly updateFlags: Buffer;
  private readonly deleteAttr: number;
  private readonly nextAttr: number;
  private readonly firstAttr: number;
  private readonly lookupDelAttr: number;
  private readonly popAttr: number;

  constructor(
    readonly fd: number,
    keySize: number,
    valueBytes: number,
  ) {
    // Zero-sized keys/values still need a valid pointer for some map types: keep at least 8 bytes.
    this.key = Buffer.alloc(Math.max(keySize, 8));
    this.value = Buffer.alloc(Math.max(valueBytes, 8));
    this.nextKey = Buffer.alloc(Math.max(keySize, 8));
    const attr = (key: Buffer | null, second: Buffer | null) => {
      const a = Buffer.alloc(32);
      a.writeUInt32LE(fd, 0);
      a.writeBigUInt64LE(ptr(key), 8);
      a.writeBigUInt64LE(ptr(second), 16);
      this.attrs.push(a);
      return Number(addressOf(a));
    };
    this.lookupAttr = attr(this.key, this.value);
    this.updateAttr = attr(this.key, this.value);
    this.updateFlags = this.attrs[this.attrs.length - 1]!;
    this.deleteAttr = attr(this.key, null);
    this.nextAttr = attr(this.key, this.nextKey);
    this.firstAttr = attr(null, this.nextKey);
    this.lookupDelAttr = attr(this.key, this.value);
    this.popAttr = attr(null, this.value);
  }

  private run(cmd: number, a: number, op: string): boolean {
    const r = sysBpfAt(cmd, a, 32);
    if (r === -E.ENOENT!) return false;
    if (r < 0) throw new SysError(op, -r);
    return true;
  }

  /** Looks up `this.key` into `this.value`. Returns false when absent. */
  lookup(): boolean {
    return this.run(BPF_CMD.MAP_LOOKUP_ELEM, this.lookupAttr, 'BPF_MAP_LOOKUP_ELEM');
  }

  /** Looks up and deletes `this.key` into `this.value` (queues/stacks: key unused). */
  lookupAndDelete(withKey = true): boolean {
    return this.run(BPF_CMD.MAP_LOOKUP_AND_DELETE_ELEM, withKey ? this.lookupDelAttr : this.popAttr, 'BPF_MAP_LOOKUP_AND_DELETE_ELEM');
  }

  /** Writes `this.value` at `this.key`. flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2. */
  update(flags = 0n): void {
    this.updateFlags.writeBigUInt64LE(flags, 24);
    const r = sysBpfAt(BPF_CMD.MAP_UPDATE_ELEM, this.updateAttr, 32);
    if (r < 0) throw new SysError('BPF_MAP_UPDATE_ELEM', -r);
  }

  /** Deletes `this.key`. Returns false when absent. */
  delete(): boolean {
    return this.run(BPF_CMD.MAP_DELETE_ELEM, this.deleteAttr, 'BPF_MAP_DELETE_ELEM');
  }

  /** Writes the key after `this.key` (or the first key when `first`) into `this.nextKey`. False at the end. */
  nextKeyOf(first: boolean): boolean {
    return this.run(BPF_CMD.MAP_GET_NEXT_KEY, first ? this.firstAttr : this.nextAttr, 'BPF_MAP_GET_NEXT_KEY');
  }
}

export interface BatchResult {
  count: number;
  done: boolean;
}

/**
 * One BPF_MAP_LOOKUP[_AND_DELETE]_BATCH call. `inBatch` null on the first call; `outBatch` receives the cursor to
 * pass as `inBatch` next time. Returns how many elements were copied and whether the map is exhausted.
 * Returns null when the kernel or map type has no batch support (EINVAL/ENOTSUPP), so callers can fall back.
 */
export function mapLookupBatch(
  fd: number,
  inBatch: Buffer | null,
  outBatch: Buffer,
  keys: Buffer,
  values: Buffer,
  capacity: number,
  andDelete: boolean,
): BatchResult | null {
  const attr = Buffer.alloc(56);
  attr.writeBigUInt64LE(ptr(inBatch), 0);
  attr.writeBigUInt64LE(ptr(outBatch), 8);
  attr.writeBigUInt64LE(ptr(keys), 16);
  attr.writeBigUInt64LE(ptr(values), 24);
  attr.writeUInt32LE(capacity, 32);
  attr.writeUInt32LE(fd, 36);
  const cmd = andDelete ? BPF_CMD.MAP_LOOKUP_AND_DELETE_BATCH : BPF_CMD.MAP_LOOKUP_BATCH;
  const r = sysBpf(cmd, attr, 56);
  const count = attr.readUInt32LE(32);
  if (r === -E.ENOENT!) return { count, done: true };
  if (r === -E.EINVAL! || r === -524 /* ENOTSUPP */ || r === -(E.EOPNOTSUPP ?? 95)) return null;
  if (r < 0) throw new SysError(bpfCmdName(cmd), -r);
  return { count, done: false };
}

// ---------------------------------------------------------------------------------------------------------------
// Programs

export interface ProgLoadAttr {
  progType: number;
  insns: Buffer;
  license?: string;
  logLevel?: number;
  logBuf?: Buffer;
  kernVersion?: number;
  progFlags?: number;
  name?: string;
  expectedAttachType?: number;
  progBtfFd?: number;
  /** bpf_func_info records (u32 insn_off, u32 type_id), one per function; needs progBtfFd */
  funcInfo?: Buffer;
  attachBtfId?: number;
  attachBtfObjFd?: number;
  fdArray?: Buffer;
}

export interface ProgLoadResult {
  /** fd, or -errno */
  fd: number;
  /** bytes the full log needs (kernels >= 6.4; 0 otherwise) */
  logTrueSize: number;
}

/** BPF_PROG_LOAD. Never throws: callers decide how to report (they need the log and the errno). */
export function progLoad(a: ProgLoadAttr): ProgLoadResult {
  const attr = Buffer.alloc(144);
  const license = Buffer.from((a.license ?? 'GPL') + '\0', 'latin1');
  attr.writeUInt32LE(a.progType, 0);
  attr.writeUInt32LE(a.insns.length / 8, 4);
  attr.writeBigUInt64LE(ptr(a.insns), 8);
  attr.writeBigUInt64LE(ptr(license), 16);
  if (a.logBuf && a.logLevel) {
    attr.writeUInt32LE(a.logLevel, 24);
    attr.writeUInt32LE(a.logBuf.length, 28);
    attr.writeBigUInt64LE(ptr(a.logBuf), 32);
  }
  attr.writeUInt32LE(a.kernVersion ?? 0, 40);
  attr.writeUInt32LE(a.progFlags ?? 0, 44);
  writeName(attr, 48, a.name);
  attr.writeUInt32LE(a.expectedAttachType ?? 0, 68);
  attr.writeUInt32LE(a.progBtfFd ?? 0, 72);
  if (a.funcInfo) {
    attr.writeUInt32LE(8, 76); // func_info_rec_size
    attr.writeBigUInt64LE(ptr(a.funcInfo), 80);
    attr.writeUInt32LE(a.funcInfo.length / 8, 88);
  }
  attr.writeUInt32LE(a.attachBtfId ?? 0, 108);
  attr.writeUInt32LE(a.attachBtfObjFd ?? 0, 112);
  attr.writeBigUInt64LE(ptr(a.fdArray), 120);
  const fd = sysBpf(BPF_CMD.PROG_LOAD, attr, attr.length);
  const logTrueSize = attr.readUInt32LE(140);
  // keep pointees alive until here
  void license.length;
  void a.insns.length;
  void a.funcInfo?.length;
  return { fd, logTrueSize };
}

export interface TestRunResult {
  retval: number;
  duration: number;
}

/** BPF_PROG_TEST_RUN with a context (raw_tp: u64 args[]; repeat must be 0 there). */
export function progTestRun(progFd: number, ctx: Buffer | null, data: Buffer | null = null, repeat = 0): TestRunResult {
  const attr = Buffer.alloc(80);
  attr.writeUInt32LE(progFd, 0);
  if (data) {
    attr.writeUInt32LE(data.length, 8);
    attr.writeBigUInt64LE(ptr(data), 16);
  }
  attr.writeUInt32LE(repeat, 32);
  if (ctx) {
    attr.writeUInt32LE(ctx.length, 40);
    attr.writeBigUInt64LE(ptr(ctx), 48);
  }
  bpfCall(BPF_CMD.PROG_TEST_RUN, attr);
  return { retval: attr.readUInt32LE(4), duration: attr.readUInt32LE(36) };
}

// ---------------------------------------------------------------------------------------------------------------
// Attaching

/** BPF_RAW_TRACEPOINT_OPEN: name for raw_tp; null for tp_btf/fentry/fexit/lsm (target from attach_btf_id). */
export function rawTracepointOpen(progFd: number, name: string | null): number {
  const attr = Buffer.alloc(16);
  const nameBuf = name === null ? null : Buffer.from(name + '\0', 'latin1');
  attr.writeBigUInt64LE(ptr(nameBuf), 0);
  attr.writeUInt32LE(progFd, 8);
  const r = bpfCall(BPF_CMD.RAW_TRACEPOINT_OPEN, attr);
  void nameBuf?.length;
  return r;
}

export interface LinkCreateAttr {
  progFd: number;
  targetFd: number;
  attachType: number;
  flags?: number;
  /** perf_event.bpf_cookie, or tracing.target_btf_id (u32) — written at offset 16 */
  targetBtfId?: number;
  cookie?: bigint;
}

export function linkCreate(a: LinkCreateAttr): number {
  const attr = Buffer.alloc(48);
  attr.writeUInt32LE(a.progFd, 0);
  attr.writeUInt32LE(a.targetFd, 4);
  attr.writeUInt32LE(a.attachType, 8);
  attr.writeUInt32LE(a.flags ?? 0, 12);
  if (a.targetBtfId !== undefined) {
    attr.writeUInt32LE(a.targetBtfId, 16);
    if (a.cookie !== undefined) attr.writeBigUInt64LE(a.cookie, 24);
  } else if (a.cookie !== undefined) {
    attr.writeBigUInt64LE(a.cookie, 16);
  }
  return bpfCall(BPF_CMD.LINK_CREATE, attr);
}

// ---------------------------------------------------------------------------------------------------------------
// Objects and BTF

/** BPF_OBJ_GET_INFO_BY_FD into `info` (bpf_prog_info / bpf_map_info / bpf_link_info / bpf_btf_info). */
export function objGetInfo(fd: number, info: Buffer): number {
  const attr = Buffer.alloc(16);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  attr.writeBigUInt64LE(ptr(info), 8);
  bpfCall(BPF_CMD.OBJ_GET_INFO_BY_FD, attr);
  return attr.readUInt32LE(4);
}

/** Iterates object ids (PROG/MAP/LINK_GET_NEXT_ID). */
export function objIds(cmd: number): number[] {
  const ids: number[] = [];
  const attr = Buffer.alloc(12);
  let id = 0;
  for (;;) {
    attr.fill(0);
    attr.writeUInt32LE(id, 0);
    const r = sysBpf(cmd, attr, attr.length);
    if (r < 0) break;
    id = attr.readUInt32LE(4);
    ids.push(id);
  }
  return ids;
}

export interface BtfLoadResult {
  fd: number;
  log: string;
}

/** BPF_BTF_LOAD of a raw BTF blob; used for map BTF and feature probes. */
export function btfLoad(blob: Buffer, logSize = 0): BtfLoadResult {
  const attr = Buffer.alloc(32);
  const log = logSize ? Buffer.alloc(logSize) : null;
  attr.writeBigUInt64LE(ptr(blob), 0);
  attr.writeBigUInt64LE(ptr(log), 8);
  attr.writeUInt32LE(blob.length, 16);
  attr.writeUInt32LE(log ? log.length : 0, 20);
  attr.writeUInt32LE(log ? 1 : 0, 24);
  const fd = sysBpf(BPF_CMD.BTF_LOAD, attr, 28);
  return { fd, log: log ? log.toString('latin1').replace(/\0.*$/s, '') : '' };
}

/** BPF_LINK_CREATE of a kprobe_multi link on kernel functions by name (link_create.kprobe_multi). Returns fd or -errno. */
export function linkCreateKprobeMulti(progFd: number, syms: string[], retprobe = false): number {
  const attr = Buffer.alloc(48);
  const names = syms.map((s) => Buffer.from(s + '\0', 'latin1'));
  const ptrs = Buffer.alloc(8 * names.length);
  names.forEach((n, i) => ptrs.writeBigUInt64LE(ptr(n), i * 8));
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(42 /* BPF_TRACE_KPROBE_MULTI */, 8);
  attr.writeUInt32LE(retprobe ? 1 : 0, 16); // BPF_F_KPROBE_MULTI_RETURN
  attr.writeUInt32LE(syms.length, 20);
  attr.writeBigUInt64LE(ptr(ptrs), 24);
  const r = sysBpf(BPF_CMD.LINK_CREATE, attr, attr.length);
  void names.length; // keep the strings alive until the kernel has copied them
  return r;
}
