/** Typed key/value codecs for maps: how a JS value is laid out in the bytes the kernel stores. */
export interface Codec<T> {
  readonly size: number;
  encode(v: T, buf: Buffer, off: number): void;
  decode(buf: Buffer, off: number): T;
}

function intCodec(size: 1 | 2 | 4, signed: boolean): Codec<number> {
  const r = signed ? (['readInt8', 'readInt16LE', '', 'readInt32LE'] as const) : (['readUInt8', 'readUInt16LE', '', 'readUInt32LE'] as const);
  const w = signed ? (['writeInt8', 'writeInt16LE', '', 'writeInt32LE'] as const) : (['writeUInt8', 'writeUInt16LE', '', 'writeUInt32LE'] as const);
  const i = size === 4 ? 3 : size - 1;
  const rd = r[i] as 'readUInt8';
  const wr = w[i] as 'writeUInt8';
  return {
    size,
    encode: (v, b, o) => void b[wr](v, o),
    decode: (b, o) => b[rd](o),
  };
}

export const u8 = intCodec(1, false);
export const u16 = intCodec(2, false);
export const u32 = intCodec(4, false);
export const i8 = intCodec(1, true);
export const i16 = intCodec(2, true);
export const i32 = intCodec(4, true);
export const u64: Codec<bigint> = {
  size: 8,
  encode: (v, b, o) => void b.writeBigUInt64LE(v, o),
  decode: (b, o) => b.readBigUInt64LE(o),
};
export const i64: Codec<bigint> = {
  size: 8,
  encode: (v, b, o) => void b.writeBigInt64LE(v, o),
  decode: (b, o) => b.readBigInt64LE(o),
};

/** Raw bytes of a fixed size (decode copies). */
export function bytes(size: number): Codec<Buffer> {
  return {
    size,
    encode: (v, b, o) => {
      b.fill(0, o, o + size);
      v.copy(b, o, 0, Math.min(size, v.length));
    },
    decode: (b, o) => Buffer.from(b.subarray(o, o + size)),
  };
}

/** A NUL-padded string of a fixed size. */
export function cstring(size: number): Codec<string> {
  return {
    size,
    encode: (v, b, o) => {
      b.fill(0, o, o + size);
      b.write(v, o, size - 1, 'utf8');
    },
    decode: (b, o) => {
      const end = b.indexOf(0, o);
      return b.toString('utf8', o, end < 0 || end > o + size ? o + size : end);
    },
  };
}

/** No value (ring buffers, stack maps use their own readers). */
export const none: Codec<undefined> = { size: 0, encode: () => undefined, decode: () => undefined };
