#!/usr/bin/env node
// `npx qwasm bench`: what int8, binary, SIMD and relaxed SIMD buy on this CPU, in under
// a minute. Every comparison is the ratio of two things timed in the same rounds
// (median over rounds of the per-round ratio), so a busy machine slows both sides.
//
//   qwasm bench           the quick kernel suite, as a table
//   qwasm bench --json    the same, as JSON on stdout
//   qwasm bench --full    the complete benny suites (bench/run.mjs, in a clone of the repository)
//
// The suite itself (`quickBench`) has no Node.js dependency: the browser page in
// examples/browser imports it from this file and runs it in the page.

const GEMM = { M: 64, K: 512, N: 512 };
const GEMV = { M: 1, K: 1024, N: 1024 };
const CONV = { N: 1, H: 28, W: 28, C: 64, O: 64, k: 3 };

/** Median of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds per call of `fn`, calling it until `minMs` have passed (at least once). */
function timeCalls(fn, minMs) {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    fn();
    calls++;
    t = performance.now();
  } while (t - t0 < minMs);
  return (t - t0) / 1000 / calls;
}

/** A deterministic stream of small integers for test data. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  };
}

const int8Data = (n, seed) => {
  const r = lcg(seed);
  return Int8Array.from({ length: n }, () => (r() - 128) | 0);
};
const f32Data = (n, seed) => {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => (r() - 128) / 128);
};

/** Cases of a comparison: each { make(engines) -> fn } built once, then timed in rounds. */
function gemmInt8(qw, { M, K, N }) {
  const fc = qw.linear({
    weights: { data: int8Data(N * K, 1), shape: [N, K] },
    weightScale: 0.01,
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
    activation: 'relu',
  });
  const x = int8Data(M * K, 2);
  const y = new Int8Array(M * N);
  return { run: () => fc.run(x, y), dispose: () => fc.dispose() };
}

function gemmF32(qw, { M, K, N }) {
  const fc = qw.linearF32({ weights: { data: f32Data(N * K, 1), shape: [N, K] }, activation: 'relu' });
  const x = f32Data(M * K, 2);
  const y = new Float32Array(M * N);
  return { run: () => fc.run(x, y), dispose: () => fc.dispose() };
}

function gemmBinary(qw, { M, K, N }) {
  const bl = qw.binaryLinear({ weights: { data: f32Data(N * K, 1), shape: [N, K] } });
  const bits = qw.bitpack({ data: f32Data(M * K, 2), shape: [M, K] });
  const y = { data: new Float32Array(M * N), shape: [M, N] };
  return { run: () => bl.run(bits, y), dispose: () => bl.dispose() };
}

const convPads = ({ k }) => {
  const p = (k - 1) >> 1;
  return [p, p, p, p];
};

function convInt8(qw, s) {
  const cv = qw.conv2d({
    weights: { data: int8Data(s.O * s.k * s.k * s.C, 3), shape: [s.O, s.k, s.k, s.C] },
    weightScale: 0.01,
    input: { scale: 0.02, zeroPoint: 0 },
    output: { scale: 0.5, zeroPoint: 0 },
    pads: convPads(s),
    activation: 'relu',
  });
  const x = { data: int8Data(s.N * s.H * s.W * s.C, 4), shape: [s.N, s.H, s.W, s.C] };
  const y = { data: new Int8Array(s.N * s.H * s.W * s.O), shape: [s.N, s.H, s.W, s.O] };
  return { run: () => cv.run(x, y), dispose: () => cv.dispose() };
}

function convF32(qw, s) {
  const cv = qw.conv2dF32({
    weights: { data: f32Data(s.O * s.k * s.k * s.C, 3), shape: [s.O, s.k, s.k, s.C] },
    pads: convPads(s),
    activation: 'relu',
  });
  const x = { data: f32Data(s.N * s.H * s.W * s.C, 4), shape: [s.N, s.H, s.W, s.C] };
  const y = { data: new Float32Array(s.N * s.H * s.W * s.O), shape: [s.N, s.H, s.W, s.O] };
  return { run: () => cv.run(x, y), dispose: () => cv.dispose() };
}

