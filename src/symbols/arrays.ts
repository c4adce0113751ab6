/** Typed-array helpers for the sorted tables (explicit loops: TypedArray.from with a map function is slow in V8). */

type Typed = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** [0, 1, …, n-1]. */
export function iota(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** A new array of the same type with out[i] = arr[order[i]]. */
export function permute<T extends Typed>(arr: T, order: Uint32Array): T {
  const out = new (arr.constructor as new (n: number) => T)(order.length);
  for (let i = 0; i < order.length; i++) out[i] = arr[order[i]];
  return out;
}

/** A copy of `arr` with room for `cap` elements. */
export function grow<T extends Typed>(arr: T, cap: number): T {
  const out = new (arr.constructor as new (n: number) => T)(cap);
  out.set(arr);
  return out;
}
