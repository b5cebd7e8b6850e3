// Convolution planning, shared by the ONNX ops (ops/conv.ts) and the prepacked layers
// (layers/conv.ts): attributes are validated and resolved into NHWC geometry once, the
// kernel path is chosen, weights are packed for that path, and the parameter block the
// kernels read (assembly/conv/params.ts, same offsets) is written to wasm memory.
import type { KernelConfig } from '../config.js';
import {
  CONV_BYTES,
  ConvField,
  EPILOGUE_BYTES,
  EpilogueArray8Fields,
  EpilogueArrayFields,
} from '../layouts.generated.js';
import { describe } from '../args.js';
import { QwasmError, check } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { checkResultSize } from '../tensor.js';
import { EpilogueKind } from '../kernels.js';
import type { EpilogueParams } from './epilogue.js';
import { packedWeightBytes } from './gemm.js';

/**
 * ONNX auto_pad: `'NOTSET'` uses the explicit pads; `'SAME_UPPER'` / `'SAME_LOWER'` pad
 * so the output is ceil(input / stride), the odd pad at the end / the start; `'VALID'`
 * pads nothing.
 *
 * @example
 * ```ts
 * const y = qw.convInteger(x, w, 128, 0, { autoPad: 'SAME_UPPER', strides: [2, 2] });
 * ```
 */
export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

/**
 * Convolution attributes, as ONNX names them (camelCase).
 *
 * @example
 * ```ts
 * const attrs: ConvAttributes = { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 };
 * ```
 */
export interface ConvAttributes {
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default zeros; not together with autoPad other than 'NOTSET'. */
  pads?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
  /** Groups: input and output channels both split into `group` blocks; group == C is depthwise. */
  group?: number;
  /** ONNX auto_pad, default 'NOTSET' (explicit pads). */
  autoPad?: AutoPad;
  /** [kH, kW]; optional, must match the weights when given. */
  kernelShape?: readonly number[];
}

/** Everything about one convolution's shapes, NHWC. */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  C: number;
  M: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  /** Pads [top, left, bottom, right] after autoPad. */
  pads: [number, number, number, number];
  group: number;
  Cg: number;
  Mg: number;
  OH: number;
  OW: number;
}

/** The kernel a plan runs (assembly/conv/params.ts ConvPath). */
export const enum ConvPath {
  Gemm1x1 = 0,
  Im2col = 1,
  Depthwise = 2,
  Igemm = 3,
}

/** Offsets (in int32 words) of the parameter block fields, as assembly/conv/params.ts. */
const Field = ConvField;
/** Bytes of the parameter block. */
export const CONV_PARAMS_BYTES = CONV_BYTES;
/** Bytes of one epilogue parameter header, one per group. */
const EPI_HEADER = EPILOGUE_BYTES;
/** Output channels per SIMD block of the depthwise kernels (int16 lanes). */
const DW_BLOCK = 8;
/** Kernel rows the depthwise kernels keep pointers for (assembly/conv/depthwise.ts `rows`). */
const DW_MAX_KH = 16;
/** Rows of the IGEMM tile (assembly/conv/igemm.ts IGEMM_MR). */
const IGEMM_MR = 4;

/**
 * The largest stride, dilation, pad or kernel extent accepted: far beyond any real
 * layer, and small enough that no derived size (padded rows, scratch) can run away.
 */
export const MAX_CONV_ATTRIBUTE = 2 ** 20;

/** An attribute array read once into numbers: `n` integers in [min, MAX_CONV_ATTRIBUTE]. */
export function intsAttr(v: unknown, name: string, n: number, min: number, what: string): number[] {
  check(Array.isArray(v) && v.length === n, name, () => `must be ${what}, got ${describe(v)}`);
  const out = Array.from(v as unknown[]);
  check(out.length === n, name, () => `must be ${what}, got ${describe(out)}`);
  for (const x of out) {
    check(
      typeof x === 'number' && Number.isInteger(x) && x >= min && x <= MAX_CONV_ATTRIBUTE,
      name,
      `must hold integers in [${min}, ${MAX_CONV_ATTRIBUTE}], got ${describe(out)}`,
    );
  }
  return out as number[];
}

function pair(v: unknown, name: string, def: number, min: number): [number, number] {
  if (v === undefined || v === null) return [def, def];
  const [a, b] = intsAttr(v, name, 2, min, 'an array of 2 integers');
  return [a!, b!];
}

