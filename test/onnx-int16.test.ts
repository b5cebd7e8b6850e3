// quantize's `int16` option: convolutions on 16-bit input grids with power-of-two steps, so
// float32 sums them exactly. The grid keeps every channel's sum bound below 2^24; the int8
// codes right after the region equal onnxruntime-node's on the exported file bit for bit (its
// float32 ops there are exact too); the file loads back into qwasm and runs the same bits on
// every wasm build; the region's float32 kernels give onnxruntime's float32 results; bad names
// are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Qwasm, QwasmError, supportedBackends, type Backend } from '../src/index.js';
import type { Runtime } from '../src/runtime.js';
import { OnnxModel } from '../src/onnx/index.js';
import { EXACT_SUM, WEIGHT_CODES, int16Grid } from '../src/onnx/int16.js';
import { ModelProto, decodeModel, encodeModel } from '../src/onnx/proto.js';
import { f32, init, node, scalar, seededFloats, sqnr } from './onnx/graph.js';

let qw: Qwasm;
let backends: Backend[];
const engines = new Map<Backend, Qwasm>();
beforeAll(async () => {
  qw = await Qwasm.create({ backend: 'simd' });
  backends = await supportedBackends();
  for (const b of backends) engines.set(b, await Qwasm.create({ backend: b }));
});

const SIZE = 24;
const rand = seededFloats(41);
const pads = { name: 'pads', type: 7, ints: [1, 1, 1, 1] };
const stride2 = { name: 'strides', type: 7, ints: [2, 2] };
const group8 = { name: 'group', type: 2, i: 8 };

// a detection-style stem: x -> conv0 (3x3 stride 2, 3 -> 8) -> depthwise conv1 (3x3) ->
// hard-swish written out (Add, Clip, Mul, Div) and an affine Mul / Add -> conv2 (1x1, 8 -> 8)
// -> hard-swish -> conv3 (3x3, 8 -> 6) -> y
function model(): Uint8Array {
  const hardSwish = (x: string, y: string) => [
    node('Add', [x, 'three'], [`${y}_a`]),
    node('Clip', [`${y}_a`, 'zero', 'six'], [`${y}_c`]),
    node('Mul', [x, `${y}_c`], [`${y}_m`]),
    node('Div', [`${y}_m`, 'six'], [y]),
  ];
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'stem',
      node: [
        { ...node('Conv', ['x', 'w0', 'b0'], ['t0'], [pads, stride2]), name: 'conv0' },
        { ...node('Conv', ['t0', 'w1', 'b1'], ['t1'], [pads, group8]), name: 'conv1' },
        ...hardSwish('t1', 'h1'),
        node('Mul', ['h1', 'k'], ['h1k']),
        node('Add', ['h1k', 'kc'], ['h1a']),
        { ...node('Conv', ['h1a', 'w2', 'b2'], ['t2']), name: 'conv2' },
        ...hardSwish('t2', 'h2'),
        { ...node('Conv', ['h2', 'w3', 'b3'], ['y'], [pads]), name: 'conv3' },
      ],
      initializer: [
        init('w0', [8, 3, 3, 3], rand(8 * 27)),
        init('b0', [8], rand(8, -0.3, 0.3)),
        init('w1', [8, 1, 3, 3], rand(8 * 9, -2, 2)),
        init('b1', [8], rand(8, -0.3, 0.3)),
        scalar('three', 3),
        scalar('zero', 0),
        scalar('six', 6),
        scalar('k', 0.47632309794425964),
        scalar('kc', -0.007573243696242571),
        init('w2', [8, 8, 1, 1], rand(64)),
        init('b2', [8], rand(8, -0.3, 0.3)),
        init('w3', [6, 8, 3, 3], rand(6 * 72)),
        init('b3', [6], rand(6, -0.3, 0.3)),
      ],
      input: [f32('x', [1, 3, SIZE, SIZE])],
      output: [f32('y', [1, 6, SIZE / 2, SIZE / 2])],
    },
  });
}

const feeds = (n: number, lo = -2.1, hi = 2.6) =>
  Array.from({ length: n }, () => ({ x: { data: rand(3 * SIZE * SIZE, lo, hi), shape: [1, 3, SIZE, SIZE] } }));

