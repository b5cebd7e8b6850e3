// Int4 weights: signed 4-bit values packed two per byte, and the quantizer that makes
// them from float32 weights (per output channel or per group along K).
import { check } from '../errors.js';
import { checkDtype, checkTensor, readTensor, readShape, type Tensor } from '../tensor.js';
import { describe, readOptions } from '../args.js';
import { given } from './args.js';
import { computeQuantParams, quantizeTensor } from './scheme.js';

/**
 * Packs signed 4-bit values (an Int8Array with every value in [-8, 7]) two per byte
 * along the last axis: rows of K values become ceil(K / 2) bytes, value 2i in the low
 * nibble of byte i and value 2i + 1 in the high nibble (0 pads an odd K). Without a
 * shape (or with `null`) the values are one row.
 *
 * @example
 * ```ts
 * packInt4(new Int8Array([1, -2, 7]), [3]); // Uint8Array [0xe1, 0x07]
 * ```
 */
export function packInt4(values: Int8Array, shape?: readonly number[] | null): Uint8Array {
  check(values instanceof Int8Array, 'values', () => `must be an Int8Array, got ${describe(values)}`);
  if (given(shape) !== undefined) readShape(shape, 'shape');
  shape = given(shape) ?? [values.length];
  checkTensor({ data: values, shape }, 'values');
  const K = shape.length ? shape[shape.length - 1]! : 1;
  const rows = K === 0 ? 0 : values.length / K;
  const rowBytes = Math.ceil(K / 2);
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      const v = values[r * K + k]!;
      check(v >= -8 && v <= 7, 'values', `${v} at ${r * K + k} is outside the int4 range [-8, 7]`);
      const b = r * rowBytes + (k >> 1);
      out[b] = out[b]! | ((v & 15) << ((k & 1) * 4));
    }
  }
  return out;
}

/**
 * Unpacks {@link packInt4}'s layout back to one signed value per Int8Array element;
 * `shape` is the logical (unpacked) shape.
 *
 * @example
 * ```ts
 * unpackInt4(new Uint8Array([0xe1, 0x07]), [3]); // Int8Array [1, -2, 7]
 * ```
 */
export function unpackInt4(packed: Uint8Array, shape: readonly number[]): Int8Array {
  check(packed instanceof Uint8Array, 'packed', () => `must be a Uint8Array, got ${describe(packed)}`);
  const dims = readShape(shape, 'shape');
  const n = dims.reduce((a, b) => a * b, 1);
  const K = dims.length ? dims[dims.length - 1]! : 1;
  const rows = K === 0 ? 0 : n / K;
  const rowBytes = Math.ceil(K / 2);
  // checked before anything of n elements is allocated: n <= 2 * packed.length
  check(
    packed.length === rows * rowBytes,
    'packed',
    `has ${packed.length} bytes, shape [${dims.join(', ')}] packs into ${rows * rowBytes}`,
  );
  const out = new Int8Array(n);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) {
      const b = packed[r * rowBytes + (k >> 1)]!;
      out[r * K + k] = (((b >> ((k & 1) * 4)) & 15) << 28) >> 28;
    }
  }
  return out;
}

/**
 * Int4 weights ready for `qw.linear({ weightBits: 4, ... })`.
 *
 * @example
 * ```ts
 * const q: Int4Weights = quantizeWeightsInt4({ data: w, shape: [N, K] }, { groupSize: 128 });
 * const fc = qw.linear({ weightBits: 4, ...q, input, output });
 * ```
 */
export interface Int4Weights {
  /** Packed weights [N, K]: N rows of ceil(K / 2) bytes ({@link packInt4}). */
  weights: Tensor<Uint8Array>;
  /** N scales (per channel), or N x ceil(K / groupSize) (per group, row-major). */
  weightScale: Float32Array;
  /** Present for per-group scales. */
  groupSize?: number;
}

/**
 * Quantizes float32 weights [N, K] to symmetric signed int4 (scale = max|w| / 7, zero
 * point 0), per output channel or, with `groupSize`, per group of K; non-finite weights
 * are refused. `null` options (or groupSize) mean per channel.
 *
 * @example
 * ```ts
 * const perChannel = quantizeWeightsInt4({ data: w, shape: [N, K] });
 * const perGroup = quantizeWeightsInt4({ data: w, shape: [N, K] }, { groupSize: 64 });
 * ```
 */
export function quantizeWeightsInt4(
  w: Tensor<Float32Array>,
  options?: { groupSize?: number | null } | null,
): Int4Weights {
  w = readTensor(w, 'weights') as Tensor<Float32Array>;
  checkDtype(w, 'weights', Float32Array);
  check(w.shape.length === 2, 'weights', `must be 2-D [N, K], got shape [${w.shape.join(', ')}]`);
  const data = w.data as Float32Array;
  for (let i = 0; i < data.length; i++) check(Number.isFinite(data[i]!), 'weights', `holds a non-finite value at ${i}`);
  const g = given(readOptions(options, 'options').groupSize);
  const params = computeQuantParams(
    w as Tensor<Float32Array>,
    g === undefined ? { bits: 4, axis: 0 } : { bits: 4, axis: 1, groupSize: g },
  );
  const q = quantizeTensor(w as Tensor<Float32Array>, params) as Int8Array;
  const out: Int4Weights = { weights: { data: packInt4(q, w.shape), shape: [...w.shape] }, weightScale: params.scale };
  if (g !== undefined) out.groupSize = g;
  return out;
}
