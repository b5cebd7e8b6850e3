// Seeded generators for the adversarial suite: a small PRNG, awkward sizes and values,
// and the hostile objects (typed arrays whose length lies, getters that answer
// differently on a second read, proxies, detached buffers...). Every case is a pure
// function of (seed, campaign, index), so one failing case can be replayed alone.

/** The run's seed and size, overridable from the environment. */
export const SEED = Number(process.env.QWASM_FUZZ_SEED ?? 20261201) >>> 0;
/** Cases of the seeded campaigns (all files, both engines); each takes a share. About 45 s per Node version on 2 cores. */
export const TOTAL_CASES = Math.max(1, Number(process.env.QWASM_FUZZ_CASES ?? 120000));
/** `campaign:index` to run one case alone (its repro), e.g. QWASM_FUZZ_ONLY=matMulInteger:417. */
export const ONLY = process.env.QWASM_FUZZ_ONLY;

/** The cases a campaign runs: its share of TOTAL_CASES (at least 1). */
export function share(fraction: number): number {
  return Math.max(1, Math.round(TOTAL_CASES * fraction));
}

/** FNV-1a over a string, for per-campaign seeds. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** A seeded random source (mulberry32) with the helpers the generators use. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The generator of case `index` of `campaign` under `seed`. */
  static forCase(seed: number, campaign: string, index: number): Rng {
    return new Rng(hash(`${seed}:${campaign}:${index}`));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** A dimension: mostly small, often awkward (0, 1, tile +- 1, primes). */
  dim(max = 33, zeroOk = true): number {
    const awkward = [1, 1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17, 31, 32, 33].filter((d) => d <= max);
    if (zeroOk && this.bool(0.05)) return 0;
    return this.bool(0.6) ? this.pick(awkward) : this.int(1, max);
  }

  /** A scale: ordinary, tiny, huge or a power of two. */
  scale(): number {
    const r = this.next();
    if (r < 0.55) return Math.fround(0.001 + this.next() * 0.2);
    if (r < 0.7) return 2 ** this.int(-12, 4);
    if (r < 0.8) return Math.fround(10 ** this.int(-6, -3) * (1 + this.next()));
    if (r < 0.9) return Math.fround(1 + this.next() * 100);
    return Math.fround(this.next() * 1e-3 + 1e-7);
  }

  /** An integer in [lo, hi], biased towards the ends. */
  extremeInt(lo: number, hi: number): number {
    const r = this.next();
    if (r < 0.15) return lo;
    if (r < 0.3) return hi;
    if (r < 0.4) return 0 >= lo && 0 <= hi ? 0 : lo;
    return this.int(lo, hi);
  }

  /** Quantized values of a dtype: random, saturating, constant or alternating. */
  quant(n: number, signed: boolean): Int8Array | Uint8Array {
    const lo = signed ? -128 : 0;
    const hi = signed ? 127 : 255;
    const a = signed ? new Int8Array(n) : new Uint8Array(n);
    const mode = this.next();
    for (let i = 0; i < n; i++) {
      if (mode < 0.7) a[i] = this.int(lo, hi);
      else if (mode < 0.8) a[i] = hi;
      else if (mode < 0.87) a[i] = lo;
      else if (mode < 0.94) a[i] = i % 2 ? lo : hi;
      else a[i] = this.extremeInt(lo, hi);
    }
    return a;
  }

  /** Finite floats: ordinary, spread over magnitudes, or with exact halves. */
  floats(n: number, spread = 1): Float32Array {
    const a = new Float32Array(n);
    const mode = this.next();
    for (let i = 0; i < n; i++) {
      if (mode < 0.6) a[i] = (this.next() * 2 - 1) * spread;
      else if (mode < 0.75) a[i] = (this.next() * 2 - 1) * 10 ** this.int(-4, 3);
      else if (mode < 0.85) a[i] = this.int(-40, 40) / 2;
      else if (mode < 0.92) a[i] = this.pick([0, -0, 1, -1, 0.5, -0.5]);
      else a[i] = Math.abs(this.next() * spread);
    }
    return a;
  }

  /** Floats with NaN, infinities, huge and subnormal values sprinkled in. */
  hostileFloats(n: number): Float32Array {
    const a = this.floats(n);
    const specials = [NaN, Infinity, -Infinity, 3e38, -3e38, 1e-45, -1e-45, -0, 1e30];
    for (let i = 0; i < n; i++) if (this.bool(0.2)) a[i] = this.pick(specials);
    return a;
  }

  /** Random words (for bit tensors), padding bits included. */
  words(n: number): Uint32Array {
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.int(0, 0xffff) * 0x10000 + this.int(0, 0xffff);
    return a;
  }
}

