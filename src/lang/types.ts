/**
 * The types of the language's values, and how each is laid out in BPF memory (map keys/values, event records).
 * Every integer is stored as 8 bytes; strings as a fixed-size NUL-padded buffer; tuples as their elements, each
 * 8-byte aligned; stacks as a u64 (stack id, and the tgid in the high half for user stacks).
 */
export type Ty =
  | { k: 'int'; size: 1 | 2 | 4 | 8; signed: boolean }
  | { k: 'bool' }
  | { k: 'str'; size: number }
  | { k: 'tuple'; elems: Ty[] }
  | { k: 'stack'; user: boolean; mode: 'bpftrace' | 'perf' | 'raw'; limit: number }
  | { k: 'ksym' }
  /** an `ntop()` address: the family as a u64, then 16 address bytes (4 used for AF_INET) */
  | { k: 'inet' }
  | { k: 'usym' }
  /** `macaddr(addr)`: 6 address bytes (in an 8-byte slot), printed `AA:BB:CC:DD:EE:FF` */
  | { k: 'macaddr' }
  /** `strftime(fmt, ns)`: boot-time ns, formatted in user space */
  | { k: 'timestamp'; format: string }
  /** `buf(p, n)`: a u64 length, then `size` bytes (printed hex-escaped) */
  | { k: 'buf'; size: number }
  /**
   * a pointer; `btf` names the pointee struct/union type id (kernel or script BTF) when known; `to` is the
   * pointee's BTF type id whatever its kind (for `p[i]` and `*p`); `pointee` is the pointee's type when it has no
   * BTF id (casts to `int32 *` or `struct x **`); `user` = user address space
   */
  | { k: 'ptr'; btf?: number; to?: number; pointee?: Ty; user: boolean }
  /**
   * a struct, union or (non-string) array value known through BTF: `size` bytes as in memory, `name` as C writes
   * its type (`struct foo`, `int[4]`); `user`: read from user memory, so are the pointers in it
   */
  | { k: 'record'; btf: number; size: number; name: string; user: boolean }
  /** the tracepoint `args` record */
  | { k: 'args' }
  | { k: 'none' };

export const U64: Ty = { k: 'int', size: 8, signed: false };
export const I64: Ty = { k: 'int', size: 8, signed: true };
export const U32: Ty = { k: 'int', size: 4, signed: false };
export const BOOL: Ty = { k: 'bool' };
export const NONE: Ty = { k: 'none' };

export function isInt(t: Ty): boolean {
  return t.k === 'int' || t.k === 'bool' || t.k === 'ptr' || t.k === 'ksym' || t.k === 'usym';
}

export function isSigned(t: Ty): boolean {
  return t.k === 'int' && t.signed;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Bytes a value of this type occupies in a key, value or record (always a multiple of 8). */
export function storageSize(t: Ty): number {
  switch (t.k) {
    case 'str':
      return align8(t.size);
    case 'tuple':
      return t.elems.reduce((s, e) => s + storageSize(e), 0);
    case 'none':
      return 0;
    case 'inet':
      return 24;
    case 'usym':
      // the address, then the tgid whose address space it is in
      return 16;
    case 'buf':
      // room for a NUL after the bytes (a string source is copied with its terminator)
      return 8 + align8(t.size + 1);
    case 'record':
      return align8(t.size);
    default:
      return 8;
  }
}

/** Offsets of a tuple's elements within its storage. */
export function tupleOffsets(t: { elems: Ty[] }): number[] {
  let off = 0;
  return t.elems.map((e) => {
    const o = off;
    off += storageSize(e);
    return o;
  });
}

export function sameType(a: Ty, b: Ty): boolean {
  if (a.k !== b.k) return false;
  if (a.k === 'tuple' && b.k === 'tuple') return a.elems.length === b.elems.length && a.elems.every((e, i) => sameType(e, b.elems[i]!));
  if (a.k === 'stack' && b.k === 'stack') return a.user === b.user;
  // by name, as bpftrace: a struct name means one type; arrays of the same element type and length are one type
  if (a.k === 'record' && b.k === 'record') return a.name === b.name && a.size === b.size;
  return true;
}

/** The type both a and b fit in (ints widen; strings take the larger size), or undefined when incompatible. */
export function unify(a: Ty, b: Ty): Ty | undefined {
  if (a.k === 'int' && b.k === 'int') return { k: 'int', size: Math.max(a.size, b.size) as 8, signed: a.signed || b.signed };
  if (isInt(a) && isInt(b)) return a.k === b.k ? a : I64;
  if (a.k === 'str' && b.k === 'str') return { k: 'str', size: Math.max(a.size, b.size) };
  if (a.k === 'tuple' && b.k === 'tuple' && a.elems.length === b.elems.length) {
    const elems: Ty[] = [];
    for (let i = 0; i < a.elems.length; i++) {
      const u = unify(a.elems[i]!, b.elems[i]!);
      if (!u) return undefined;
      elems.push(u);
    }
    return { k: 'tuple', elems };
  }
  return sameType(a, b) ? a : undefined;
}

/** bpftrace's name for a type in messages. */
export function typeName(t: Ty): string {
  switch (t.k) {
    case 'int':
      return `${t.signed ? '' : 'u'}int${t.size * 8}`;
    case 'str':
      return `string[${t.size}]`;
    case 'tuple':
      return `(${t.elems.map(typeName).join(', ')})`;
    case 'stack':
      return t.user ? 'ustack' : 'kstack';
    case 'ptr':
      return 'pointer';
    case 'args':
      return 'args';
    case 'record':
      return t.name;
    default:
      return t.k;
  }
}

/**
 * The kernel refuses hash map keys over 512 bytes (MAX_BPF_STACK). A key type over `limit` bytes keeps its
 * integers and shrinks its strings: the longest ones are cut (to multiples of 8 bytes) until the key fits, so a
 * key string longer than its share is stored truncated. Undefined when even 8-byte strings do not fit.
 */
export function fitKey(t: Ty, limit: number): Ty | undefined {
  const strs: { size: number }[] = [];
  const walk = (x: Ty): Ty => {
    if (x.k === 'str') {
      const s = { k: 'str' as const, size: x.size };
      strs.push(s);
      return s;
    }
    return x.k === 'tuple' ? { k: 'tuple', elems: x.elems.map(walk) } : x;
  };
  const out = walk(t);
  while (storageSize(out) > limit) {
    const longest = strs.reduce<{ size: number } | undefined>((m, s) => (!m || s.size > m.size ? s : m), undefined);
    if (!longest || longest.size <= 8) return undefined;
    longest.size = align8(longest.size) - 8;
  }
  return out;
}