/**
 * Resolves and validates attributes against NHWC input dims and weight dims
 * [M, kH, kW, Cg]. `prefix` is how the attributes are named in errors ('attrs.' for the
 * ONNX ops, '' for layer configs); `wName` names the weights.
 */
export function resolveGeometry(
  input: { N: number; H: number; W: number; C: number },
  weights: { M: number; kH: number; kW: number; Cg: number },
  attrs: ConvAttributes,
  prefix: string,
  xName: string,
  wName: string,
): ConvGeometry {
  const { N, H, W, C } = input;
  const { M, kH, kW, Cg } = weights;
  check(
    H > 0 && W > 0 && C > 0,
    xName,
    `must have non-empty spatial and channel dims, got H = ${H}, W = ${W}, C = ${C}`,
  );
  check(
    M > 0 && kH > 0 && kW > 0 && Cg > 0,
    wName,
    `must not be empty, got M = ${M}, kH = ${kH}, kW = ${kW}, C/group = ${Cg}`,
  );
  const [sH, sW] = pair(attrs.strides, `${prefix}strides`, 1, 1);
  const [dH, dW] = pair(attrs.dilations, `${prefix}dilations`, 1, 1);
  const group = attrs.group ?? 1;
  check(
    Number.isInteger(group) && group >= 1,
    `${prefix}group`,
    () => `must be a positive integer, got ${describe(group)}`,
  );
  check(C % group === 0, `${prefix}group`, `${group} does not divide the ${C} input channels`);
  check(M % group === 0, `${prefix}group`, `${group} does not divide the ${M} output channels`);
  check(
    Cg === C / group,
    wName,
    `has ${Cg} input channels per group, but the input has ${C} channels in ${group} group(s) (${C / group} each)`,
  );
  if (attrs.kernelShape !== undefined) {
    const [ka, kb] = pair(attrs.kernelShape, `${prefix}kernelShape`, 1, 1);
    check(
      ka === kH && kb === kW,
      `${prefix}kernelShape`,
      `[${ka}, ${kb}] does not match the weights' ${kH}x${kW} kernel`,
    );
  }
  const autoPad = attrs.autoPad ?? 'NOTSET';
  check(
    autoPad === 'NOTSET' || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' || autoPad === 'VALID',
    `${prefix}autoPad`,
    `must be 'NOTSET', 'SAME_UPPER', 'SAME_LOWER' or 'VALID', got ${describe(autoPad)}`,
  );
  const eH = (kH - 1) * dH + 1;
  const eW = (kW - 1) * dW + 1;
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (attrs.pads !== undefined && attrs.pads !== null) {
    const p = intsAttr(attrs.pads, `${prefix}pads`, 4, 0, '[top, left, bottom, right]');
    check(
      autoPad === 'NOTSET' || p.every((v) => v === 0),
      `${prefix}pads`,
      `cannot be given together with autoPad '${autoPad}'`,
    );
    pads = p as [number, number, number, number];
  }
  let OH: number;
  let OW: number;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // ONNX: output = ceil(input / stride); the odd pad goes at the end (UPPER) or the start (LOWER)
    OH = Math.ceil(H / sH);
    OW = Math.ceil(W / sW);
    const tH = Math.max(0, (OH - 1) * sH + eH - H);
    const tW = Math.max(0, (OW - 1) * sW + eW - W);
    const upper = autoPad === 'SAME_UPPER';
    const top = upper ? Math.floor(tH / 2) : Math.ceil(tH / 2);
    const left = upper ? Math.floor(tW / 2) : Math.ceil(tW / 2);
    pads = [top, left, tH - top, tW - left];
  } else {
    if (autoPad === 'VALID') pads = [0, 0, 0, 0];
    const hp = H + pads[0] + pads[2];
    const wp = W + pads[1] + pads[3];
    if (eH > hp || eW > wp) {
      throw new QwasmError(
        wName,
        `the ${kH}x${kW} kernel (${eH}x${eW} with dilations [${dH}, ${dW}]) is larger than the padded ${hp}x${wp} input (pads [${pads.join(', ')}])`,
      );
    }
    OH = Math.floor((hp - eH) / sH) + 1;
    OW = Math.floor((wp - eW) / sW) + 1;
  }
  checkResultSize(N * OH * OW * M, 4, xName);
  return { N, H, W, C, M, kH, kW, sH, sW, dH, dW, pads, group, Cg, Mg: M / group, OH, OW };
}