function convBinary(qw, s) {
  const cv = qw.binaryConv2d({
    weights: { data: f32Data(s.O * s.k * s.k * s.C, 3), shape: [s.O, s.k, s.k, s.C] },
    pads: convPads(s),
  });
  const bits = qw.bitpack({ data: f32Data(s.N * s.H * s.W * s.C, 4), shape: [s.N, s.H, s.W, s.C] });
  const y = { data: new Float32Array(s.N * s.H * s.W * s.O), shape: [s.N, s.H, s.W, s.O] };
  return { run: () => cv.run(bits, y), dispose: () => cv.dispose() };
}

const gemmShape = ({ M, K, N }) => `${M}x${K}x${N}`;
const convShape = (s) => `${s.H}x${s.W}x${s.C}->${s.O} ${s.k}x${s.k}`;
const gemmOps = ({ M, K, N }) => 2 * M * K * N;
const convOps = (s) => 2 * s.N * s.H * s.W * s.O * s.k * s.k * s.C;

/**
 * The comparisons of the quick suite. Each names its two sides as [build, case builder];
 * `needs` lists the engine methods both sides call (missing ones make it "not available").
 * @returns {{ group: string, name: string, shape: string, ops: number, fast: [string, (qw: any, shape: any) => any, any], slow: [string, (qw: any, shape: any) => any, any], needs: string[] }[]}
 */
function comparisons() {
  return [
    {
      group: 'int8 vs float32',
      name: 'GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['auto', gemmInt8, GEMM],
      slow: ['auto', gemmF32, GEMM],
      needs: ['linear', 'linearF32'],
    },
    {
      group: 'int8 vs float32',
      name: 'conv',
      shape: convShape(CONV),
      ops: convOps(CONV),
      fast: ['auto', convInt8, CONV],
      slow: ['auto', convF32, CONV],
      needs: ['conv2d', 'conv2dF32'],
    },
    {
      group: 'binary vs float32',
      name: 'GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['auto', gemmBinary, GEMM],
      slow: ['auto', gemmF32, GEMM],
      needs: ['binaryLinear', 'bitpack', 'linearF32'],
    },
    {
      group: 'binary vs float32',
      name: 'conv',
      shape: convShape(CONV),
      ops: convOps(CONV),
      fast: ['auto', convBinary, CONV],
      slow: ['auto', convF32, CONV],
      needs: ['binaryConv', 'bitpack', 'conv2dF32'],
    },
    {
      group: 'SIMD vs scalar',
      name: 'int8 GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['simd', gemmInt8, GEMM],
      slow: ['scalar', gemmInt8, GEMM],
      needs: ['linear'],
    },
    {
      group: 'SIMD vs scalar',
      name: 'float32 GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['simd', gemmF32, GEMM],
      slow: ['scalar', gemmF32, GEMM],
      needs: ['linearF32'],
    },
    {
      group: 'SIMD vs scalar',
      name: 'int8 conv',
      shape: convShape(CONV),
      ops: convOps(CONV),
      fast: ['simd', convInt8, CONV],
      slow: ['scalar', convInt8, CONV],
      needs: ['conv2d'],
    },
    {
      group: 'relaxed vs SIMD',
      name: 'int8 GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['relaxed', gemmInt8, GEMM],
      slow: ['simd', gemmInt8, GEMM],
      needs: ['linear'],
    },
    {
      group: 'relaxed vs SIMD',
      name: 'int8 GEMV',
      shape: gemmShape(GEMV),
      ops: gemmOps(GEMV),
      fast: ['relaxed', gemmInt8, GEMV],
      slow: ['simd', gemmInt8, GEMV],
      needs: ['linear'],
    },
    {
      group: 'relaxed vs SIMD',
      name: 'float32 GEMM',
      shape: gemmShape(GEMM),
      ops: gemmOps(GEMM),
      fast: ['relaxed', gemmF32, GEMM],
      slow: ['simd', gemmF32, GEMM],
      needs: ['linearF32'],
    },
  ];
}

const RELAXED_HINT = 'this host does not run relaxed SIMD exactly (Node 22+ and Chrome/Edge 114+ do)';

