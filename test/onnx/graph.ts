// Pieces of small float ONNX graphs written in a test (for encodeModel): value infos,
// initializers, nodes, and seeded random data, shared by the qwasm/onnx pattern tests.

/** Seeded uniform floats in [lo, hi), the same sequence for a seed on every host; `reset` starts it over. */
export function seededFloats(seed: number): ((n: number, lo?: number, hi?: number) => Float32Array) & {
  reset(): void;
} {
  let s = seed;
  const floats = (n: number, lo = -1, hi = 1): Float32Array =>
    Float32Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return lo + ((hi - lo) * s) / 2147483648;
    });
  return Object.assign(floats, { reset: () => void (s = seed) });
}

/** A float32 graph input or output of fixed dims. */
export const f32 = (name: string, dims: number[]) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

/** A float32 initializer (raw_data). */
export const init = (name: string, dims: number[], data: Float32Array) => ({
  name,
  dims,
  dataType: 1,
  rawData: new Uint8Array(data.slice().buffer),
});

/** A float32 scalar initializer. */
export const scalar = (name: string, v: number) => init(name, [], Float32Array.of(v));

/** A node named after its op and first output. */
export const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({
  name: `${opType}_${output[0]}`,
  opType,
  input,
  output,
  attribute,
});

/** 10 log10(sum f^2 / sum (f - g)^2) in dB; Infinity when equal. */
export function sqnr(f: ArrayLike<number>, g: ArrayLike<number>): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < f.length; i++) {
    s += f[i]! ** 2;
    e += (f[i]! - g[i]!) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}
