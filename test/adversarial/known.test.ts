// The known adversarial classes, one named case each, on a 1-thread and a 2-thread
// engine: lengths that lie, properties that answer differently on a second read, huge
// sizes, numbers out of range, wrong types and null defaults. Each case goes through
// the same harness as the fuzzer (time budget, goldens, leak and memory checks, caller
// arrays unchanged), so a failure names exactly what went wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Qwasm } from '../../src/index.js';
import {
  dataView,
  detached,
  fakeTyped,
  flipData,
  flipShape,
  getterShape,
  lyingLength,
  offsetView,
  proxied,
  proxyShape,
  proxyTensor,
  sharedCopy,
  t,
} from './generators.js';
import { EngineUnderTest, report, runCase, type Case, type Expect } from './harness.js';
import {
  convAccRef,
  convGeometryRef,
  diffExact,
  diffShape,
  matMulRef,
  quantizeRef,
  requantFp32Ref,
  type ConvGeoRef,
} from './reference.js';

const value = (check: (r: unknown) => string | null): Expect => ({ kind: 'value', check });
const error = (...args: string[]): Expect => ({ kind: 'error', args });
const either = (check: (r: unknown) => string | null, ...args: string[]): Expect => ({ kind: 'either', check, args });

function tensorIs(want: ArrayLike<number>, shape: readonly number[], type: new (n: number) => ArrayLike<number>) {
  return (res: unknown) => {
    const o = res as { data: unknown; shape: unknown };
    if (!(o?.data instanceof type)) return `data is not a ${type.name}`;
    return diffShape(o.shape, shape) ?? diffExact(o.data as ArrayLike<number>, want);
  };
}

/** An empty result of `shape` (any typed array). */
function emptyOf(shape: readonly number[]) {
  return (res: unknown) => {
    const o = res as { data?: { length: number }; bits?: { length: number }; shape: unknown };
    const n = o?.data?.length ?? o?.bits?.length;
    if (n !== 0) return `expected an empty result, got ${n} elements`;
    return diffShape(o.shape, shape);
  };
}

const A34 = Int8Array.from({ length: 12 }, (_, i) => ((i * 37) % 256) - 128);
const B45 = Int8Array.from({ length: 20 }, (_, i) => ((i * 53) % 200) - 100);
const MM = matMulRef(A34, [3, 4], B45, [4, 5], 0, [0])!;
const mmOk = tensorIs(MM.acc, [3, 5], Int32Array);
const MM_ARGS = ['a', 'b'];
const MM_ALLOWED = ['a', 'b', 'aZeroPoint', 'bZeroPoint'];
const Q_ALLOWED = ['a', 'aScale', 'aZeroPoint', 'b', 'bScale', 'bZeroPoint', 'yScale', 'yZeroPoint', 'opts', 'requant'];
const CONV_ALLOWED = ['x', 'w', 'xZeroPoint', 'wZeroPoint', 'attrs'];
const QCONV_ALLOWED = [...CONV_ALLOWED, 'xScale', 'wScale', 'yScale', 'yZeroPoint', 'bias'];

const liarA = () => {
  const a = lyingLength(Int8Array, 1 << 16, 12);
  a.set(A34);
  return a;
};

// conv x [1, 2, 5, 5] NCHW uint8, w [3, 2, 3, 3] int8
const CX = Uint8Array.from({ length: 50 }, (_, i) => (i * 29) % 256);
const CW = Int8Array.from({ length: 54 }, (_, i) => ((i * 41) % 256) - 128);
const CGEO = convGeometryRef([1, 2, 5, 5], [3, 2, 3, 3], {
  layout: 'NCHW',
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  group: 1,
  autoPad: 'NOTSET',
}) as ConvGeoRef;
const convOk = tensorIs(convAccRef(CGEO, 'NCHW', CX, CW, 0, [0]), [1, 3, 3, 3], Int32Array);

interface Known {
  name: string;
  make: () => Case;
}

function known(
  tag: string,
  name: string,
  repr: string,
  call: (qw: Qwasm) => unknown,
  expectation: Expect,
  allowed: readonly string[],
  snapshots: readonly ArrayBufferView[] = [],
): Known {
  return { name: `${tag}: ${name}`, make: () => ({ tag, repr, call, expect: expectation, allowed, snapshots }) };
}

const f32x8 = () => Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1);