/**
 * Runs the quick suite with the qwasm module `qwasm` (what `import('qwasm')` returns).
 * Options: rounds (per comparison), minMs (per side per round), onProgress(done, total, label).
 * Returns { host, builds, auto, rows }: a row per comparison with its speedup (median of
 * per-round ratios), each side's median seconds per call and GOPS, or status
 * 'not available' and the reason.
 * @param {any} qwasm
 * @param {{ rounds?: number, minMs?: number, onProgress?: (done: number, total: number, label: string) => void }} [options]
 * @returns {Promise<{ builds: string[], auto: string, rounds: number, rows: any[] }>}
 */
export async function quickBench(qwasm, { rounds = 9, minMs = 80, onProgress } = {}) {
  const { Qwasm, supportedBackends } = qwasm;
  const builds = await supportedBackends();
  const engines = { auto: await Qwasm.create({ backend: 'auto' }) };
  for (const b of builds) engines[b] = await Qwasm.create({ backend: b });
  const list = comparisons();
  const rows = [];
  let done = 0;
  for (const c of list) {
    onProgress?.(done, list.length, `${c.group}: ${c.name}`);
    const row = {
      group: c.group,
      name: c.name,
      shape: c.shape,
      fastBuild: engines[c.fast[0]]?.backend ?? c.fast[0],
      slowBuild: engines[c.slow[0]]?.backend ?? c.slow[0],
    };
    const missingBuild = [c.fast[0], c.slow[0]].find((b) => !engines[b]);
    const missingOp = c.needs.find((m) => typeof engines.auto[m] !== 'function');
    if (missingBuild) {
      rows.push({
        ...row,
        status: 'not available',
        reason: missingBuild === 'relaxed' ? RELAXED_HINT : `this host cannot run the ${missingBuild} build`,
      });
    } else if (missingOp) {
      rows.push({ ...row, status: 'not available', reason: `this qwasm has no ${missingOp}() yet` });
    } else {
      let fast;
      let slow;
      try {
        fast = c.fast[1](engines[c.fast[0]], c.fast[2]);
        slow = c.slow[1](engines[c.slow[0]], c.slow[2]);
        fast.run();
        slow.run();
        const tf = [];
        const ts = [];
        for (let r = 0; r < rounds; r++) {
          tf.push(timeCalls(fast.run, minMs));
          ts.push(timeCalls(slow.run, minMs));
        }
        const fastSeconds = median(tf);
        const slowSeconds = median(ts);
        rows.push({
          ...row,
          status: 'ok',
          speedup: median(tf.map((t, i) => ts[i] / t)),
          fastSeconds,
          slowSeconds,
          fastGops: c.ops / fastSeconds / 1e9,
          slowGops: c.ops / slowSeconds / 1e9,
        });
      } catch (e) {
        rows.push({ ...row, status: 'not available', reason: `failed: ${e instanceof Error ? e.message : String(e)}` });
      } finally {
        fast?.dispose();
        slow?.dispose();
      }
    }
    done++;
  }
  onProgress?.(done, list.length, 'done');
  const auto = engines.auto.backend;
  for (const e of Object.values(engines)) e.dispose();
  return { builds, auto, rounds, rows };
}

/** The result of quickBench as an aligned plain-text table. */
export function formatBench(result) {
  const header = ['comparison', 'case', 'shape', 'speedup', 'fast', 'baseline'];
  const ms = (s) => `${(s * 1000).toFixed(3)} ms`;
  const rows = result.rows.map((r) =>
    r.status === 'ok'
      ? [
          r.group,
          r.name,
          r.shape,
          `${r.speedup.toFixed(2)}x`,
          `${ms(r.fastSeconds)} ${r.fastGops.toFixed(1)} GOPS`,
          `${ms(r.slowSeconds)} ${r.slowGops.toFixed(1)} GOPS`,
        ]
      : [r.group, r.name, r.shape, 'n/a', `not available: ${r.reason}`],
  );
  // a "not available" reason runs on past the last columns instead of widening them
  const widths = header.map((_, c) =>
    Math.max(
      ...[header, ...rows].filter((r) => c < r.length - 1 || r.length === header.length).map((r) => r[c].length),
    ),
  );
  const line = (r) =>
    r
      .map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : c === r.length - 1 ? cell : cell.padEnd(widths[c])))
      .join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- ONNX models (qwasm/onnx)