// ---------------------------------------------------------------------------------
// Rendering a call as code, for repros

const names = new WeakMap<object, string>();

/** Registers how a hostile object is shown in a repro (read without touching its traps). */
export function named<T extends object>(obj: T, repr: string): T {
  names.set(obj, repr);
  return obj;
}

type AnyTyped =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array;

function showTyped(v: AnyTyped): string {
  const name = v.constructor.name;
  if (v.length === 0) return `new ${name}(0)`;
  if (v.length <= 12) {
    const items = Array.from(v as ArrayLike<number | bigint>, (x) =>
      typeof x === 'bigint' ? `${x}n` : Object.is(x, -0) ? '-0' : String(x),
    );
    return `${name}.of(${items.join(', ')})`;
  }
  let allSame = true;
  for (let i = 1; i < v.length && allSame; i++) allSame = Object.is(v[i], v[0]);
  if (allSame) return `new ${name}(${v.length}).fill(${String(v[0])})`;
  return `${name}[${v.length} seeded values]`;
}

/** Code-like text of an argument; hostile objects show their registered description. */
export function show(v: unknown, depth = 0): string {
  if (typeof v === 'object' && v !== null && names.has(v)) return names.get(v)!;
  if (typeof v === 'function' && names.has(v)) return names.get(v)!;
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'symbol') return 'Symbol()';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return 'function';
  if (ArrayBuffer.isView(v)) {
    if (v instanceof DataView) return `new DataView(${v.byteLength})`;
    return showTyped(v as AnyTyped);
  }
  if (Array.isArray(v)) return depth > 3 ? '[...]' : `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (depth > 3) return '{...}';
  const parts: string[] = [];
  for (const k of Object.keys(v as object)) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    parts.push(d.get ? `get ${k}()` : `${k}: ${show(d.value, depth + 1)}`);
  }
  return `{ ${parts.join(', ')} }`;
}

/** `t(data, shape)` in repros: a plain tensor. */
export function t<T>(data: T, shape: readonly number[]): { data: T; shape: number[] } {
  return { data, shape: [...shape] };
}

// ---------------------------------------------------------------------------------
// Hostile objects (class 1 and 2 of the brief)

type TypedCtor = new (n: number) => AnyTyped;

/** A typed-array subclass whose `length` getter lies. */
export function lyingLength<T extends AnyTyped>(ctor: new (n: number) => T, real: number, claimed: number): T {
  const Base = ctor as unknown as new (n: number) => Int8Array;
  const Liar = class extends Base {
    override get length(): number {
      return claimed;
    }
  };
  return named(
    new Liar(real) as unknown as T,
    `new (class extends ${ctor.name} { get length() { return ${claimed}; } })(${real})`,
  );
}

/** An object whose prototype is a typed array's, with an own length and indices. */
export function fakeTyped(ctor: TypedCtor, n: number, withLength = true): object {
  const o = Object.create(ctor.prototype) as Record<string, unknown>;
  if (withLength) {
    Object.defineProperty(o, 'length', { value: n });
    for (let i = 0; i < n; i++) o[i] = 1;
  }
  return named(o, `Object.create(${ctor.name}.prototype${withLength ? `, { length: ${n} }` : ''})`);
}

/** An array-like plain object. */
export function arrayLike(n: number): object {
  const o: Record<string, number> = { length: n };
  for (let i = 0; i < n; i++) o[i] = 1;
  return named(o, `{ length: ${n}, 0: 1, ... }`);
}

/** A Proxy around a real typed array (no traps). */
export function proxied<T extends object>(target: T): T {
  return named(new Proxy(target, {}), `new Proxy(${show(target)}, {})`);
}

/** A DataView over n bytes. */
export function dataView(n: number): DataView {
  return named(new DataView(new ArrayBuffer(n)), `new DataView(new ArrayBuffer(${n}))`);
}

/** A typed array whose buffer has been transferred away (detached: length 0). */
export function detached<T extends AnyTyped>(ctor: new (n: number) => T, n: number): T {
  const v = new ctor(n);
  structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  return named(v, `detached(new ${ctor.name}(${n}))`);
}

/** A view of `src`'s values at a byte offset inside a bigger buffer. */
export function offsetView<T extends AnyTyped>(src: T, pad = 3): T {
  const bpe = src.BYTES_PER_ELEMENT;
  const buf = new ArrayBuffer((src.length + 2 * pad) * bpe + 64);
  const C = src.constructor as new (b: ArrayBufferLike, o: number, n: number) => T;
  const v = new C(buf, pad * bpe, src.length);
  (v as unknown as { set(a: ArrayLike<unknown>): void }).set(src as unknown as ArrayLike<unknown>);
  // poison the bytes around the view: a reader ignoring byteOffset sees them
  new Uint8Array(buf, 0, pad * bpe).fill(0x5a);
  new Uint8Array(buf, (pad + src.length) * bpe).fill(0xa5);
  return named(v, `new ${src.constructor.name}(bigger.buffer, ${pad * bpe}, ${src.length}) /* = ${show(src)} */`);
}

/** The same values backed by a SharedArrayBuffer. */
export function sharedCopy<T extends AnyTyped>(src: T): T {
  const C = src.constructor as new (b: ArrayBufferLike) => T;
  const v = new C(new SharedArrayBuffer(src.byteLength));
  (v as unknown as { set(a: ArrayLike<unknown>): void }).set(src as unknown as ArrayLike<unknown>);
  return named(v, `shared(${show(src)})`);
}

/** A tensor whose `shape` getter answers `first` on the first read and `later` afterwards. */
export function flipShape<T>(data: T, first: number[], later: number[]): { data: T; shape: number[] } {
  let reads = 0;
  const o = {
    data,
    get shape(): number[] {
      return reads++ === 0 ? first : later;
    },
  };
  return named(o, `{ data: ${show(data)}, get shape() { return reads++ ? [${later}] : [${first}]; } }`);
}

/** A tensor whose `data` getter answers `first` on the first read and `later` afterwards. */
export function flipData<T>(first: T, later: T, shape: number[]): { data: T; shape: number[] } {
  let reads = 0;
  const o = {
    get data(): T {
      return reads++ === 0 ? first : later;
    },
    shape,
  };
  return named(o, `{ get data() { return reads++ ? ${show(later)} : ${show(first)}; }, shape: [${shape}] }`);
}

/** A shape array whose element `i` is a getter answering `first` then `later`. */
export function getterShape(shape: number[], i: number, later: number): number[] {
  const s = [...shape];
  let reads = 0;
  const first = shape[i]!;
  Object.defineProperty(s, i, {
    get: () => (reads++ === 0 ? first : later),
    enumerable: true,
  });
  return named(s, `[${shape.map((d, j) => (j === i ? `get ${first} then ${later}` : String(d))).join(', ')}]`);
}

/** A Proxy over a shape array answering `later` for index i after the first read. */
export function proxyShape(shape: number[], i: number, later: number): number[] {
  let reads = 0;
  const p = new Proxy([...shape], {
    get(target, key, recv) {
      if (key === String(i)) return reads++ === 0 ? target[i] : later;
      return Reflect.get(target, key, recv) as unknown;
    },
  });
  return named(p, `new Proxy([${shape}], { get: [${i}] -> ${shape[i]} then ${later} })`);
}

/** A Proxy over a tensor object whose `shape` flips after the first read. */
export function proxyTensor<T>(data: T, first: number[], later: number[]): { data: T; shape: number[] } {
  let reads = 0;
  const p = new Proxy(
    { data, shape: first },
    {
      get(target, key, recv) {
        if (key === 'shape') return reads++ === 0 ? first : later;
        return Reflect.get(target, key, recv) as unknown;
      },
    },
  );
  return named(p, `new Proxy({ data: ${show(data)}, shape }, { get shape: [${first}] then [${later}] })`);
}
