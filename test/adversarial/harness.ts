// The campaign runner: every case is a call with an expectation (a value equal to the
// scalar reference, a QwasmError naming one of the call's real arguments, or either).
// Around every call: a time budget (a hang is > 2 s), the caller's arrays compared with
// snapshots, the engine's goldens (a GEMM, a prepacked linear, a conv and a prepacked
// conv created before the campaign) computed again exactly, the heap's live bytes back
// at their baseline (no leak) and memoryBytes bounded. Failures are grouped by what went
// wrong, each with the shortest repro: seed, campaign:index and the call as code.
import { Qwasm, QwasmError } from '../../src/index.js';
import { ONLY, Rng, SEED } from './generators.js';
import { convAccRef, convGeometryRef, diffExact, matMulRef, requantFp32Ref, type ConvGeoRef } from './reference.js';
import { gemmNK } from '../reference/gemm.js';

/** What a case must do. */
export type Expect =
  /** Return a value the check accepts (null: accepted, else what is wrong). */
  | { kind: 'value'; check: (r: unknown) => string | null }
  /** Throw a QwasmError whose argument is one of `args` (default: the case's `allowed`). */
  | { kind: 'error'; args?: readonly string[] }
  /** Either of the two. */
  | { kind: 'either'; check: (r: unknown) => string | null; args?: readonly string[] };

export interface Case {
  /** The class of input, e.g. 'valid', 'zp-out-of-range', 'lying-length': failures group by it. */
  tag: string;
  /** The call as code. */
  repr: string;
  /** The call; a promise (runAsync) is awaited within the same time budget. */
  call: (qw: Qwasm) => unknown;
  expect: Expect;
  /** The real arguments (and attributes) of the call: a QwasmError must name one of them. */
  allowed: readonly string[];
  /** Caller arrays that must not change. */
  snapshots?: readonly ArrayBufferView[];
}

/** A hang: any call slower than this. */
export const HANG_MS = 2000;
/** memoryBytes may grow this much above its level after the warm-up. */
export const MEMORY_SLACK = 96 * 2 ** 20;

export function argOk(arg: unknown, allowed: readonly string[]): boolean {
  if (typeof arg !== 'string' || arg.length === 0) return false;
  return allowed.some((s) => arg === s || arg.startsWith(`${s}.`) || arg.startsWith(`${s}[`));
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The heap's live bytes (internal; undefined if the engine no longer exposes them). */
export function usedBytes(qw: Qwasm): number | undefined {
  const heap = (qw as unknown as { rt?: { heap?: { usedBytes?: unknown } } }).rt?.heap;
  return typeof heap?.usedBytes === 'number' ? heap.usedBytes : undefined;
}

/** Short text of an error, digits folded so failures of one kind group together. */
function errorText(e: unknown): string {
  const name = (e as { constructor?: { name?: string } })?.constructor?.name ?? typeof e;
  const msg = String((e as { message?: unknown })?.message ?? e);
  return `${name}: ${msg.slice(0, 90)}`;
}

function fold(s: string): string {
  return s.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/g, '#');
}

// ---------------------------------------------------------------------------------
// Goldens: what the engine must still compute exactly after every case

export class Golden {
  private readonly ga: Int8Array;
  private readonly gb: Uint8Array;
  private readonly wantMatMul: number[];
  private readonly linear: { run(x: Int8Array): Int8Array | Uint8Array; dispose(): void };
  private readonly lx: Int8Array;
  private readonly wantLinear: number[];
  private readonly cx: Uint8Array;
  private readonly cw: Int8Array;
  private readonly cbias: Int32Array;
  private readonly wantConv: number[];
  private readonly conv2d: {
    run(x: { data: Int8Array; shape: number[] }): { data: Int8Array | Uint8Array };
    dispose(): void;
  };
  private readonly dx: Int8Array;
  private readonly wantConv2d: number[];