/** Parses `--name value` / `-o value` / `--flag` options after the positional arguments. */
function parseOptions(list) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (a === '-o') opts.output = list[++i];
    else if (a.startsWith('--')) {
      const v = list[i + 1];
      if (v === undefined || v.startsWith('-')) opts[a.slice(2)] = true;
      else {
        opts[a.slice(2)] = v;
        i++;
      }
    } else pos.push(a);
  }
  return { pos, opts };
}

/** Reads a .npy file (little-endian float32, float64, int8, uint8, int32 or int64; C order). */
export function readNpy(bytes) {
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== 'NUMPY') throw new Error('not a .npy file');
  const major = bytes[6];
  const hlen =
    major === 1 ? bytes[8] | (bytes[9] << 8) : bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .filter((v) => v.trim() !== '')
    .map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('Fortran-order .npy is not read');
  const body = bytes.slice(start + hlen);
  const types = {
    '<f4': Float32Array,
    '<f8': Float64Array,
    '|i1': Int8Array,
    '|u1': Uint8Array,
    '<i4': Int32Array,
    '<i8': BigInt64Array,
  };
  const T = types[descr];
  if (T === undefined) throw new Error(`.npy dtype ${descr} is not read`);
  let data = new T(body.buffer, 0, body.byteLength / T.BYTES_PER_ELEMENT);
  if (T === Float64Array) data = Float32Array.from(data);
  return { data, shape };
}

/** `--shape x=1,3,640,640;y=...` as { x: [1, 3, 640, 640] }. */
function parseShapes(spec) {
  if (typeof spec !== 'string') return undefined;
  /** @type {Record<string, number[]>} */
  const out = {};
  for (const part of spec.split(';')) {
    const [name, dims] = part.split('=');
    out[name] = dims.split(',').map(Number);
  }
  return out;
}

/**
 * Decodes an 8-bit, non-interlaced PNG (grey, grey + alpha, RGB or RGBA) to RGB bytes.
 * Enough for calibration pages; other images: convert them to PNG or to .npy first.
 */
export async function decodePng(bytes) {
  const { inflateSync } = await import('node:zlib');
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((v, i) => bytes[i] === v)) throw new Error('not a PNG file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  for (let at = 8; at < bytes.length;) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(at + 8);
      height = dv.getUint32(at + 12);
      const depth = body[8];
      const color = body[9];
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[color];
      if (depth !== 8 || channels === undefined || body[12] !== 0)
        throw new Error('only 8-bit non-interlaced grey / RGB / RGBA PNGs are read');
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? row[i - channels] : 0;
      const b = up[i];
      const c = i >= channels ? up[i - channels] : 0;
      let p = src[i];
      if (f === 1) p += a;
      else if (f === 2) p += b;
      else if (f === 3) p += (a + b) >> 1;
      else if (f === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a);
        const pb = Math.abs(q - b);
        const pc = Math.abs(q - c);
        p += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[i] = p & 255;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = px[i * channels + (channels < 3 ? 0 : c)];
  }
  return { width, height, rgb };
}