/** Which kernel runs a geometry: depthwise when every group has one input channel. */
export function choosePath(g: ConvGeometry, config: KernelConfig): ConvPath {
  if (g.group === g.C && g.group > 1 && g.kH <= DW_MAX_KH) return ConvPath.Depthwise;
  const [pt, pl, pb, pr] = g.pads;
  if (g.kH === 1 && g.kW === 1 && g.sH === 1 && g.sW === 1 && pt + pl + pb + pr === 0) return ConvPath.Gemm1x1;
  return g.Cg >= config.conv.igemmMinChannels ? ConvPath.Igemm : ConvPath.Im2col;
}

/** K steps of one group's GEMM: int16 pairs (IGEMM: each tap's channels rounded up to pairs) or floats. */
function kStepsOf(geo: ConvGeometry, path: ConvPath, f32: boolean): number {
  const taps = geo.kH * geo.kW;
  if (f32) return taps * geo.Cg;
  return path === ConvPath.Igemm ? taps * Math.ceil(geo.Cg / 2) : Math.ceil((taps * geo.Cg) / 2);
}

/** The per-shape part of a plan: the kernel parameters and how much scratch they need. */
export interface ConvPlan {
  geo: ConvGeometry;
  path: ConvPath;
  /** K pairs (int8) or K (float32) of one group's GEMM. */
  kSteps: number;
  groupWeightBytes: number;
  /** Output pixels packed per block (GEMM paths). */
  mc: number;
  /** Depthwise: rows of the row ring, padded columns per ring row, channels rounded up
   * to the SIMD block. */
  Hp: number;
  Wp: number;
  Cp: number;
  scratchBytes: number;
  outShape: readonly number[];
}

/**
 * Sizes a plan for int8 (`f32` false: int16 panels) or the float32 baseline, with the
 * build's tile (mr x nr) and conv block sizes from its kernel config.
 */
export function makePlan(geo: ConvGeometry, path: ConvPath, f32: boolean, config: KernelConfig): ConvPlan {
  const { mr, nr } = config;
  const kSteps = kStepsOf(geo, path, f32);
  const groupWeightBytes = Math.ceil(geo.Mg / nr) * nr * kSteps * 4;
  const rows = geo.N * geo.OH * geo.OW;
  let mc = 0;
  let Hp = 0;
  let Wp = 0;
  let Cp = 0;
  let scratchBytes = 0;
  if (path === ConvPath.Depthwise) {
    Hp = (geo.kH - 1) * geo.dH + 1;
    // int8 pixels hold (x[iw], x[iw + dW]) pairs: the last pair reads one more column
    Wp = (geo.OW - 1) * geo.sW + (geo.kW - 1) * geo.dW + 1 + (f32 ? 0 : geo.dW);
    Cp = Math.ceil(geo.M / DW_BLOCK) * DW_BLOCK;
    // int16 pairs or floats: 4 bytes per channel either way
    scratchBytes = Hp * Wp * Cp * 4;
  } else if (path === ConvPath.Igemm) {
    mc = Math.min(config.conv.igemmPixels, Math.ceil(rows / IGEMM_MR) * IGEMM_MR);
    const indirection = Math.ceil(mc / IGEMM_MR) * IGEMM_MR * geo.kH * geo.kW * 4;
    // int8: the widened input and a zero row (+ the element an odd last pair reads past
    // it); float32: a zero row; both 16-byte aligned before the indirection buffer
    const rowsBytes = f32 ? geo.C * 4 : (geo.N * geo.H * geo.W * geo.C + geo.C + 8) * 2;
    scratchBytes = rowsBytes + 16 + indirection;
  } else {
    // rows per block: int16 pairs or floats, the same bytes for both
    const rowBytes = kSteps * 4;
    mc = Math.max(mr, Math.floor(config.conv.im2colBlockBytes / rowBytes / mr) * mr);
    mc = Math.min(mc, Math.ceil(rows / mr) * mr);
    // the float32 1x1 path reads its rows in place
    scratchBytes = f32 && path === ConvPath.Gemm1x1 ? 0 : mc * rowBytes;
  }
  const outShape = Object.freeze([geo.N, geo.OH, geo.OW, geo.M]);
  return { geo, path, kSteps, groupWeightBytes, mc, Hp, Wp, Cp, scratchBytes, outShape };
}