describe('int16Grid', () => {
  it('keeps every channel sum below 2^24 units, with power-of-two steps and at least 255 codes on each largest weight', () => {
    const r = seededFloats(5);
    for (const [M, per, maxAbs, wScale, bScale] of [
      [16, 27, 2.64, 1, 0.3],
      [8, 9, 17, 3, 4],
      [32, 16, 38.8, 0.5, 20],
      [5, 75, 1e-3, 1e-2, 1e-4],
      [4, 1, 1000, 10, 100],
    ] as const) {
      const w = { data: r(M * per, -wScale, wScale), shape: [M, per, 1, 1], dtype: 'float32' as const };
      const b = { data: r(M, -bScale, bScale), shape: [M], dtype: 'float32' as const };
      const g = int16Grid(w, b, maxAbs)!;
      expect(g, `M ${M} per ${per}`).not.toBeNull();
      expect(g.q).toBeLessThanOrEqual(32767);
      expect(Math.ceil(maxAbs / 2 ** g.a)).toBeLessThanOrEqual(g.q);
      for (let c = 0; c < M; c++) {
        const e = Math.log2(g.wScales[c]!);
        expect(Number.isInteger(e)).toBe(true);
        let sum = 0;
        let top = 0;
        for (let k = 0; k < per; k++) {
          const code = g.wq[c * per + k]!;
          sum += Math.abs(code);
          top = Math.max(top, Math.abs(code));
          expect(g.w[c * per + k]! === code * g.wScales[c]!).toBe(true);
          // the grid's weight is the nearest step to the weight
          expect(Math.abs(g.w[c * per + k]! - w.data[c * per + k]!)).toBeLessThanOrEqual(g.wScales[c]! / 2);
        }
        expect(top).toBeGreaterThanOrEqual(WEIGHT_CODES);
        expect(sum * g.q + Math.abs(g.bq![c]!)).toBeLessThanOrEqual(EXACT_SUM);
        expect(g.b![c]! === g.bq![c]! * 2 ** g.a * g.wScales[c]!).toBe(true);
      }
    }
  });
});