/** An RGB image resized (bilinear) to [1, 3, H, W] float32, normalized as (v / 255 - mean) / std. */
function imageTensor({ width, height, rgb }, H, W, mean, std) {
  const out = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(height - 1, Math.max(0, ((y + 0.5) * height) / H - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(width - 1, Math.max(0, ((x + 0.5) * width) / W - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(width - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const v = (r, q) => rgb[(r * width + q) * 3 + c];
        const top = v(y0, x0) * (1 - fx) + v(y0, x1) * fx;
        const bottom = v(y1, x0) * (1 - fx) + v(y1, x1) * fx;
        out[c * H * W + y * W + x] = ((top * (1 - fy) + bottom * fy) / 255 - mean[c]) / std[c];
      }
    }
  }
  return out;
}

/**
 * Calibration records from a folder (.npy arrays, or .png images resized to the input shape and
 * normalized with --mean / --std) or from a JS module whose default export is the records.
 */
async function calibrationFrom(source, model, shapes, opts, fs, path, url) {
  const stat = fs.statSync(source);
  if (stat.isDirectory()) {
    const name = model.inputs[0].name;
    const files = fs
      .readdirSync(source)
      .filter((f) => /\.(npy|png)$/i.test(f))
      .sort();
    if (files.length === 0) throw new Error(`${source} holds no .npy or .png files`);
    const shape = shapes?.[name] ?? model.inputs[0].shape;
    const nums = (v, d) => (typeof v === 'string' ? v.split(',').map(Number) : d);
    const mean = nums(opts.mean, [0.5, 0.5, 0.5]);
    const std = nums(opts.std, [0.5, 0.5, 0.5]);
    const records = [];
    for (const f of files) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(source, f)));
      if (/\.npy$/i.test(f)) records.push({ [name]: readNpy(bytes) });
      else {
        if (shape.slice(2).some((d) => typeof d !== 'number'))
          throw new Error(`give --shape ${name}=1,3,H,W to resize images`);
        const [, , H, W] = shape;
        records.push({ [name]: { data: imageTensor(await decodePng(bytes), H, W, mean, std), shape: [1, 3, H, W] } });
      }
    }
    return records;
  }
  const mod = await import(url.pathToFileURL(path.resolve(source)).href);
  const feeds = typeof mod.default === 'function' ? await mod.default() : mod.default;
  if (feeds === undefined) throw new Error(`${source} has no default export of input records`);
  return feeds;
}

/** A progress bar on stderr (only on a terminal). */
function progressBar(label) {
  const tty = process.stderr.isTTY;
  const started = performance.now();
  return (done, total) => {
    if (!tty) return;
    const width = 24;
    const full = total ? Math.round((done / total) * width) : done % (width + 1);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(
      `\r${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}${total ? '/' + total : ''} ${secs}s\x1b[K`,
    );
    if (total && done === total) process.stderr.write('\r\x1b[K');
  };
}

/** A deterministic input for every model input (for bench when no calibration is given). */
function syntheticFeeds(model, shapes, seed) {
  /** @type {Record<string, { data: Float32Array, shape: number[] }>} */
  const feeds = {};
  let s = seed;
  for (const i of model.inputs) {
    const shape = shapes?.[i.name] ?? i.shape;
    if (shape.some((d) => typeof d !== 'number'))
      throw new Error(`input ${i.name} has symbolic dims: give --shape ${i.name}=...`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[k] = (s >>> 8) / 2 ** 23 - 1;
    }
    feeds[i.name] = { data, shape };
  }
  return feeds;
}

const ONNX_HELP = [
  '  quantize model.onnx --calib <folder of .png / .npy | module.mjs> -o model.int8.onnx',
  '                 [--observer minmax|mse|percentile|entropy] [--per-tensor] [--keep-float a,b] [--shape x=1,3,H,W]',
  '                 [--mean 0.5,0.5,0.5 --std 0.5,0.5,0.5]   (.png pages: resized to the input, (v / 255 - mean) / std)',
  '  run model.onnx --input x=file.npy [--shape ...] [--profile] [--json]',
  '  bench model.onnx [--shape ...] [--calib ...] [--rounds 5]   float32 vs int8 on qwasm (and onnxruntime-web when installed)',
];