const CASES: Known[] = [
  // -------------------------------------------------------------------------------
  // 1. Lengths that lie
  known(
    'lying-length',
    'quantizeLinear of a Float32Array subclass claiming 8 of 65536',
    'qw.quantizeLinear(t(new (class extends Float32Array { get length() { return 8; } })(1 << 16), [8]), 0.1, 0)',
    (qw) => {
      const x = lyingLength(Float32Array, 1 << 16, 8);
      x.set(f32x8());
      return qw.quantizeLinear(t(x, [8]), 0.1, 0);
    },
    either(tensorIs(quantizeRef(f32x8(), [8], [0.1], [0], 0, false), [8], Uint8Array), 'x'),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'lying-length',
    'matMulInteger with an Int8Array subclass claiming 12 of 65536',
    'qw.matMulInteger(t(new (class extends Int8Array { get length() { return 12; } })(1 << 16), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(liarA(), [3, 4]), t(B45, [4, 5])),
    either(mmOk, 'a'),
    MM_ALLOWED,
  ),
  known(
    'lying-length',
    'linear.run with an Int8Array subclass claiming one row of 65536',
    'qw.linear({ weights: t(B45, [5, 4]), weightScale: 0.1, input, output }).run(new (class extends Int8Array { get length() { return 4; } })(1 << 16))',
    (qw) => {
      const l = qw.linear({
        weights: t(B45, [5, 4]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      });
      try {
        const x = lyingLength(Int8Array, 1 << 16, 4);
        x.set([1, 2, 3, 4]);
        return l.run(x);
      } finally {
        l.dispose();
      }
    },
    // the claimed row, or every true row (the rest are zeros: outputs 0)
    either((r) => {
      const y = r as Int8Array;
      if (y.length !== 5 && y.length !== (1 << 16) * (5 / 4))
        return `${y.length} outputs, expected 5 or ${(1 << 16) * (5 / 4)}`;
      const want = [1, 2, 3, 4].reduce((acc, v, k) => acc.map((a, n) => a + v * B45[n * 4 + k]!), [0, 0, 0, 0, 0]);
      const q = want.map((a) => requantFp32Ref(a, 0.1, 0.1, 1, 0, -128, 127));
      return (
        diffExact(Array.from(y.subarray(0, 5)), q) ??
        (y.subarray(5).some((v) => v !== 0) ? 'rows past the first are not 0' : null)
      );
    }, 'x'),
    ['x', 'out'],
  ),
  known(
    'lying-length',
    'dynamicQuantizeLinear of a lying Float32Array',
    'qw.dynamicQuantizeLinear(t(new (class extends Float32Array { get length() { return 8; } })(1 << 16), [8]))',
    (qw) => {
      const x = lyingLength(Float32Array, 1 << 16, 8);
      x.set(f32x8());
      return qw.dynamicQuantizeLinear(t(x, [8]));
    },
    either((r) => ((r as { y: { data: Uint8Array } }).y.data.length === 8 ? null : 'wrong length'), 'x'),
    ['x'],
  ),
  known(
    'lying-length',
    'bitpack of a lying Float32Array',
    'qw.bitpack(t(new (class extends Float32Array { get length() { return 8; } })(1 << 16), [8]))',
    (qw) => {
      const x = lyingLength(Float32Array, 1 << 16, 8);
      x.set(f32x8());
      return qw.bitpack(t(x, [8]));
    },
    either((r) => diffExact((r as { bits: Uint32Array }).bits, [0b1111]), 'x'),
    ['x'],
  ),
  known(
    'lying-length',
    'binaryMatMul with lying Uint32Array bits',
    'qw.binaryMatMul({ bits: new (class extends Uint32Array { get length() { return 2; } })(1 << 16), shape: [2, 5] }, { bits: Uint32Array.of(0, 31), shape: [2, 5] })',
    (qw) => {
      const bits = lyingLength(Uint32Array, 1 << 16, 2);
      bits.set([0, 31]);
      return qw.binaryMatMul({ bits, shape: [2, 5] }, { bits: Uint32Array.of(0, 31), shape: [2, 5] });
    },
    either(tensorIs([5, -5, -5, 5], [2, 2], Int32Array), 'a'),
    ['a', 'b'],
  ),
  known(
    'fake-typed',
    'matMulInteger with Object.create(Int8Array.prototype) as data',
    'qw.matMulInteger(t(Object.create(Int8Array.prototype), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(fakeTyped(Int8Array, 12) as Int8Array, [3, 4]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'fake-typed',
    'linearF32.run(Object.create(Float32Array.prototype))',
    'qw.linearF32({ weights: t(new Float32Array(8), [2, 4]) }).run(Object.create(Float32Array.prototype))',
    (qw) => {
      const l = qw.linearF32({ weights: t(new Float32Array(8), [2, 4]) });
      try {
        return l.run(fakeTyped(Float32Array, 4, false) as Float32Array);
      } finally {
        l.dispose();
      }
    },
    error('x'),
    ['x', 'out'],
  ),
  known(
    'proxy',
    'matMulInteger with a Proxy around an Int8Array',
    'qw.matMulInteger(t(new Proxy(A34, {}), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(proxied(A34), [3, 4]), t(B45, [4, 5])),
    either(mmOk, 'a'),
    MM_ALLOWED,
    [A34],
  ),
  known(
    'dataview',
    'matMulInteger with a DataView as data',
    'qw.matMulInteger(t(new DataView(new ArrayBuffer(12)), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(dataView(12) as unknown as Int8Array, [3, 4]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'detached',
    'matMulInteger with a detached buffer',
    'qw.matMulInteger(t(detached(new Int8Array(12)), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(detached(Int8Array, 12), [3, 4]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'zero-length',
    'matMulInteger of [0, 4] x [4, 5]',
    'qw.matMulInteger(t(new Int8Array(0), [0, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(new Int8Array(0), [0, 4]), t(B45, [4, 5])),
    value(emptyOf([0, 5])),
    MM_ALLOWED,
  ),
  known(
    'offset-view',
    'matMulInteger of views at byte offsets into bigger buffers',
    'qw.matMulInteger(t(new Int8Array(big.buffer, 3, 12), [3, 4]), t(new Int8Array(big2.buffer, 3, 20), [4, 5]))',
    (qw) => qw.matMulInteger(t(offsetView(A34), [3, 4]), t(offsetView(B45), [4, 5])),
    value(mmOk),
    MM_ALLOWED,
  ),
  known(
    'shared',
    'matMulInteger of SharedArrayBuffer-backed arrays',
    'qw.matMulInteger(t(shared(A34), [3, 4]), t(shared(B45), [4, 5]))',
    (qw) => qw.matMulInteger(t(sharedCopy(A34), [3, 4]), t(sharedCopy(B45), [4, 5])),
    value(mmOk),
    MM_ALLOWED,
  ),
  known(
    'shared',
    'convInteger of SharedArrayBuffer-backed arrays',
    'qw.convInteger(t(shared(CX), [1, 2, 5, 5]), t(shared(CW), [3, 2, 3, 3]))',
    (qw) => qw.convInteger(t(sharedCopy(CX), [1, 2, 5, 5]), t(sharedCopy(CW), [3, 2, 3, 3])),
    value(convOk),
    CONV_ALLOWED,
  ),
  known(
    'wrong-dtype',
    'matMulInteger of an Int16Array',
    'qw.matMulInteger(t(new Int16Array(12), [3, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(new Int16Array(12), [3, 4]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'wrong-dtype',
    'quantizeLinear of a Float64Array',
    'qw.quantizeLinear(t(new Float64Array(4), [4]), 0.1)',
    (qw) => qw.quantizeLinear(t(new Float64Array(4) as unknown as Float32Array, [4]), 0.1),
    error('x'),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  // -------------------------------------------------------------------------------
  // 2. Properties that answer differently on a second read
  known(
    'flip-shape',
    'matMulInteger: a.shape getter answers [3, 4] then [300, 4]',
    'qw.matMulInteger({ data: A34, get shape() { return reads++ ? [300, 4] : [3, 4]; } }, t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(flipShape(A34, [3, 4], [300, 4]), t(B45, [4, 5])),
    either(mmOk, ...MM_ARGS),
    MM_ALLOWED,
    [A34],
  ),
  known(
    'flip-shape',
    'matMulInteger: b.shape getter answers [4, 5] then [4, 500]',
    'qw.matMulInteger(t(A34, [3, 4]), { data: B45, get shape() { return reads++ ? [4, 500] : [4, 5]; } })',
    (qw) => qw.matMulInteger(t(A34, [3, 4]), flipShape(B45, [4, 5], [4, 500])),
    either(mmOk, ...MM_ARGS),
    MM_ALLOWED,
  ),
  known(
    'flip-data',
    'matMulInteger: a.data getter answers 12 then 1200 bytes',
    'qw.matMulInteger({ get data() { return reads++ ? new Int8Array(1200) : A34; }, shape: [3, 4] }, t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(flipData(A34, new Int8Array(1200).fill(7), [3, 4]), t(B45, [4, 5])),
    either(mmOk, ...MM_ARGS),
    MM_ALLOWED,
  ),
  known(
    'getter-shape',
    'matMulInteger: a shape element getter 3 then 300',
    'qw.matMulInteger(t(A34, [get 3 then 300, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger({ data: A34, shape: getterShape([3, 4], 0, 300) }, t(B45, [4, 5])),
    either(mmOk, ...MM_ARGS),
    MM_ALLOWED,
  ),
  known(
    'proxy-shape',
    'matMulInteger: a Proxy shape answering 3 then 300',
    'qw.matMulInteger(t(A34, new Proxy([3, 4], ...)), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger({ data: A34, shape: proxyShape([3, 4], 0, 300) }, t(B45, [4, 5])),
    either(mmOk, ...MM_ARGS),
    MM_ALLOWED,
  ),
  known(
    'proxy-tensor',
    'qlinearMatMul: a Proxy tensor whose shape flips',
    'qw.qlinearMatMul(new Proxy({ data: A34, shape: [3, 4] }, ...), 0.1, 0, t(B45, [4, 5]), 0.1, 0, 1, 0)',
    (qw) => qw.qlinearMatMul(proxyTensor(A34, [3, 4], [300, 4]), 0.1, 0, t(B45, [4, 5]), 0.1, 0, 1, 0),
    either((r) => diffShape((r as { shape: unknown }).shape, [3, 5]), ...MM_ARGS),
    Q_ALLOWED,
  ),
  known(
    'flip-shape',
    'convInteger: x.shape flips [1, 2, 5, 5] -> [1, 2, 500, 5]',
    'qw.convInteger({ data: CX, get shape() { ... } }, t(CW, [3, 2, 3, 3]))',
    (qw) => qw.convInteger(flipShape(CX, [1, 2, 5, 5], [1, 2, 500, 5]), t(CW, [3, 2, 3, 3])),
    either(convOk, 'x', 'w'),
    CONV_ALLOWED,
  ),
  known(
    'flip-shape',
    'quantizeLinear: x.shape flips [8] -> [800]',
    'qw.quantizeLinear({ data: x8, get shape() { return reads++ ? [800] : [8]; } }, 0.1)',
    (qw) => qw.quantizeLinear(flipShape(f32x8(), [8], [800]), 0.1),
    either(tensorIs(quantizeRef(f32x8(), [8], [0.1], [0], 0, false), [8], Uint8Array), 'x'),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'flip-shape',
    'linear: weights.shape flips [5, 4] -> [500, 4]',
    'qw.linear({ weights: { data: B45, get shape() {...} }, weightScale: 0.1, input, output }).run(x)',
    (qw) => {
      const l = qw.linear({
        weights: flipShape(B45, [5, 4], [500, 4]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      });
      try {
        return l.run(new Int8Array(8));
      } finally {
        l.dispose();
      }
    },
    either((r) => diffExact(r as Int8Array, new Array(10).fill(0)), 'weights'),
    ['weights', 'weightScale', 'input', 'output', 'x'],
  ),
  known(
    'flip-shape',
    'conv2d.run: x.shape flips [1, 5, 5, 2] -> [1, 500, 5, 2]',
    'qw.conv2d({ weights: t(w, [3, 3, 3, 2]), ... }).run({ data: x, get shape() {...} })',
    (qw) => {
      const l = qw.conv2d({
        weights: t(CW, [3, 3, 3, 2]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      });
      try {
        return l.run(flipShape(new Int8Array(50), [1, 5, 5, 2], [1, 500, 5, 2]));
      } finally {
        l.dispose();
      }
    },
    either(tensorIs(new Array(27).fill(0), [1, 3, 3, 3], Int8Array), 'x'),
    ['x', 'out'],
  ),
  known(
    'flip-shape',
    'bitunpack: p.shape flips [2, 5] -> [200, 5]',
    'qw.bitunpack({ bits: Uint32Array.of(1, 2), get shape() {...} })',
    (qw) =>
      qw.bitunpack(
        flipShape(Uint32Array.of(1, 2), [2, 5], [200, 5]) as unknown as { bits: Uint32Array; shape: number[] },
      ),
    either(tensorIs([-1, 1, 1, 1, 1, 1, -1, 1, 1, 1], [2, 5], Float32Array), 'p'),
    ['p'],
  ),
  // -------------------------------------------------------------------------------
  // 3. Huge sizes
  known(
    'huge',
    'matMulInteger [70000, 1] x [1, 70000]: a 4.9e9-element output',
    'qw.matMulInteger(t(new Int8Array(70000), [70000, 1]), t(new Int8Array(70000), [1, 70000]))',
    (qw) => qw.matMulInteger(t(new Int8Array(70000), [70000, 1]), t(new Int8Array(70000), [1, 70000])),
    error('a', 'b'),
    MM_ALLOWED,
  ),
  known(
    'huge',
    'qlinearMatMul [70000, 1] x [1, 70000]',
    'qw.qlinearMatMul(t(new Int8Array(70000), [70000, 1]), 1, 0, t(new Int8Array(70000), [1, 70000]), 1, 0, 1, 0)',
    (qw) =>
      qw.qlinearMatMul(t(new Int8Array(70000), [70000, 1]), 1, 0, t(new Int8Array(70000), [1, 70000]), 1, 0, 1, 0),
    error('a', 'b'),
    Q_ALLOWED,
  ),
  known(
    'huge',
    'matMulInteger with batch 2^31 and M = 0: an empty output',
    'qw.matMulInteger(t(new Int8Array(0), [2 ** 31, 0, 4]), t(new Int8Array(12), [4, 3]))',
    (qw) => qw.matMulInteger(t(new Int8Array(0), [2 ** 31, 0, 4]), t(new Int8Array(12), [4, 3])),
    either(emptyOf([2 ** 31, 0, 3]), 'a'),
    MM_ALLOWED,
  ),
  known(
    'huge',
    'matMulInteger with batch 2^53 and K = 0 in b',
    'qw.matMulInteger(t(new Int8Array(0), [2 ** 53, 0, 0]), t(new Int8Array(0), [0, 3]))',
    (qw) => qw.matMulInteger(t(new Int8Array(0), [2 ** 53, 0, 0]), t(new Int8Array(0), [0, 3])),
    either(emptyOf([2 ** 53, 0, 3]), 'a'),
    MM_ALLOWED,
  ),
  known(
    'huge',
    'matMulInteger with K = 2^31 and empty rows',
    'qw.matMulInteger(t(new Int8Array(0), [0, 2 ** 31]), t(new Int8Array(0), [2 ** 31, 0]))',
    (qw) => qw.matMulInteger(t(new Int8Array(0), [0, 2 ** 31]), t(new Int8Array(0), [2 ** 31, 0])),
    either(emptyOf([0, 0]), 'a', 'b'),
    MM_ALLOWED,
  ),
  known(
    'huge',
    'convInteger with pads [0, 0, 1e6, 1e6]',
    'qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { pads: [0, 0, 1e6, 1e6] })',
    (qw) => qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { pads: [0, 0, 1e6, 1e6] }),
    error('attrs.pads', 'x', 'w'),
    CONV_ALLOWED,
  ),
  known(
    'huge',
    'convInteger with pads [0, 0, 2e9, 0]',
    'qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { pads: [0, 0, 2e9, 0] })',
    (qw) => qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { pads: [0, 0, 2e9, 0] }),
    error('attrs.pads', 'x', 'w'),
    CONV_ALLOWED,
  ),
  known(
    'huge',
    'qlinearConv with pads [0, 0, 1e6, 1e6]',
    'qw.qlinearConv(t(CX, [1, 2, 5, 5]), 0.1, 0, t(CW, [3, 2, 3, 3]), 0.1, 0, 1, 0, undefined, { pads: [0, 0, 1e6, 1e6] })',
    (qw) =>
      qw.qlinearConv(t(CX, [1, 2, 5, 5]), 0.1, 0, t(CW, [3, 2, 3, 3]), 0.1, 0, 1, 0, undefined, {
        pads: [0, 0, 1e6, 1e6],
      }),
    error('attrs.pads', 'x', 'w'),
    QCONV_ALLOWED,
  ),
  known(
    'huge',
    'convInteger with a 1e9 x 1e9 spatial input and N = 0 (empty)',
    'qw.convInteger(t(new Uint8Array(0), [0, 2, 1e9, 1e9]), t(CW, [3, 2, 3, 3]))',
    (qw) => qw.convInteger(t(new Uint8Array(0), [0, 2, 1e9, 1e9]), t(CW, [3, 2, 3, 3])),
    either(emptyOf([0, 3, 1e9 - 2, 1e9 - 2]), 'x'),
    CONV_ALLOWED,
  ),
  known(
    'huge',
    'binaryConv2d with pads 2^40',
    'qw.binaryConv2d(xb, wb, { pads: [2 ** 40, 0, 0, 0] })',
    (qw) =>
      qw.binaryConv2d(
        { bits: new Uint32Array(4), shape: [1, 2, 2, 3] },
        { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
        {
          pads: [2 ** 40, 0, 0, 0],
        },
      ),
    error('attrs.pads', 'x', 'w'),
    ['x', 'w', 'attrs'],
  ),
  known(
    'huge',
    'binaryConv2d with pads [1e9, 0, 0, 0]',
    'qw.binaryConv2d(xb, wb, { pads: [1e9, 0, 0, 0] })',
    (qw) =>
      qw.binaryConv2d(
        { bits: new Uint32Array(4), shape: [1, 2, 2, 3] },
        { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
        {
          pads: [1e9, 0, 0, 0],
        },
      ),
    error('attrs.pads', 'x', 'w'),
    ['x', 'w', 'attrs'],
  ),
  known(
    'huge',
    'binaryConv2d with pads [0, 2^40, 0, 2^40] on an empty batch',
    'qw.binaryConv2d({ bits: new Uint32Array(0), shape: [0, 2, 2, 3] }, wb, { pads: [0, 2 ** 40, 0, 2 ** 40] })',
    (qw) =>
      qw.binaryConv2d(
        { bits: new Uint32Array(0), shape: [0, 2, 2, 3] },
        { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
        {
          pads: [0, 2 ** 40, 0, 2 ** 40],
        },
      ),
    either(() => null, 'attrs.pads', 'x', 'w'),
    ['x', 'w', 'attrs'],
  ),
  known(
    'huge',
    'bitpack of shape [2^31, 0]',
    'qw.bitpack(t(new Float32Array(0), [2 ** 31, 0]))',
    (qw) => qw.bitpack(t(new Float32Array(0), [2 ** 31, 0])),
    either(emptyOf([2 ** 31, 0]), 'x'),
    ['x'],
  ),
  known(
    'huge',
    'binaryMatMul of a [2^40, 0, 7] empty batch',
    'qw.binaryMatMul({ bits: new Uint32Array(0), shape: [2 ** 40, 0, 7] }, { bits: new Uint32Array(3), shape: [3, 7] })',
    (qw) =>
      qw.binaryMatMul(
        { bits: new Uint32Array(0), shape: [2 ** 40, 0, 7] },
        { bits: new Uint32Array(3), shape: [3, 7] },
      ),
    either(emptyOf([2 ** 40, 0, 3]), 'a'),
    ['a', 'b'],
  ),
  known(
    'huge',
    'quantizeLinear of shape [2^53, 0]',
    'qw.quantizeLinear(t(new Float32Array(0), [2 ** 53, 0]), 0.1)',
    (qw) => qw.quantizeLinear(t(new Float32Array(0), [2 ** 53, 0]), 0.1),
    either(emptyOf([2 ** 53, 0]), 'x'),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'huge',
    'conv2d.run of [0, 1e9, 1e9, 2] (empty batch)',
    'qw.conv2d({ weights: t(CW, [3, 3, 3, 2]), ... }).run(t(new Int8Array(0), [0, 1e9, 1e9, 2]))',
    (qw) => {
      const l = qw.conv2d({
        weights: t(CW, [3, 3, 3, 2]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      });
      try {
        return l.run(t(new Int8Array(0), [0, 1e9, 1e9, 2]));
      } finally {
        l.dispose();
      }
    },
    either(emptyOf([0, 1e9 - 2, 1e9 - 2, 3]), 'x'),
    ['x', 'out'],
  ),
  known(
    'huge',
    'linear with weights [1, 2^31] (K beyond int32 accumulation)',
    'qw.linear({ weights: t(new Int8Array(0) /* claims 2^31 */, [1, 2 ** 31]), ... })',
    (qw) =>
      qw.linear({
        weights: t(lyingLength(Int8Array, 16, 2 ** 31), [1, 2 ** 31]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      }),
    error('weights'),
    ['weights'],
  ),
  // -------------------------------------------------------------------------------
  // 4. Numbers out of range
  ...([2 ** 32 + 3, -(2 ** 53), 1.5, NaN, 128, Infinity] as const).map((zp) =>
    known(
      'zero-point',
      `matMulInteger aZeroPoint ${zp}`,
      `qw.matMulInteger(t(A34, [3, 4]), t(B45, [4, 5]), ${zp})`,
      (qw) => qw.matMulInteger(t(A34, [3, 4]), t(B45, [4, 5]), zp),
      error('aZeroPoint'),
      MM_ALLOWED,
    ),
  ),
  ...([2 ** 32 + 3, -(2 ** 53), 0.5] as const).map((zp) =>
    known(
      'zero-point',
      `linear input.zeroPoint ${zp}`,
      `qw.linear({ weights: t(B45, [5, 4]), weightScale: 0.1, input: { scale: 0.1, zeroPoint: ${zp} }, output })`,
      (qw) =>
        qw.linear({
          weights: t(B45, [5, 4]),
          weightScale: 0.1,
          input: { scale: 0.1, zeroPoint: zp },
          output: { scale: 1, zeroPoint: 0 },
        }),
      error('input.zeroPoint'),
      ['input', 'input.zeroPoint'],
    ),
  ),
  ...([0, -1, NaN, Infinity, 1e-46, 1e39] as const).map((s) =>
    known(
      'scale',
      `quantizeLinear scale ${s}`,
      `qw.quantizeLinear(t(x8, [8]), ${s})`,
      (qw) => qw.quantizeLinear(t(f32x8(), [8]), s),
      error('scale'),
      ['x', 'scale', 'zeroPoint', 'opts'],
    ),
  ),
  known(
    'scale',
    'quantizeLinear scale 1e-45 (the smallest float32 subnormal): saturates',
    'qw.quantizeLinear(t(x8, [8]), 1e-45, 0, { dtype: "int8" })',
    (qw) => qw.quantizeLinear(t(f32x8(), [8]), 1e-45, 0, { dtype: 'int8' }),
    value(tensorIs(quantizeRef(f32x8(), [8], [1e-45], [0], 0, true), [8], Int8Array)),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'multiplier-overflow',
    'qlinearMatMul aScale 1e30, bScale 1e30, yScale 1e-30 (fp32 multiplier Infinity)',
    'qw.qlinearMatMul(t(A34, [3, 4]), 1e30, 0, t(B45, [4, 5]), 1e30, 0, 1e-30, 0)',
    (qw) => qw.qlinearMatMul(t(A34, [3, 4]), 1e30, 0, t(B45, [4, 5]), 1e30, 0, 1e-30, 0),
    either(
      tensorIs(
        MM.acc.map((a) => (a > 0 ? 127 : a < 0 ? -128 : 0)),
        [3, 5],
        Int8Array,
      ),
      'yScale',
      'aScale',
      'bScale',
    ),
    Q_ALLOWED,
  ),
  known(
    'fixedpoint-large',
    "qlinearMatMul 100 x 100 x 64 with scales 1024, 1024, 1 and requant 'fixedpoint': 127 or refused naming yScale",
    "qw.qlinearMatMul(t(new Int8Array(64).fill(100), [1, 64]), 1024, 0, t(new Int8Array(512).fill(100), [64, 8]), 1024, 0, 1, 0, { requant: 'fixedpoint' })",
    (qw) =>
      qw.qlinearMatMul(
        t(new Int8Array(64).fill(100), [1, 64]),
        1024,
        0,
        t(new Int8Array(512).fill(100), [64, 8]),
        1024,
        0,
        1,
        0,
        {
          requant: 'fixedpoint',
        },
      ),
    either(tensorIs(new Array(8).fill(127), [1, 8], Int8Array), 'yScale'),
    Q_ALLOWED,
  ),
  known(
    'fixedpoint-large',
    "the same with 'fp32': saturates to 127",
    "qw.qlinearMatMul(t(new Int8Array(64).fill(100), [1, 64]), 1024, 0, t(new Int8Array(512).fill(100), [64, 8]), 1024, 0, 1, 0, { requant: 'fp32' })",
    (qw) =>
      qw.qlinearMatMul(
        t(new Int8Array(64).fill(100), [1, 64]),
        1024,
        0,
        t(new Int8Array(512).fill(100), [64, 8]),
        1024,
        0,
        1,
        0,
        {
          requant: 'fp32',
        },
      ),
    value(tensorIs(new Array(8).fill(127), [1, 8], Int8Array)),
    Q_ALLOWED,
  ),
  known(
    'fixedpoint-large',
    'qlinearMatMul fixedpoint with a multiplier of 2^20 and negative products: -128',
    "qw.qlinearMatMul(t(new Int8Array(64).fill(-100), [1, 64]), 1024, 0, t(new Int8Array(512).fill(100), [64, 8]), 1024, 0, 1, 0, { requant: 'fixedpoint' })",
    (qw) =>
      qw.qlinearMatMul(
        t(new Int8Array(64).fill(-100), [1, 64]),
        1024,
        0,
        t(new Int8Array(512).fill(100), [64, 8]),
        1024,
        0,
        1,
        0,
        {
          requant: 'fixedpoint',
        },
      ),
    either(tensorIs(new Array(8).fill(-128), [1, 8], Int8Array), 'yScale'),
    Q_ALLOWED,
  ),
  known(
    'fixedpoint-large',
    "linear requant 'fixedpoint' with a multiplier of 2^20: 127 or refused naming output.scale",
    "qw.linear({ weights: t(new Int8Array(512).fill(100), [8, 64]), weightScale: 1024, input: { scale: 1024, zeroPoint: 0 }, output: { scale: 1, zeroPoint: 0 }, requant: 'fixedpoint' }).run(new Int8Array(64).fill(100))",
    (qw) => {
      const l = qw.linear({
        weights: t(new Int8Array(512).fill(100), [8, 64]),
        weightScale: 1024,
        input: { scale: 1024, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
        requant: 'fixedpoint',
      });
      try {
        return l.run(new Int8Array(64).fill(100));
      } finally {
        l.dispose();
      }
    },
    either((r) => diffExact(r as Int8Array, new Array(8).fill(127)), 'output.scale'),
    ['output.scale', 'weightScale', 'input.scale'],
  ),
  known(
    'fixedpoint-large',
    "qlinearConv requant 'fixedpoint' with a multiplier of 2^20",
    "qw.qlinearConv(t(new Uint8Array(50).fill(200), [1, 2, 5, 5]), 1024, 0, t(new Int8Array(54).fill(100), [3, 2, 3, 3]), 1024, 0, 1, 0, undefined, { requant: 'fixedpoint' })",
    (qw) =>
      qw.qlinearConv(
        t(new Uint8Array(50).fill(200), [1, 2, 5, 5]),
        1024,
        0,
        t(new Int8Array(54).fill(100), [3, 2, 3, 3]),
        1024,
        0,
        1,
        0,
        undefined,
        {
          requant: 'fixedpoint',
        },
      ),
    either(tensorIs(new Array(27).fill(255), [1, 3, 3, 3], Uint8Array), 'yScale'),
    QCONV_ALLOWED,
  ),
  known(
    'bias-overflow',
    'linear with bias 2^31 - 1 and a positive accumulator (int32 would wrap)',
    'qw.linear({ weights: t(new Int8Array(4).fill(127), [1, 4]), weightScale: 1, bias: Int32Array.of(2 ** 31 - 1), input: { scale: 1, zeroPoint: 0 }, output: { scale: 1e9, zeroPoint: 0 } }).run(new Int8Array(4).fill(127))',
    (qw) => {
      const l = qw.linear({
        weights: t(new Int8Array(4).fill(127), [1, 4]),
        weightScale: 1,
        bias: Int32Array.of(2 ** 31 - 1),
        input: { scale: 1, zeroPoint: 0 },
        output: { scale: 1e9, zeroPoint: 0 },
      });
      try {
        return l.run(new Int8Array(4).fill(127));
      } finally {
        l.dispose();
      }
    },
    // (2^31 - 1 + 64516) / 1e9 = 2.2 -> 2
    either((r) => diffExact(r as Int8Array, [2]), 'bias'),
    ['bias'],
  ),
  // -------------------------------------------------------------------------------
  // 5. Wrong types, null defaults, missing fields
  known(
    'bigint',
    'convInteger strides [1n, 1]',
    'qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { strides: [1n, 1] })',
    (qw) => qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { strides: [1n, 1] as unknown as number[] }),
    error('attrs.strides'),
    CONV_ALLOWED,
  ),
  known(
    'bigint',
    'binaryConv2d pads [1n, 0, 0, 0]',
    'qw.binaryConv2d(xb, wb, { pads: [1n, 0, 0, 0] })',
    (qw) =>
      qw.binaryConv2d(
        { bits: new Uint32Array(4), shape: [1, 2, 2, 3] },
        { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
        {
          pads: [1n, 0, 0, 0] as unknown as number[],
        },
      ),
    error('attrs.pads'),
    ['x', 'w', 'attrs'],
  ),
  known(
    'bigint',
    'conv2d layer dilations [1n, 1n]',
    'qw.conv2d({ weights: t(CW, [3, 3, 3, 2]), ..., dilations: [1n, 1n] })',
    (qw) =>
      qw.conv2d({
        weights: t(CW, [3, 3, 3, 2]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
        dilations: [1n, 1n] as unknown as number[],
      }),
    error('dilations'),
    ['dilations'],
  ),
  known(
    'bigint',
    'matMulInteger aZeroPoint 3n and a shape [3n, 4]',
    'qw.matMulInteger(t(A34, [3n, 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(A34, [3n, 4] as unknown as number[]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'symbol',
    'matMulInteger with a Symbol dimension',
    'qw.matMulInteger(t(A34, [Symbol(), 4]), t(B45, [4, 5]))',
    (qw) => qw.matMulInteger(t(A34, [Symbol('d'), 4] as unknown as number[]), t(B45, [4, 5])),
    error('a'),
    MM_ALLOWED,
  ),
  known(
    'null-default',
    'matMulInteger(a, b, null, null)',
    'qw.matMulInteger(t(A34, [3, 4]), t(B45, [4, 5]), null, null)',
    (qw) => qw.matMulInteger(t(A34, [3, 4]), t(B45, [4, 5]), null as unknown as number, null as unknown as number),
    value(mmOk),
    MM_ALLOWED,
  ),
  known(
    'null-default',
    'qlinearMatMul with null zero points and opts',
    'qw.qlinearMatMul(t(A34, [3, 4]), 0.1, null, t(B45, [4, 5]), 0.1, null, 1, null, null)',
    (qw) =>
      qw.qlinearMatMul(
        t(A34, [3, 4]),
        0.1,
        null as unknown as number,
        t(B45, [4, 5]),
        0.1,
        null as unknown as number,
        1,
        null as unknown as number,
        null as unknown as undefined,
      ),
    value((r) => diffShape((r as { shape: unknown }).shape, [3, 5])),
    Q_ALLOWED,
  ),
  known(
    'null-default',
    'convInteger(x, w, null, null, null)',
    'qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), null, null, null)',
    (qw) =>
      qw.convInteger(
        t(CX, [1, 2, 5, 5]),
        t(CW, [3, 2, 3, 3]),
        null as unknown as number,
        null as unknown as number,
        null as unknown as undefined,
      ),
    value(convOk),
    CONV_ALLOWED,
  ),
  known(
    'null-default',
    'convInteger with every attribute null',
    'qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, { strides: null, pads: null, dilations: null, group: null, autoPad: null, layout: null })',
    (qw) =>
      qw.convInteger(t(CX, [1, 2, 5, 5]), t(CW, [3, 2, 3, 3]), 0, 0, {
        strides: null,
        pads: null,
        dilations: null,
        group: null,
        autoPad: null,
        layout: null,
      } as unknown as undefined),
    value(convOk),
    CONV_ALLOWED,
  ),
  known(
    'null-default',
    'qlinearConv with null zero points, bias and attrs',
    'qw.qlinearConv(t(CX, [1, 2, 5, 5]), 0.1, null, t(CW, [3, 2, 3, 3]), 0.1, null, 1, null, null, null)',
    (qw) =>
      qw.qlinearConv(
        t(CX, [1, 2, 5, 5]),
        0.1,
        null as unknown as number,
        t(CW, [3, 2, 3, 3]),
        0.1,
        null as unknown as number,
        1,
        null as unknown as number,
        null as unknown as undefined,
        null as unknown as undefined,
      ),
    value((r) => diffShape((r as { shape: unknown }).shape, [1, 3, 3, 3])),
    QCONV_ALLOWED,
  ),
  known(
    'null-default',
    'quantizeLinear(x, 0.1, null, null)',
    'qw.quantizeLinear(t(x8, [8]), 0.1, null, null)',
    (qw) => qw.quantizeLinear(t(f32x8(), [8]), 0.1, null as unknown as number, null as unknown as undefined),
    value(tensorIs(quantizeRef(f32x8(), [8], [0.1], [0], 0, false), [8], Uint8Array)),
    ['x', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'null-default',
    'dequantizeLinear(q, 0.5, null, null)',
    'qw.dequantizeLinear(t(Int8Array.of(-2, 0, 5), [3]), 0.5, null, null)',
    (qw) =>
      qw.dequantizeLinear(t(Int8Array.of(-2, 0, 5), [3]), 0.5, null as unknown as number, null as unknown as undefined),
    value(tensorIs([-1, 0, 2.5], [3], Float32Array)),
    ['q', 'scale', 'zeroPoint', 'opts'],
  ),
  known(
    'null-default',
    'binaryConv2d(x, w, null)',
    'qw.binaryConv2d(xb, wb, null)',
    (qw) =>
      qw.binaryConv2d(
        { bits: new Uint32Array(4), shape: [1, 2, 2, 3] },
        { bits: new Uint32Array(2), shape: [2, 1, 1, 3] },
        null as unknown as undefined,
      ),
    value(tensorIs(new Array(8).fill(3), [1, 2, 2, 2], Int32Array)),
    ['x', 'w', 'attrs'],
  ),
  known(
    'null-default',
    'linear with null weightZeroPoint, bias, activation and requant; run(x, null)',
    'qw.linear({ weights: t(B45, [5, 4]), weightScale: 0.1, weightZeroPoint: null, bias: null, input, output, activation: null, requant: null }).run(new Int8Array(8), null)',
    (qw) => {
      const l = qw.linear({
        weights: t(B45, [5, 4]),
        weightScale: 0.1,
        weightZeroPoint: null,
        bias: null,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
        activation: null,
        requant: null,
      } as unknown as Parameters<Qwasm['linear']>[0]);
      try {
        return l.run(new Int8Array(8), null as unknown as undefined);
      } finally {
        l.dispose();
      }
    },
    value((r) => diffExact(r as Int8Array, new Array(10).fill(0))),
    ['weights', 'weightZeroPoint', 'bias', 'activation', 'requant', 'x', 'out'],
  ),
  known(
    'null-default',
    'conv2d with null strides, pads, dilations, group and bias',
    'qw.conv2d({ weights: t(CW, [3, 3, 3, 2]), ..., strides: null, pads: null, dilations: null, group: null, bias: null })',
    (qw) => {
      const l = qw.conv2d({
        weights: t(CW, [3, 3, 3, 2]),
        weightScale: 0.1,
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
        strides: null,
        pads: null,
        dilations: null,
        group: null,
        bias: null,
      } as unknown as Parameters<Qwasm['conv2d']>[0]);
      try {
        return l.run(t(new Int8Array(50), [1, 5, 5, 2]));
      } finally {
        l.dispose();
      }
    },
    value(tensorIs(new Array(27).fill(0), [1, 3, 3, 3], Int8Array)),
    ['strides', 'pads', 'dilations', 'group', 'bias', 'x'],
  ),
  known(
    'null-default',
    'binaryLinear with null scale, bias and output',
    'qw.binaryLinear({ weights: t(Float32Array.of(1, -1, 1), [1, 3]), scale: null, bias: null, output: null }).run(xb)',
    (qw) => {
      const l = qw.binaryLinear({
        weights: t(Float32Array.of(1, -1, 1), [1, 3]),
        scale: null,
        bias: null,
        output: null,
      } as unknown as Parameters<Qwasm['binaryLinear']>[0]);
      try {
        return l.run({ bits: Uint32Array.of(0b010), shape: [1, 3] });
      } finally {
        l.dispose();
      }
    },
    value(tensorIs([3], [1, 1], Float32Array)),
    ['scale', 'bias', 'output', 'x'],
  ),
  known(
    'strings',
    'qlinearMatMul with a string scale',
    "qw.qlinearMatMul(t(A34, [3, 4]), '0.1', 0, t(B45, [4, 5]), 0.1, 0, 1, 0)",
    (qw) => qw.qlinearMatMul(t(A34, [3, 4]), '0.1' as unknown as number, 0, t(B45, [4, 5]), 0.1, 0, 1, 0),
    error('aScale'),
    Q_ALLOWED,
  ),
  ...(
    [
      [-3, 4],
      [1.5, 8],
      [NaN, 4],
      [[3], 4],
      ['3', 4],
      [3, 4, -0.0001],
    ] as unknown as number[][]
  ).map((shape) =>
    known(
      'bad-dims',
      `matMulInteger a.shape ${JSON.stringify(shape)}`,
      `qw.matMulInteger(t(A34, ${JSON.stringify(shape)}), t(B45, [4, 5]))`,
      (qw) => qw.matMulInteger(t(A34, shape), t(B45, [4, 5])),
      error('a'),
      MM_ALLOWED,
    ),
  ),
  known('missing-fields', 'linear({})', 'qw.linear({})', (qw) => qw.linear({} as never), error('weights'), [
    'weights',
    'config',
  ]),
  known(
    'missing-fields',
    'linear without weightScale',
    'qw.linear({ weights: t(B45, [5, 4]), input, output })',
    (qw) =>
      qw.linear({
        weights: t(B45, [5, 4]),
        input: { scale: 0.1, zeroPoint: 0 },
        output: { scale: 1, zeroPoint: 0 },
      } as never),
    error('weightScale'),
    ['weightScale'],
  ),
  known(
    'missing-fields',
    'conv2d without input',
    'qw.conv2d({ weights: t(CW, [3, 3, 3, 2]), weightScale: 0.1, output })',
    (qw) => qw.conv2d({ weights: t(CW, [3, 3, 3, 2]), weightScale: 0.1, output: { scale: 1, zeroPoint: 0 } } as never),
    error('input'),
    ['input'],
  ),
  known(
    'missing-fields',
    'binaryConv2dLayer without weights',
    'qw.binaryConv2dLayer({ pads: [1, 1, 1, 1] })',
    (qw) => qw.binaryConv2dLayer({ pads: [1, 1, 1, 1] } as never),
    error('weights'),
    ['weights', 'config'],
  ),
];

for (const threads of [1, 2]) {
  describe(`known adversarial classes on a ${threads}-thread engine`, () => {
    let eut: EngineUnderTest;
    beforeAll(async () => {
      eut = await EngineUnderTest.create(threads);
    });
    afterAll(() => eut?.dispose());

    CASES.forEach((k, i) => {
      it(k.name, async () => {
        const { failures } = await runCase(eut, `known@${threads}`, i, k.make(), `known case "${k.name}"`);
        expect(failures.length, report(failures)).toBe(0);
      });
    });
  });
}