/** Writes a plan's parameter block at `ptr` (CONV_PARAMS_BYTES). */
export function writeParams(rt: Runtime, ptr: number, plan: ConvPlan, za: number, signed: boolean): void {
  const g = plan.geo;
  const i32 = rt.heap.i32;
  const h = ptr >> 2;
  i32.fill(0, h, h + CONV_PARAMS_BYTES / 4);
  i32[h + Field.N] = g.N;
  i32[h + Field.H] = g.H;
  i32[h + Field.W] = g.W;
  i32[h + Field.C] = g.C;
  i32[h + Field.OH] = g.OH;
  i32[h + Field.OW] = g.OW;
  i32[h + Field.M] = g.M;
  i32[h + Field.KH] = g.kH;
  i32[h + Field.KW] = g.kW;
  i32[h + Field.SH] = g.sH;
  i32[h + Field.SW] = g.sW;
  i32[h + Field.DH] = g.dH;
  i32[h + Field.DW] = g.dW;
  i32[h + Field.PT] = g.pads[0];
  i32[h + Field.PL] = g.pads[1];
  i32[h + Field.GROUP] = g.group;
  i32[h + Field.CG] = g.Cg;
  i32[h + Field.MG] = g.Mg;
  i32[h + Field.ZA] = za;
  i32[h + Field.SIGNED] = signed ? 1 : 0;
  i32[h + Field.PATH] = plan.path;
  i32[h + Field.KPAIRS] = plan.kSteps;
  i32[h + Field.GROUP_WBYTES] = plan.groupWeightBytes;
  i32[h + Field.MC] = plan.mc;
  i32[h + Field.CM] = g.M / g.C;
  i32[h + Field.CP] = plan.Cp;
  i32[h + Field.HP] = plan.Hp;
  i32[h + Field.WP] = plan.Wp;
}

/**
 * Bytes of packed weights for a path: int16 NR panels per group for the GEMM paths; for
 * depthwise [Cp / 8][kH][ceil(kW / 2)][2][4 x 2] int16 tap pairs (or [Cp / 4][kH * kW][4]
 * float32).
 */
export function packedConvWeightBytes(rt: Runtime, geo: ConvGeometry, path: ConvPath, f32: boolean): number {
  const Cp = Math.ceil(geo.M / DW_BLOCK) * DW_BLOCK;
  if (path === ConvPath.Depthwise) return f32 ? Cp * geo.kH * geo.kW * 4 : Cp * geo.kH * Math.ceil(geo.kW / 2) * 4;
  return geo.group * Math.ceil(geo.Mg / rt.config.nr) * rt.config.nr * kStepsOf(geo, path, f32) * 4;
}

/**
 * Packs int8 / uint8 weights [M, kH, kW, Cg] (already in wasm memory at `src`) minus
 * their zero points (1 or M) into `dst` for `path`.
 */
export function packConvWeightsS16(
  rt: Runtime,
  geo: ConvGeometry,
  path: ConvPath,
  src: number,
  signed: boolean,
  zw: Int32Array,
  dst: number,
): void {
  const K = geo.kH * geo.kW * geo.Cg;
  if (path === ConvPath.Depthwise) {
    // per 8 channels, kernel row and pair of taps (kw, kw + 1): two quads of channels,
    // each 4 x (w[kw], w[kw + 1]); an odd last tap is paired with 0
    const { kH, kW } = geo;
    const J = Math.ceil(kW / 2);
    const Cp = Math.ceil(geo.M / DW_BLOCK) * DW_BLOCK;
    const i16 = rt.heap.i16;
    const w = signed ? rt.heap.i8 : rt.heap.u8;
    const d = dst >> 1;
    i16.fill(0, d, d + Cp * kH * J * 2);
    for (let o = 0; o < geo.M; o++) {
      const z = zw.length > 1 ? zw[o]! : zw[0]!;
      const block = d + Math.floor(o / DW_BLOCK) * kH * J * 16 + ((o >> 2) & 1) * 8 + (o & 3) * 2;
      for (let kh = 0; kh < kH; kh++) {
        for (let kw = 0; kw < kW; kw++) {
          i16[block + (kh * J + (kw >> 1)) * 16 + (kw & 1)] = w[src + (o * kH + kh) * kW + kw]! - z;
        }
      }
    }
    return;
  }
  const taps = geo.kH * geo.kW;
  // the IGEMM reads each tap's channels as whole pairs: an odd count gets one more
  // element per tap, equal to the zero point so that it packs to 0
  const padTaps = path === ConvPath.Igemm && geo.Cg % 2 === 1;
  const Kp = padTaps ? taps * (geo.Cg + 1) : K;
  const groupBytes = packedWeightBytes(rt, geo.Mg, Kp);
  rt.scoped((alloc) => {
    const zp = zw.length > 1 ? alloc(geo.M * 4) : 0;
    if (zp) rt.heap.i32.set(zw, zp >> 2);
    let from = src;
    if (padTaps) {
      from = alloc(geo.M * Kp, 'weights');
      const u8 = rt.heap.u8;
      for (let m = 0; m < geo.M; m++) {
        const z = (zw.length > 1 ? zw[m]! : zw[0]!) & 0xff;
        for (let t = 0; t < taps; t++) {
          const d = from + m * Kp + t * (geo.Cg + 1);
          u8.copyWithin(d, src + m * K + t * geo.Cg, src + m * K + (t + 1) * geo.Cg);
          u8[d + geo.Cg] = z;
        }
      }
    }
    for (let g = 0; g < geo.group; g++) {
      rt.kernels.pack_w_s16(
        from + g * geo.Mg * Kp,
        geo.Mg,
        Kp,
        Kp,
        1,
        signed ? 1 : 0,
        zw[0]!,
        zp ? zp + g * geo.Mg * 4 : 0,
        dst + g * groupBytes,
      );
    }
  });
}