describe('quantize with int16 convolutions', () => {
  const STEM = ['conv0', 'conv1', 'conv2'];

  // the first int8 value after the 16-bit region, per configuration: a float32 op (the conv,
  // or the pointwise op reading it) then QuantizeLinear, in qwasm and in onnxruntime alike
  const firstInt8 = (int16: string[], tables: boolean): string =>
    int16.length === 1 ? 't0' : int16.length === 2 ? (tables ? 't1' : 'h1a') : tables ? 't2' : 'h2';

  it("onnxruntime-node on the exported file gives qwasm's codes after the 16-bit convs bit for bit, inside and beyond the calibrated range", async () => {
    const m = OnnxModel.load(qw, model());
    for (const equalizeTables of [false, true]) {
      for (const int16 of [['conv0'], ['conv0', 'conv1'], STEM]) {
        const q = await m.quantize({ calibration: feeds(3), observer: 'mse', equalizeTables, int16 });
        const name = firstInt8(int16, equalizeTables);
        const where = `tables ${equalizeTables}, int16 ${int16.join(',')}, ${name}`;
        // the exported file with that value's uint8 codes as a second output
        const file = decodeModel(q.toOnnx());
        file.graph!.output.push({ name: `${name}__q`, type: { tensorType: { elemType: 2 } } } as never);
        const session = await ort.InferenceSession.create(encodeModel(file));
        for (const f of [...feeds(2), ...feeds(1, -6, 7)]) {
          let codes: { data: Int8Array; shape: readonly number[]; nhwc: boolean } | null = null;
          q.runObserved(f, (v) => {
            if (v.name === name && v.dtype === 'int8' && codes === null)
              codes = { data: Int8Array.from(v.data as Int8Array), shape: v.shape, nhwc: v.nhwc };
          });
          expect(codes, where).not.toBeNull();
          const { data, shape, nhwc } = codes!;
          const [, C, H, W] = shape as [number, number, number, number];
          const out = await session.run({ x: new ort.Tensor('float32', f.x.data, f.x.shape) });
          const u8 = out[`${name}__q`]!.data as Uint8Array;
          let differ = 0;
          for (let c = 0; c < C; c++)
            for (let p = 0; p < H * W; p++)
              if (u8[c * H * W + p]! - 128 !== data[nhwc ? p * C + c : c * H * W + p]) differ++;
          expect(differ, where).toBe(0);
          // the whole output: bit-identical where onnxruntime's u8 x s8 kernels are exact (VNNI),
          // room for their saturating int16 pair sums on x86 without it
          const got = q.run(f).y!.data;
          expect(sqnr(out.y!.data as Float32Array, got), where).toBeGreaterThan(35);
        }
        q.dispose();
      }
    }
    m.dispose();
  });

  it('writes 16-bit QuantizeLinear / DequantizeLinear pairs and the weights as int16 codes', async () => {
    const m = OnnxModel.load(qw, model());
    const q = await m.quantize({ calibration: feeds(3), int16: STEM });
    const file = ModelProto.decode(q.toOnnx()) as unknown as {
      opsetImport: { domain: string }[];
      graph: {
        node: { name: string; opType: string; domain: string; input: string[]; output: string[] }[];
        initializer: { name: string; dataType: number }[];
      };
    };
    expect(file.opsetImport.map((o) => o.domain)).toContain('com.microsoft');
    const dtype = (name: string) => file.graph.initializer.find((t) => t.name === name)?.dataType;
    const q16 = file.graph.node.filter((n) => n.opType === 'QuantizeLinear' && n.domain === 'com.microsoft');
    expect(q16).toHaveLength(3);
    for (const n of q16) expect(dtype(n.input[2]!)).toBe(5); // int16 zero point
    for (const name of STEM) {
      const conv = file.graph.node.find((n) => n.opType === 'Conv' && n.name === name)!;
      const w = file.graph.node.find((n) => n.output[0] === conv.input[1])!;
      expect(w.opType).toBe('DequantizeLinear');
      expect(dtype(w.input[0]!)).toBe(5);
    }
    q.dispose();
    m.dispose();
  });

  it('the exported file loads back and runs the same bits on every wasm build', async () => {
    const m = OnnxModel.load(qw, model());
    const q = await m.quantize({ calibration: feeds(3), observer: 'mse', equalizeTables: true, int16: STEM });
    const ref = feeds(3).map((f) => ({ f, y: Float32Array.from(q.run(f).y!.data as Float32Array) }));
    const file = q.toOnnx();
    for (const b of backends) {
      const back = OnnxModel.load(engines.get(b)!, file);
      expect(back.planGraph.nodes.filter((n) => n.opType === 'QuantizeDequantize')).toHaveLength(3);
      for (const { f, y } of ref) expect(Array.from(back.run(f).y!.data), `reload on ${b}`).toEqual(Array.from(y));
      back.dispose();
    }
    q.dispose();
    m.dispose();
  });

  it('is closer to float32 than int8 throughout on this stem', async () => {
    const m = OnnxModel.load(qw, model());
    const calib = feeds(4);
    const probe = feeds(3);
    const a = await m.quantize({ calibration: calib, observer: 'mse' });
    const b = await m.quantize({ calibration: calib, observer: 'mse', int16: STEM });
    let sa = 0;
    let sb = 0;
    for (const f of probe) {
      const ref = m.run(f).y!.data;
      sa += sqnr(ref, a.run(f).y!.data);
      sb += sqnr(ref, b.run(f).y!.data);
    }
    expect(sb / probe.length).toBeGreaterThan(sa / probe.length + 3);
    a.dispose();
    b.dispose();
    m.dispose();
  });

  it('refuses names that are not convolutions of the model', async () => {
    const m = OnnxModel.load(qw, model());
    const pointwise = m.planGraph.nodes.find((n) => n.opType === 'Pointwise')!.name;
    for (const int16 of [['nope'], [pointwise]]) {
      const err = await m.quantize({ calibration: feeds(1), int16 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QwasmError);
      expect((err as Error).message).toContain('options.int16');
    }
    const err = await m.quantize({ calibration: feeds(1), int16: 'conv0' as unknown as string[] }).catch((e) => e);
    expect(err).toBeInstanceOf(QwasmError);
    const dyn = await m.quantize({ mode: 'dynamic', int16: ['conv0'] }).catch((e: unknown) => e);
    expect(dyn).toBeInstanceOf(QwasmError);
    expect((dyn as Error).message).toContain('options.int16');
    m.dispose();
  });
});

describe('equalizeTables by name', () => {
  it('equalizes the chains of the named convs only, and refuses a name that starts none', async () => {
    const m = OnnxModel.load(qw, model());
    const tables = (q: OnnxModel) => q.planGraph.nodes.filter((n) => n.opType === 'ChannelTable').map((n) => n.name);
    const all = await m.quantize({ calibration: feeds(2), equalizeTables: true });
    const one = await m.quantize({ calibration: feeds(2), equalizeTables: ['conv2'] });
    expect(tables(all)).toHaveLength(2);
    expect(tables(one)).toHaveLength(1);
    expect(one.planGraph.nodes.find((n) => n.opType === 'ChannelTable')!.inputs[0]).toBe('t2');
    const err = await m.quantize({ calibration: feeds(1), equalizeTables: ['conv3'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QwasmError);
    expect((err as Error).message).toContain('options.equalizeTables');
    all.dispose();
    one.dispose();
    m.dispose();
  });
});

describe('the float32 kernels of a 16-bit region', () => {
  // values spread over hard-swish's range and ones a float32 step from the grid's rounding
  // boundaries, where a different rounding order would show
  const values = (): Float32Array => {
    const r = seededFloats(77);
    const spread = r(60000, -9, 9);
    const step = 2 ** -7;
    const ties = Float32Array.from({ length: 60000 }, (_, i) => {
      const t = ((i % 4001) - 2000 + 0.5) * step;
      return i % 3 === 0 ? t : i % 3 === 1 ? Math.fround(t + t * 2 ** -23) : Math.fround(t - t * 2 ** -23);
    });
    return Float32Array.from([...spread, ...ties, 0, -0, 3, -3, 6, -6, 1e30, -1e30]);
  };
  const K = 0.47632309794425964;
  const KC = -0.007573243696242571;

  it("hard_swish_exact_f32 and quantize_dequantize_f32 give onnxruntime's float32 results on every build", async () => {
    const x = values();
    const n = x.length;
    const step = 2 ** -7;
    const bytes = encodeModel({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 13 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'region',
        node: [
          node('Add', ['x', 'three'], ['a']),
          node('Clip', ['a', 'zero', 'six'], ['c']),
          node('Mul', ['x', 'c'], ['m']),
          node('Div', ['m', 'six'], ['h']),
          node('Mul', ['h', 'k'], ['hk']),
          node('Add', ['hk', 'kc'], ['y']),
          { ...node('QuantizeLinear', ['x', 'step', 'zp'], ['q']), domain: 'com.microsoft' },
          { ...node('DequantizeLinear', ['q', 'step', 'zp'], ['g']), domain: 'com.microsoft' },
        ],
        initializer: [
          scalar('three', 3),
          scalar('zero', 0),
          scalar('six', 6),
          scalar('k', K),
          scalar('kc', KC),
          scalar('step', step),
          { name: 'zp', dims: [], dataType: 5, rawData: new Uint8Array(2) },
        ],
        input: [f32('x', [n])],
        output: [f32('h', [n]), f32('y', [n]), f32('g', [n])],
      },
    });
    const session = await ort.InferenceSession.create(bytes);
    const o = await session.run({ x: new ort.Tensor('float32', x, [n]) });
    const want = { h: o.h!.data as Float32Array, y: o.y!.data as Float32Array, g: o.g!.data as Float32Array };
    for (const b of backends) {
      const rt = (engines.get(b)! as unknown as { rt: Runtime }).rt;
      const k = rt.kernels;
      const got = rt.scoped((alloc) => {
        const xp = alloc(n * 4);
        const yp = alloc(n * 4);
        rt.heap.f32.set(x, xp >> 2);
        const read = () => rt.heap.f32.slice(yp >> 2, (yp >> 2) + n);
        k.hard_swish_exact_f32(xp, n, 1, 0, 0, yp);
        const h = read();
        k.hard_swish_exact_f32(xp, n, Math.fround(K), Math.fround(KC), 1, yp);
        const y = read();
        k.quantize_dequantize_f32(xp, n, step, -32768, 32767, yp);
        return { h, y, g: read() };
      });
      for (const key of ['h', 'y'] as const) {
        let differ = 0;
        for (let i = 0; i < n; i++) if (!Object.is(got[key][i], want[key][i])) differ++;
        expect(differ, `${key} on ${b}`).toBe(0);
      }
      // the grid's zero may come out -0 here where onnxruntime's integer code gives +0: equal values
      let differ = 0;
      for (let i = 0; i < n; i++) if (got.g[i] !== want.g[i]) differ++;
      expect(differ, `g on ${b}`).toBe(0);
    }
  });
});