async function onnxCommand(command, rest) {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const url = await import('node:url');
  const { pos, opts } = parseOptions(rest);
  let qwasm;
  let onnx;
  try {
    qwasm = await import('../dist/index.js');
    onnx = await import('../dist/onnx/index.js');
  } catch (e) {
    console.error(`could not load qwasm from dist/ (in a clone, run \`npm run build\` first): ${e.message}`);
    return 1;
  }
  const file = pos[0];
  if (file === undefined) {
    console.error(`usage:\n${ONNX_HELP.join('\n')}`);
    return 1;
  }
  const qw = await qwasm.Qwasm.create({ threads: opts.threads === undefined ? 1 : Number(opts.threads) });
  const bytes = new Uint8Array(fs.readFileSync(file));
  const inputShapes = parseShapes(opts.shape);
  const t0 = performance.now();
  const model = onnx.OnnxModel.load(qw, bytes, { inputShapes });
  const loadMs = performance.now() - t0;
  const quantize = async (feeds) => {
    const bar = progressBar('calibrating');
    const total = Array.isArray(feeds) ? feeds.length : 0;
    const q = await model.quantize({
      calibration: feeds,
      observer: opts.observer,
      weights: opts['per-tensor'] ? 'per-tensor' : 'per-channel',
      keepFloat: typeof opts['keep-float'] === 'string' ? opts['keep-float'].split(',') : [],
      onProgress: (done) => bar(done, total),
    });
    if (!process.stderr.isTTY || total === 0) process.stderr.write('\n');
    return q;
  };
  if (command === 'quantize') {
    if (typeof opts.calib !== 'string' || typeof opts.output !== 'string') {
      console.error('quantize needs --calib <folder or module> and -o <output.onnx>');
      return 1;
    }
    const q = await quantize(await calibrationFrom(opts.calib, model, inputShapes, opts, fs, path, url));
    fs.writeFileSync(opts.output, q.toOnnx());
    const worst = [...q.report.nodes].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, 5);
    console.log(
      `${q.report.records} calibration records, ${q.report.int8Values} activations in int8; wrote ${opts.output}`,
    );
    console.log('lowest per-node SQNR against float32 (first record; errors accumulate along the graph):');
    for (const w of worst) console.log(`  ${w.sqnrDb.toFixed(1).padStart(6)} dB  ${w.node}`);
    return 0;
  }
  if (command === 'run') {
    /** @type {Record<string, any>} */
    const feeds = {};
    for (const spec of [opts.input].flat().filter((v) => typeof v === 'string')) {
      const [name, f] = spec.includes('=') ? spec.split('=') : [model.inputs[0].name, spec];
      feeds[name] = readNpy(new Uint8Array(fs.readFileSync(f)));
    }
    if (Object.keys(feeds).length === 0) Object.assign(feeds, syntheticFeeds(model, inputShapes, 1));
    if (opts.profile) {
      model.run(feeds);
      const steps = model.profile(feeds).sort((a, b) => b.ms - a.ms);
      const total = steps.reduce((a, s) => a + s.ms, 0);
      console.log(`${total.toFixed(2)} ms over ${steps.length} steps; slowest:`);
      for (const s of steps.slice(0, 25)) console.log(`  ${s.ms.toFixed(3).padStart(9)} ms  ${s.node}  ${s.op}`);
    }
    const y = model.run(feeds);
    for (const [name, t] of Object.entries(y)) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of t.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (opts.json) console.log(JSON.stringify({ name, shape: t.shape, data: Array.from(t.data) }));
      else console.log(`${name}: shape [${t.shape.join(', ')}] ${t.dtype}, min ${lo}, max ${hi}`);
    }
    return 0;
  }
  // bench
  const feeds = syntheticFeeds(model, inputShapes, 1);
  const calib =
    typeof opts.calib === 'string'
      ? await calibrationFrom(opts.calib, model, inputShapes, opts, fs, path, url)
      : [feeds];
  const q = await quantize(calib);
  const cases = { 'qwasm float32': async () => model.run(feeds), 'qwasm int8': async () => q.run(feeds) };
  try {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    const sf = await ort.InferenceSession.create(bytes);
    const sq = await ort.InferenceSession.create(q.toOnnx());
    const of = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.shape)]),
    );
    cases['onnxruntime-web float32'] = () => sf.run(of);
    cases['onnxruntime-web QDQ (exported)'] = () => sq.run(of);
  } catch {
    // onnxruntime-web not installed: qwasm only
  }
  const rounds = Number(opts.rounds ?? 5);
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const fn of Object.values(cases)) await fn();
  const bar = progressBar('bench');
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(cases)) {
      const s = performance.now();
      await fn();
      times[k].push(performance.now() - s);
    }
    bar(r + 1, rounds);
  }
  const os = await import('node:os');
  console.log(
    `${path.basename(file)}: ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${qw.backend} build, one thread`,
  );
  console.log(
    `load + plan ${loadMs.toFixed(0)} ms; arena ${(model.arenaBytes / 2 ** 20).toFixed(1)} MiB float32, ${(q.arenaBytes / 2 ** 20).toFixed(1)} MiB int8`,
  );
  const base = median(times['qwasm float32']);
  for (const [k, v] of Object.entries(times)) {
    const m = median(v);
    console.log(`  ${k.padEnd(32)} ${m.toFixed(2).padStart(9)} ms   ${(base / m).toFixed(2)}x of qwasm float32`);
  }
  console.log(`median of ${rounds} interleaved rounds; x = qwasm float32 time / this time.`);
  return 0;
}

