// Every toolkit function on awkward inputs: a right answer, or a QwasmError naming the
// argument (never a TypeError, a RangeError or "[object ...]" in a message); `null` for
// an optional argument means its default.
import { describe, expect, it } from 'vitest';
import {
  HistogramObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  QwasmError,
  computeQuantParams,
  fakeQuantize,
  metricLoss,
  nudgeZeroPoint,
  packInt4,
  paramsFromRange,
  paramsShape,
  planBits,
  quantError,
  quantRange,
  quantizeWeightsInt4,
  rangeParams,
  residualDequantize,
  residualQuantize,
  resolveScheme,
  searchClipRange,
  searchRange,
  sensitivityReport,
  steGradientMask,
  unpackInt4,
  type ClipSearchOptions,
  type QuantScheme,
  type SearchMethod,
} from '../src/index.js';
import { randomFloat32, rng } from './helpers.js';

const METHODS: SearchMethod[] = ['grid', 'golden', 'random', 'pso'];

/** The QwasmError `f` throws (failing the test on any other outcome). */
function refusal(f: () => unknown): QwasmError {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a QwasmError').toBeInstanceOf(QwasmError);
  const e = thrown as QwasmError;
  expect(e.message).not.toMatch(/\[object |TypeError|Cannot read/);
  return e;
}

describe('searchClipRange on one-sided and constant data', () => {
  const cases: Array<[string, number[]]> = [
    ['all positive', [5, 6, 7, 10]],
    ['all negative', [-5, -6, -7, -10]],
    ['constant', [3, 3, 3, 3]],
    ['constant negative', [-2, -2]],
    ['all zero', [0, 0, 0]],
    ['one value', [7]],
  ];
  const schemes: QuantScheme[] = [
    { signed: false },
    { signed: false, symmetric: false },
    {},
    { symmetric: false },
    { bits: 4, narrow: true },
  ];
  for (const [name, values] of cases) {
    it(`${name}: every scheme and method gives a range holding 0 and the data MSE it reports`, () => {
      const x = Float32Array.from(values);
      for (const scheme of schemes) {
        for (const method of METHODS) {
          const r = searchClipRange(x, { scheme, method, budget: 12 });
          expect(r.min).toBeLessThanOrEqual(0);
          expect(r.max).toBeGreaterThanOrEqual(0);
          expect(r.min).toBeGreaterThanOrEqual(Math.min(0, ...values));
          expect(r.max).toBeLessThanOrEqual(Math.max(0, ...values));
          expect(r.loss).toBeLessThanOrEqual(r.fullRangeLoss);
          expect(r.params.scale[0]).toBeGreaterThan(0);
          expect(quantError(x, fakeQuantize(x, r.params)).mse).toBeCloseTo(r.loss, 12);
        }
      }
    });
  }

  it('finds the exact grid for [5, 6, 7, 10] as uint8: no error at all', () => {
    const x = new Float32Array([5, 6, 7, 10]);
    const r = searchClipRange(x, { scheme: { signed: false, symmetric: false }, method: 'golden', budget: 32 });
    expect(r.fullRangeLoss).toBeGreaterThan(0);
    expect(r.loss).toBeLessThanOrEqual(r.fullRangeLoss);
    // the full range [0, 10] is among the candidates, so clipping never does worse
    const full = paramsFromRange(0, 10, { signed: false, symmetric: false });
    expect(quantError(x, fakeQuantize(x, full)).mse).toBeCloseTo(r.fullRangeLoss, 12);
  });
});

describe('searchRange on one-sided bounds', () => {
  for (const method of METHODS) {
    it(`${method}: starts with the bounds widened to 0 and stays inside them`, () => {
      for (const [bounds, symmetric] of [
        [{ min: 5, max: 10 }, true],
        [{ min: 5, max: 10 }, false],
        [{ min: -10, max: -5 }, true],
        [{ min: -10, max: -5 }, false],
        [{ min: 4, max: 4 }, true],
      ] as const) {
        const seen: Array<[number, number]> = [];
        const r = searchRange(
          (lo, hi) => {
            seen.push([lo, hi]);
            return (hi - lo - 3) ** 2;
          },
          bounds,
          { method, budget: 20, symmetric },
        );
        const L = Math.min(bounds.min, 0);
        const H = Math.max(bounds.max, 0);
        expect(seen[0]).toEqual([L, H]);
        for (const [lo, hi] of seen) {
          expect(lo).toBeGreaterThanOrEqual(L);
          expect(hi).toBeLessThanOrEqual(H);
          expect(lo).toBeLessThanOrEqual(0);
          expect(hi).toBeGreaterThanOrEqual(0);
        }
        expect(r.loss).toBeLessThanOrEqual(r.fullRangeLoss);
      }
    });
  }
});

describe('null means the default', () => {
  const x = randomFloat32(rng(3), 4 * 6, -2, 3);
  const t = { data: x, shape: [4, 6] };

  it('searchClipRange and searchRange: null options, scheme, metric and method', () => {
    const want = searchClipRange(x, {});
    expect(searchClipRange(x, null)).toEqual(want);
    const nulls = { scheme: null, metric: null, method: null, budget: null, seed: null, minFraction: null };
    expect(searchClipRange(x, nulls as unknown as ClipSearchOptions)).toEqual(want);
    const f = (lo: number, hi: number) => (hi - 0.5) ** 2 + lo * 0;
    expect(searchRange(f, { min: -1, max: 1 }, null)).toEqual(searchRange(f, { min: -1, max: 1 }));
    expect(searchRange(f, { min: -1, max: 1 }, { symmetric: null } as never)).toEqual(
      searchRange(f, { min: -1, max: 1 }),
    );
  });

  it('rangeParams, paramsFromRange, computeQuantParams, resolveScheme, paramsShape', () => {
    expect(rangeParams(-1, 2, null)).toEqual({ scale: Math.fround(2 / 127), zeroPoint: 0 });
    expect(rangeParams(-1, 2)).toEqual(rangeParams(-1, 2, null));
    // an unresolved scheme is resolved, not read as NaN
    expect(rangeParams(-1, 2, { bits: 4 })).toEqual({ scale: Math.fround(2 / 7), zeroPoint: 0 });
    expect(paramsFromRange(-1, 1, null)).toEqual(paramsFromRange(-1, 1));
    expect(paramsFromRange([-1, -2], [1, 2], { axis: 0, groupSize: null } as never).granularity).toBe('channel');
    expect(computeQuantParams(t, null)).toEqual(computeQuantParams(t));
    expect(computeQuantParams(t, { axis: null, groupSize: null } as never)).toEqual(computeQuantParams(t));
    expect(resolveScheme(null)).toEqual(resolveScheme());
    expect(resolveScheme({ bits: null, signed: null, narrow: null } as never)).toEqual(resolveScheme());
    expect(paramsShape([4, 6], null)).toEqual([]);
    expect(quantRange(8, true, null as never)).toEqual({ qmin: -128, qmax: 127 });
  });

  it('fakeQuantize and steGradientMask: null out', () => {
    const p = computeQuantParams(t);
    expect(fakeQuantize(t, p, null as never)).toEqual(fakeQuantize(t, p));
    expect(steGradientMask(t, p, null as never)).toEqual(steGradientMask(t, p));
  });

  it('quantizeWeightsInt4, packInt4, residualQuantize', () => {
    expect(quantizeWeightsInt4(t, null)).toEqual(quantizeWeightsInt4(t));
    expect(quantizeWeightsInt4(t, { groupSize: null })).toEqual(quantizeWeightsInt4(t));
    const v = new Int8Array([1, -2, 7]);
    expect(packInt4(v, null)).toEqual(packInt4(v));
    expect(residualQuantize(t, 2, null)).toEqual(residualQuantize(t, 2));
    expect(residualQuantize(t, 2, { axis: null })).toEqual(residualQuantize(t, 2));
  });

  it('observers: null options, scheme and channel', () => {
    for (const make of [
      (o: null) => new MinMaxObserver(o),
      (o: null) => new MovingAverageMinMaxObserver(o),
      (o: null) => new HistogramObserver(o),
    ]) {
      const a = make(null).observe(x);
      expect(a.axis).toBeUndefined();
      expect(a.params(null)).toEqual(a.params());
      expect(a.range(null)).toEqual(a.range());
    }
    const h = new HistogramObserver({ method: null, bins: null, percentile: null } as never).observe(x);
    expect(h.histogram(null)).toEqual(h.histogram());
    expect(h.expectedMse(-1, 1, null, null)).toBe(h.expectedMse(-1, 1));
  });

  it('sensitivityReport and planBits: null options and activations', () => {
    const layers = [{ name: 'fc', weights: t }];
    const want = sensitivityReport(layers);
    expect(sensitivityReport(layers, null)).toEqual(want);
    expect(sensitivityReport([{ name: 'fc', weights: t, activations: null } as never])).toEqual(want);
    expect(planBits(want, { minSqnrDb: 20, granularity: null, use: null } as never)).toEqual(
      planBits(want, { minSqnrDb: 20 }),
    );
  });
});

describe('refusals name the argument', () => {
  const x = randomFloat32(rng(4), 12);
  const w = { data: x, shape: [3, 4] };
  const rq = residualQuantize(w, 2, { axis: 0 });
  const report = sensitivityReport([{ name: 'fc', weights: w }]);
  const sym = Symbol('s');
  const cases: Array<[string, () => unknown, string, RegExp?]> = [
    // the cases this suite was written for
    ['residualDequantize without shape', () => residualDequantize({ stages: rq.stages } as never), 'rq.shape'],
    ['unpackInt4 with a negative dimension', () => unpackInt4(new Uint8Array(2), [2, -1]), 'shape', /-1 at 1/],
    ['sensitivityReport([null])', () => sensitivityReport([null] as never), 'layers[0]', /null/],
    ['packInt4 of a Float32Array prints the type name', () => packInt4(x as never), 'values', /a Float32Array/],
    [
      'quantizeWeightsInt4 of Int8Array weights prints the type name',
      () => quantizeWeightsInt4({ data: new Int8Array(4), shape: [2, 2] } as never),
      'weights',
      /Int8Array/,
    ],
    // options that are not objects
    ['searchRange options 5', () => searchRange(() => 0, { min: 0, max: 1 }, 5 as never), 'options'],
    ['searchClipRange options "mse"', () => searchClipRange(x, 'mse' as never), 'options'],
    ['resolveScheme("int8")', () => resolveScheme('int8' as never), 'scheme'],
    ['computeQuantParams options true', () => computeQuantParams(x, true as never), 'options'],
    ['observer options 3', () => new MinMaxObserver(3 as never), 'options'],
    ['planBits without options', () => planBits(report, null as never), 'options'],
    // BigInt and Symbol values, in messages too
    ['quantRange(8n)', () => quantRange(8n as never, true), 'bits', /8n/],
    ['quantRange signed "yes"', () => quantRange(8, 'yes' as never), 'signed'],
    ['scheme bits Symbol', () => resolveScheme({ bits: sym as never }), 'bits', /Symbol\(s\)/],
    ['scheme signed 1', () => resolveScheme({ signed: 1 as never }), 'scheme.signed'],
    ['searchRange bounds 0n..1n', () => searchRange(() => 0, { min: 0n, max: 1n } as never), 'bounds', /0n/],
    ['searchClipRange budget 10n', () => searchClipRange(x, { budget: 10n as never }), 'budget', /10n/],
    [
      'searchClipRange symmetric "no"',
      () => searchRange(() => 0, { min: 0, max: 1 }, { symmetric: 'no' as never }),
      'symmetric',
    ],
    ['paramsFromRange(1n, 2)', () => paramsFromRange(1n as never, 2), 'min', /1n/],
    ['paramsFromRange axis 0n', () => paramsFromRange([0, 0], [1, 1], { axis: 0n as never }), 'axis', /0n/],
    ['computeQuantParams axis 1n', () => computeQuantParams(w, { axis: 1n as never }), 'axis', /1n/],
    ['computeQuantParams groupSize Symbol', () => computeQuantParams(w, { groupSize: sym as never }), 'groupSize'],
    ['residualQuantize stages 2n', () => residualQuantize(w, 2n as never), 'stages', /2n/],
    ['residualQuantize axis 0.5', () => residualQuantize(w, 1, { axis: 0.5 }), 'axis'],
    ['MinMaxObserver axis 0n', () => new MinMaxObserver({ axis: 0n as never }), 'axis', /0n/],
    ['HistogramObserver bins 64n', () => new HistogramObserver({ bins: 64n as never }), 'bins', /64n/],
    ['HistogramObserver percentile Symbol', () => new HistogramObserver({ percentile: sym as never }), 'percentile'],
    [
      'MovingAverage constant 0n',
      () => new MovingAverageMinMaxObserver({ averagingConstant: 0n as never }),
      'averagingConstant',
    ],
    ['quantError([1n], [1])', () => quantError([1n] as never, [1]), 'x', /1n at 0/],
    ['quantError of a BigInt64Array', () => quantError(new BigInt64Array(2) as never, [1, 2]), 'x', /BigInt64Array/],
    ['sensitivityReport groupSize 4n', () => sensitivityReport([], { groupSize: 4n as never }), 'groupSize', /4n/],
    ['planBits minSqnrDb 20n', () => planBits(report, { minSqnrDb: 20n as never }), 'minSqnrDb', /20n/],
    // non-finite numbers
    ['rangeParams(NaN, 1)', () => rangeParams(NaN, 1), 'range'],
    ['rangeParams(0, Infinity)', () => rangeParams(0, Infinity), 'range'],
    ['nudgeZeroPoint(0, 1n)', () => nudgeZeroPoint(0, 1n as never, 0, 255), 'range', /1n/],
    ['paramsFromRange with NaN', () => paramsFromRange([0, NaN], [1, 1], { axis: 0 }), 'min', /NaN at 1/],
    ['paramsFromRange min above max', () => paramsFromRange([0, 2], [1, 1], { axis: 0 }), 'max', /at 1/],
    [
      'searchRange minFraction NaN',
      () => searchRange(() => 0, { min: 0, max: 1 }, { minFraction: NaN }),
      'minFraction',
    ],
    ['searchRange seed Infinity', () => searchRange(() => 0, { min: 0, max: 1 }, { seed: Infinity }), 'seed'],
    ['expectedMse(NaN, 1)', () => new HistogramObserver().observe(x).expectedMse(NaN, 1), 'range'],
    ['planBits minSqnrDb NaN', () => planBits(report, { minSqnrDb: NaN }), 'minSqnrDb'],
    [
      'residualDequantize with a NaN scale',
      () => residualDequantize({ ...rq, stages: [{ q: rq.stages[0]!.q, scale: new Float32Array([1, NaN, 1]) }] }),
      'rq.stages[0].scale',
    ],
    // wrong types and shapes
    [
      'searchRange objective returning a string',
      () => searchRange(() => 'low' as never, { min: 0, max: 1 }),
      'objective',
    ],
    [
      'searchClipRange metric returning a BigInt',
      () => searchClipRange(x, { metric: () => 1n as never, budget: 3 }),
      'objective',
      /1n/,
    ],
    ['metricLoss with an unknown metric', () => metricLoss(quantError(x, x), 'psnr' as never), 'metric'],
    ['metricLoss(null)', () => metricLoss(null as never, 'mse'), 'report'],
    ['unpackInt4 of an Int8Array', () => unpackInt4(new Int8Array(2) as never, [4]), 'packed', /Int8Array/],
    ['unpackInt4 without shape', () => unpackInt4(new Uint8Array(2), undefined as never), 'shape'],
    ['unpackInt4 of a huge shape', () => unpackInt4(new Uint8Array(2), [2 ** 31, 2 ** 31]), 'packed'],
    ['packInt4 with a bad shape', () => packInt4(new Int8Array(4), [2, 1.5]), 'shape'],
    ['paramsShape(null)', () => paramsShape(null as never, {}), 'shape'],
    ['paramsShape([2, -1])', () => paramsShape([2, -1], { axis: 0 }), 'shape', /-1 at 1/],
    ['paramsShape granularity "x"', () => paramsShape([2], { granularity: 'x' } as never), 'granularity'],
    ['residualDequantize(null)', () => residualDequantize(null as never), 'rq'],
    [
      'residualDequantize stages [null]',
      () => residualDequantize({ shape: [3, 4], stages: [null] } as never),
      'rq.stages[0]',
    ],
    [
      'residualDequantize with short codes',
      () => residualDequantize({ ...rq, stages: [{ q: new Int8Array(3), scale: rq.stages[0]!.scale }] }),
      'rq.stages[0].q',
    ],
    ['residualDequantize axis 5', () => residualDequantize({ ...rq, axis: 5 }), 'rq.axis'],
    ['sensitivityReport name 3', () => sensitivityReport([{ name: 3, weights: w }] as never), 'layers[0].name'],
    ['sensitivityReport of a string', () => sensitivityReport('fc' as never), 'layers'],
    ['planBits([null])', () => planBits([null] as never, { minSqnrDb: 20 }), 'report[0]'],
    [
      'planBits of an entry without SQNRs',
      () => planBits([{ name: 'a' }] as never, { minSqnrDb: 20 }),
      'report[0].weightSqnr',
    ],
    [
      'quantizeTensor with a Symbol qmin in its params',
      () => fakeQuantize(x, { ...computeQuantParams(x), qmin: sym as never }),
      'params',
      /Symbol\(s\)/,
    ],
    ['observer histogram channel 1.5', () => new HistogramObserver().observe(x).histogram(1.5), 'channel'],
  ];
  it.each(cases)('%s', (_label, f, argument, message) => {
    const e = refusal(f);
    expect(e.argument).toBe(argument);
    if (message) expect(e.message).toMatch(message);
  });
});

describe('right answers on the inputs that used to be misread', () => {
  it('residualDequantize takes a negative axis as counting from the end', () => {
    const x = randomFloat32(rng(5), 3 * 4 * 5);
    const rq = residualQuantize({ data: x, shape: [3, 4, 5] }, 2, { axis: 1 });
    expect(residualDequantize({ ...rq, axis: -2 })).toEqual(residualDequantize(rq));
  });

  it('unpackInt4 of an empty shape dimension is empty', () => {
    expect(unpackInt4(new Uint8Array(0), [0, 7])).toEqual(new Int8Array(0));
  });

  it('the next valid call works after every refusal', () => {
    expect(() => searchClipRange(new Float32Array([1]), 5 as never)).toThrow(QwasmError);
    expect(searchClipRange(new Float32Array([5, 6, 7, 10]), { scheme: { signed: false } }).max).toBeGreaterThan(0);
  });
});
