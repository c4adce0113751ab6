/** Typed key/value codecs for maps: how a JS value is laid out in the bytes the kernel stores. */
export interface Codec<T> {
  readonly size: number;
  encode(v: T, buf: Buffer, off: number): void;
  decode(buf: Buffer, off: number): T;
}

export const u8: Codec<number> = { size: 1, encode: (v, b, o) => void b.writeUInt8(v, o), decode: (b, o) => b.readUInt8(o) };
export const u16: Codec<number> = { size: 2, encode: (v, b, o) => void b.writeUInt16LE(v, o), decode: (b, o) => b.readUInt16LE(o) };
export const u32: Codec<number> = { size: 4, encode: (v, b, o) => void b.writeUInt32LE(v, o), decode: (b, o) => b.readUInt32LE(o) };
export const i8: Codec<number> = { size: 1, encode: (v, b, o) => void b.writeInt8(v, o), decode: (b, o) => b.readInt8(o) };
export const i16: Codec<number> = { size: 2, encode: (v, b, o) => void b.writeInt16LE(v, o), decode: (b, o) => b.readInt16LE(o) };
export const i32: Codec<number> = { size: 4, encode: (v, b, o) => void b.writeInt32LE(v, o), decode: (b, o) => b.readInt32LE(o) };
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