async function main(argv) {
  const os = await import('node:os');
  const { existsSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const [command, ...rest] = argv;
  if (
    command === 'quantize' ||
    command === 'run' ||
    (command === 'bench' && rest[0] !== undefined && !rest[0].startsWith('-'))
  ) {
    try {
      return await onnxCommand(command, rest);
    } catch (e) {
      console.error(e.message);
      return 1;
    }
  }
  if (command !== 'bench') {
    const help = [
      'usage: qwasm bench [--json] [--full] | qwasm quantize | run | bench <model.onnx>',
      '',
      '  bench          int8 / binary vs float32, SIMD vs scalar and relaxed vs SIMD speedups on this CPU (<= 60 s)',
      '  bench --json   the same as JSON on stdout',
      '  bench --full   the complete benny suites (bench/run.mjs in a clone of the qwasm repository)',
      ...ONNX_HELP,
    ].join('\n');
    console.log(help);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 1;
  }
  if (rest.includes('--full')) {
    const run = new URL('../bench/run.mjs', import.meta.url);
    if (!existsSync(run)) {
      console.error(
        '--full needs bench/run.mjs, which lives in a clone of the qwasm repository (it is not in the npm package).',
      );
      return 1;
    }
    // the suites name each other relative to the repository root
    const cwd = new URL('../', import.meta.url);
    const passOn = rest.filter((a) => a !== '--full');
    return spawnSync(process.execPath, ['bench/run.mjs', ...passOn], { stdio: 'inherit', cwd }).status ?? 1;
  }
  const json = rest.includes('--json');
  let qwasm;
  try {
    qwasm = await import('../dist/index.js');
  } catch (e) {
    console.error(`could not load qwasm from dist/ (in a clone, run \`npm run build\` first): ${e.message}`);
    return 1;
  }
  const tty = !json && process.stderr.isTTY;
  const started = performance.now();
  const onProgress = (done, total, label) => {
    if (!tty) return;
    const width = 24;
    const full = Math.round((done / total) * width);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(
      `\rbench [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${secs}s ${label}\x1b[K`,
    );
    if (done === total) process.stderr.write('\r\x1b[K');
  };
  const result = await quickBench(qwasm, { onProgress });
  const host = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    runtime: `Node ${process.version}`,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  if (json) {
    console.log(JSON.stringify({ host, ...result }, null, 2));
    return 0;
  }
  console.log(`qwasm quick bench: ${host.cpu}, ${host.cores} cores, ${host.runtime}, one thread`);
  console.log(`builds this host runs: ${result.builds.join(', ')}; 'auto' picks ${result.auto}`);
  console.log('');
  console.log(formatBench(result));
  console.log('');
  console.log(
    `speedup = baseline time / fast time, median over ${result.rounds} interleaved rounds; GOPS counts a multiply-add as 2 ops.`,
  );
  console.log(`'int8 vs float32' and 'binary vs float32' run on the ${result.auto} build. ${host.seconds} s.`);
  return 0;
}

if (typeof process !== 'undefined' && process.argv?.[1]) {
  const { realpathSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  let invoked = '';
  try {
    invoked = realpathSync(process.argv[1]);
  } catch {
    invoked = process.argv[1];
  }
  if (invoked === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
}