/** Packs float32 weights [M, kH, kW, Cg] at `src` into `dst` for `path`. */
export function packConvWeightsF32(rt: Runtime, geo: ConvGeometry, path: ConvPath, src: number, dst: number): void {
  const K = geo.kH * geo.kW * geo.Cg;
  if (path === ConvPath.Depthwise) {
    const taps = geo.kH * geo.kW;
    const Cp = Math.ceil(geo.M / DW_BLOCK) * DW_BLOCK;
    const f32 = rt.heap.f32;
    const d = dst >> 2;
    const s = src >> 2;
    f32.fill(0, d, d + Cp * taps);
    for (let o = 0; o < geo.M; o++) {
      const base = d + Math.floor(o / 4) * taps * 4 + (o % 4);
      for (let t = 0; t < taps; t++) f32[base + t * 4] = f32[s + o * taps + t]!;
    }
    return;
  }
  const nr = rt.config.nr;
  const groupBytes = Math.ceil(geo.Mg / nr) * nr * K * 4;
  for (let g = 0; g < geo.group; g++) {
    rt.kernels.pack_w_f32(src + g * geo.Mg * K * 4, geo.Mg, K, K, 1, dst + g * groupBytes);
  }
}

/** Bytes of the per-group epilogue headers a GEMM path with groups needs. */
export function groupHeadersBytes(geo: ConvGeometry, path: ConvPath): number {
  return path !== ConvPath.Depthwise && geo.group > 1 ? geo.group * EPI_HEADER : 0;
}

/**
 * The epilogue parameter pointer a conv kernel takes: the block itself for one group or
 * depthwise (which indexes channels absolutely), else `group` copies of its header at
 * `headers`, each pointing at its group's columns, so the GEMM's column 0 is the group's
 * first output channel.
 */
export function epilogueFor(
  rt: Runtime,
  geo: ConvGeometry,
  path: ConvPath,
  epi: EpilogueParams | null,
  headers: number,
): number {
  if (epi === null) return 0;
  if (path === ConvPath.Depthwise || geo.group === 1) return epi.ptr;
  const i32 = rt.heap.i32;
  const src = epi.ptr >> 2;
  for (let g = 0; g < geo.group; g++) {
    const h = (headers >> 2) + g * (EPI_HEADER / 4);
    i32.copyWithin(h, src, src + EPI_HEADER / 4);
    // the per-column arrays (bias, multipliers, shifts) start at this group's columns; 0 means absent
    for (const f of EpilogueArrayFields) if (i32[h + f] !== 0) i32[h + f] = i32[h + f]! + g * geo.Mg * 4;
    for (const f of EpilogueArray8Fields) if (i32[h + f] !== 0) i32[h + f] = i32[h + f]! + g * geo.Mg * 8;
  }
  return headers;
}

/** The epilogue kind of a kernel call: int32 output when there is no requantization. */
export function epilogueKind(epi: EpilogueParams | null): EpilogueKind {
  return epi === null ? EpilogueKind.I32 : epi.kind;
}