  constructor(private readonly qw: Qwasm) {
    const r = new Rng(0x601d);
    // matMulInteger [7, 19] x [19, 11], zero points 3 and 250
    this.ga = r.quant(7 * 19, true) as Int8Array;
    this.gb = r.quant(19 * 11, false) as Uint8Array;
    this.wantMatMul = matMulRef(this.ga, [7, 19], this.gb, [19, 11], 3, [250])!.acc;
    // prepacked linear: N 13, K 37, per-channel scales, bias, M 5
    const lw = r.quant(13 * 37, true) as Int8Array;
    const ws = Array.from({ length: 13 }, () => Math.fround(0.001 + r.next() * 0.01));
    const lb = Int32Array.from({ length: 13 }, () => r.int(-5000, 5000));
    this.lx = r.quant(5 * 37, true) as Int8Array;
    const acc = gemmNK(this.lx, lw, 5, 13, 37, -7, [0]);
    this.wantLinear = Array.from(acc, (a, i) => requantFp32Ref(a + lb[i % 13]!, 0.05, ws[i % 13]!, 0.2, 4, -128, 127));
    this.linear = qw.linear({
      weights: { data: lw, shape: [13, 37] },
      weightScale: Float32Array.from(ws),
      bias: lb,
      input: { scale: 0.05, zeroPoint: -7 },
      output: { scale: 0.2, zeroPoint: 4 },
    });
    // qlinearConv NCHW x [1, 3, 7, 6] uint8, w [4, 3, 3, 3] int8, pads 1, stride [2, 1]
    this.cx = r.quant(3 * 7 * 6, false) as Uint8Array;
    this.cw = r.quant(4 * 27, true) as Int8Array;
    this.cbias = Int32Array.from({ length: 4 }, () => r.int(-3000, 3000));
    const attrs = {
      layout: 'NCHW' as const,
      strides: [2, 1] as [number, number],
      pads: [1, 1, 1, 1] as [number, number, number, number],
      dilations: [1, 1] as [number, number],
      group: 1,
      autoPad: 'NOTSET' as const,
    };
    const geo = convGeometryRef([1, 3, 7, 6], [4, 3, 3, 3], attrs) as ConvGeoRef;
    const cacc = convAccRef(geo, 'NCHW', this.cx, this.cw, 131, [0]);
    const plane = geo.OH * geo.OW;
    this.wantConv = cacc.map((a, i) =>
      requantFp32Ref(a + this.cbias[Math.floor(i / plane) % 4]!, 0.03, 0.004, 0.05, 120, 0, 255),
    );
    // prepacked conv2d NHWC x [2, 5, 6, 8] int8, depthwise-free 3x3, 6 outputs, pads 1
    const dw = r.quant(6 * 3 * 3 * 8, true) as Int8Array;
    this.dx = r.quant(2 * 5 * 6 * 8, true) as Int8Array;
    const dattrs = { ...attrs, layout: 'NHWC' as const, strides: [1, 1] as [number, number] };
    const dgeo = convGeometryRef([2, 5, 6, 8], [6, 3, 3, 8], dattrs) as ConvGeoRef;
    this.wantConv2d = convAccRef(dgeo, 'NHWC', this.dx, dw, 5, [0]).map((a) =>
      requantFp32Ref(a, 0.02, 0.01, 0.1, -3, -128, 127),
    );
    this.conv2d = qw.conv2d({
      weights: { data: dw, shape: [6, 3, 3, 8] },
      weightScale: 0.01,
      input: { scale: 0.02, zeroPoint: 5 },
      output: { scale: 0.1, zeroPoint: -3 },
      pads: [1, 1, 1, 1],
    });
  }

  /** null when the engine still computes every golden exactly, else what differs. */
  check(): string | null {
    try {
      const y = this.qw.matMulInteger({ data: this.ga, shape: [7, 19] }, { data: this.gb, shape: [19, 11] }, 3, 250);
      const d = diffExact(y.data, this.wantMatMul, 'golden matMulInteger');
      if (d) return d;
      const l = diffExact(this.linear.run(this.lx), this.wantLinear, 'golden linear.run');
      if (l) return l;
      const c = this.qw.qlinearConv(
        { data: this.cx, shape: [1, 3, 7, 6] },
        0.03,
        131,
        { data: this.cw, shape: [4, 3, 3, 3] },
        0.004,
        0,
        0.05,
        120,
        this.cbias,
        { strides: [2, 1], pads: [1, 1, 1, 1] },
      );
      const cd = diffExact(c.data, this.wantConv, 'golden qlinearConv');
      if (cd) return cd;
      const v = this.conv2d.run({ data: this.dx, shape: [2, 5, 6, 8] });
      return diffExact(v.data, this.wantConv2d, 'golden conv2d.run');
    } catch (e) {
      return `golden threw ${errorText(e)}`;
    }
  }

  dispose(): void {
    try {
      this.linear.dispose();
      this.conv2d.dispose();
    } catch {
      // a disposed or broken engine: nothing left to free
    }
  }
}

// ---------------------------------------------------------------------------------
// The engine under test

export class EngineUnderTest {
  qw!: Qwasm;
  golden!: Golden;
  /** Live heap bytes with only the goldens allocated. */
  baselineUsed: number | undefined;
  baselineBytes = 0;

  private constructor(readonly threads: number) {}

  static async create(threads: number): Promise<EngineUnderTest> {
    const e = new EngineUnderTest(threads);
    await e.start();
    return e;
  }

  async start(): Promise<void> {
    this.qw = await Qwasm.create({ threads: this.threads });
    this.golden = new Golden(this.qw);
    const g = this.golden.check();
    if (g !== null) throw new Error(`the goldens fail on a fresh engine: ${g}`);
    this.baselineUsed = usedBytes(this.qw);
    this.baselineBytes = this.qw.memoryBytes;
  }

  /** A fresh engine after corruption or runaway memory, so later cases still mean something. */
  async restart(): Promise<void> {
    this.golden.dispose();
    this.qw.dispose();
    await this.start();
  }

  dispose(): void {
    this.golden.dispose();
    this.qw.dispose();
  }
}

// ---------------------------------------------------------------------------------
// Running a campaign

export interface Failure {
  signature: string;
  repro: string;
  detail: string;
}

