// The binary convolution's names: `binaryConv` is the op and `binaryConv2d(config)` the
// prepacked layer (as qlinearConv / conv2d are for int8); the 0.1 names still work:
// `binaryConv2d(x, w, attrs)` runs the op and `binaryConv2dLayer(config)` builds the layer.
import { afterAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError, type BitTensor } from '../src/index.js';
import { firstDiff, randomFloat32, rng } from './helpers.js';

const qw = await Qwasm.create({ backend: 'simd', threads: 1 });
afterAll(() => qw.dispose());

function expectError(fn: () => unknown, argument: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(QwasmError);
  expect((err as QwasmError).argument).toBe(argument);
}

describe('binary convolution names', () => {
  const r = rng(5);
  const x = { data: randomFloat32(r, 2 * 6 * 5 * 40, -1, 1), shape: [2, 6, 5, 40] };
  const w = { data: randomFloat32(r, 3 * 3 * 3 * 40, -1, 1), shape: [3, 3, 3, 40] };
  const attrs = { pads: [1, 1, 1, 1], strides: [2, 1] };

  it('binaryConv (op), binaryConv2d(x, w, attrs) (0.1 op form) and both layer names agree', () => {
    const xb = qw.bitpack(x);
    const wb = qw.bitpack(w);
    const op = qw.binaryConv(xb, wb, attrs);
    const old = qw.binaryConv2d(xb, wb, attrs);
    expect(old.shape).toEqual(op.shape);
    expect(firstDiff(old.data, op.data)).toBe(-1);
    // float32 output with scale 1 and no bias is the accumulator itself
    const layer = qw.binaryConv2d({ weights: w, ...attrs });
    const oldLayer = qw.binaryConv2dLayer({ weights: w, ...attrs });
    const a = layer.run(xb);
    const b = oldLayer.run(xb);
    expect(a.shape).toEqual(op.shape);
    expect(firstDiff(a.data, Float32Array.from(op.data))).toBe(-1);
    expect(firstDiff(b.data, a.data)).toBe(-1);
    layer.dispose();
    oldLayer.dispose();
  });

  it('the 0.1 op form still names its own arguments; the layer form names weights', () => {
    const xb = qw.bitpack(x);
    expectError(() => qw.binaryConv2d(xb, undefined as unknown as BitTensor, attrs), 'w');
    expectError(() => (qw.binaryConv2d as unknown as (x: BitTensor) => unknown).call(qw, xb), 'w');
    expectError(() => qw.binaryConv2d({ pads: [1, 1, 1, 1] } as never), 'weights');
  });
});