export interface CampaignResult {
  ran: number;
  /** Cases whose value was checked against the reference. */
  valuesChecked: number;
  errorsChecked: number;
  failures: Failure[];
}

/** Runs one case on the engine; returns its failures (empty when it behaved). */
export async function runCase(
  eut: EngineUnderTest,
  campaign: string,
  index: number,
  c: Case,
  label = `QWASM_FUZZ_SEED=${SEED} QWASM_FUZZ_ONLY=${campaign}:${index}`,
): Promise<{ failures: Failure[]; kind: 'value' | 'error' | 'other' }> {
  const out: Failure[] = [];
  const repro = `${label} (threads ${eut.threads}): ${c.repr}`;
  const fail = (what: string, detail: string) =>
    out.push({ signature: `${campaign}/${c.tag}: ${what}`, repro, detail });
  const before = (c.snapshots ?? []).map(bytesOf);
  let result: unknown;
  let error: unknown;
  let threw = false;
  const t0 = performance.now();
  try {
    result = c.call(eut.qw);
    if (result instanceof Promise) result = await result;
  } catch (e) {
    error = e;
    threw = true;
  }
  const dt = performance.now() - t0;
  if (dt > HANG_MS) fail('hang', `took ${dt.toFixed(0)} ms (budget ${HANG_MS} ms)`);
  let kind: 'value' | 'error' | 'other' = 'other';
  if (threw) {
    if (!(error instanceof QwasmError)) {
      fail(`threw ${fold(errorText(error))}`, errorText(error));
    } else if (c.expect.kind === 'value') {
      fail(`refused a valid call naming '${error.argument}'`, error.message);
    } else {
      const args = c.expect.args ?? c.allowed;
      if (!argOk(error.argument, args)) {
        fail(`QwasmError names '${error.argument}'`, `expected one of [${args.join(', ')}]: ${error.message}`);
      } else kind = 'error';
    }
  } else if (c.expect.kind === 'error') {
    fail(
      'accepted an invalid call',
      `returned instead of a QwasmError naming one of [${(c.expect.args ?? c.allowed).join(', ')}]`,
    );
  } else {
    let d: string | null;
    try {
      d = c.expect.check(result);
    } catch (e) {
      d = `the result could not be read: ${errorText(e)}`;
    }
    if (d !== null) fail('wrong answer', d);
    else kind = 'value';
  }
  (c.snapshots ?? []).forEach((v, i) => {
    if (!sameBytes(bytesOf(v), before[i]!))
      fail('mutated a caller array', `snapshot ${i} (${v.constructor.name}) changed`);
  });
  let restart = false;
  const g = eut.golden.check();
  if (g !== null) {
    fail('corrupted the engine', g);
    restart = true;
  }
  const used = usedBytes(eut.qw);
  if (!restart && used !== undefined && eut.baselineUsed !== undefined && used !== eut.baselineUsed) {
    fail(
      used > eut.baselineUsed ? 'leaked heap blocks' : 'freed blocks it did not own',
      `live heap bytes ${eut.baselineUsed} -> ${used}`,
    );
    eut.baselineUsed = used;
  }
  if (eut.qw.memoryBytes > eut.baselineBytes + MEMORY_SLACK) {
    fail('grew memory', `memoryBytes ${eut.baselineBytes} -> ${eut.qw.memoryBytes}`);
    restart = true;
  }
  if (restart) await eut.restart();
  return { failures: out, kind };
}

/** Runs `count` cases of a campaign (or the one QWASM_FUZZ_ONLY names). */
export async function runCampaign(
  eut: EngineUnderTest,
  campaign: string,
  count: number,
  gen: (r: Rng, index: number) => Case,
): Promise<CampaignResult> {
  const res: CampaignResult = { ran: 0, valuesChecked: 0, errorsChecked: 0, failures: [] };
  let indices: number[];
  if (ONLY !== undefined) {
    const [name, idx] = ONLY.split(':');
    indices = name === campaign ? [Number(idx)] : [];
  } else indices = Array.from({ length: count }, (_, i) => i);
  for (const i of indices) {
    const c = gen(Rng.forCase(SEED, campaign, i), i);
    const { failures, kind } = await runCase(eut, campaign, i, c);
    res.ran++;
    if (failures.length === 0 && kind === 'value') res.valuesChecked++;
    if (failures.length === 0 && kind === 'error') res.errorsChecked++;
    res.failures.push(...failures);
  }
  return res;
}

/** One line per distinct failure, with its count and shortest repro. */
export function report(failures: readonly Failure[]): string {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) {
    const k = fold(f.signature);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(f);
  }
  const lines: string[] = [];
  for (const fs of groups.values()) {
    const best = fs.reduce((a, b) => (b.repro.length < a.repro.length ? b : a));
    lines.push(`[${fs.length}x] ${best.signature}\n    ${best.detail}\n    repro: ${best.repro}`);
  }
  return lines.join('\n');
}

/** Whether the run is the full campaign (not a single QWASM_FUZZ_ONLY replay). */
export const FULL_RUN = ONLY === undefined;
