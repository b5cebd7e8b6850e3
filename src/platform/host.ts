// What qwasm needs from the JavaScript host, written once for every host it runs on:
// Node.js, Deno and Bun (which all have Node's built-in modules), browsers and web
// workers. Node's modules are reached through `process.getBuiltinModule` and
// `globalThis.process`, never through an `import` or a free `process`, so no file of
// qwasm names a `node:` module: a bundler targeting the web (webpack 5, esbuild, Parcel,
// Rollup) has nothing to resolve, polyfill or mark external, and the same files run
// unbundled in a browser page.
import { QwasmError } from '../errors.js';

interface NodeProcess {
  versions: { node: string };
  getBuiltinModule?: (id: string) => unknown;
}

/** The host's `process` where it is Node.js or speaks its API (Deno, Bun); null in browsers. */
function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p === 'object' && p !== null && typeof p.versions?.node === 'string' ? (p as NodeProcess) : null;
}

/** True on hosts with Node's built-in modules (Node.js, Deno, Bun). */
export function hasNodeBuiltins(): boolean {
  return nodeProcess() !== null;
}

/**
 * A Node.js built-in module (`'node:os'`, ...). Only call where `hasNodeBuiltins()`.
 * Node.js before 20.16 has no `process.getBuiltinModule`: that is a QwasmError naming
 * the version needed, not a bundler-visible `import('node:…')`.
 */
export function nodeBuiltin<T>(id: string): T {
  const p = nodeProcess();
  if (p === null) throw new QwasmError('host', `${id} is only available on Node.js, Deno and Bun`);
  if (typeof p.getBuiltinModule !== 'function') {
    throw new QwasmError(
      'host',
      `Node.js ${p.versions.node} has no process.getBuiltinModule; qwasm needs Node.js 20.16 or later`,
    );
  }
  return p.getBuiltinModule(id) as T;
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

/**
 * The bytes at `url`: a `file:` URL is read with node:fs where the host has it, anything
 * else is fetched. Failures say which URL and why ("HTTP 404", "ENOENT ..."), never
 * "could not compile": a missing asset is a packaging problem, not a wasm one.
 */
export async function readBytes(url: URL): Promise<ArrayBuffer> {
  let res: Response;
  try {
    if (url.protocol === 'file:' && hasNodeBuiltins()) {
      const fs = nodeBuiltin<{ readFile(u: URL): Promise<Uint8Array> }>('node:fs/promises');
      const b = await fs.readFile(url);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }
    res = await fetch(url);
  } catch (e) {
    throw new QwasmError('wasm', `could not load ${url.href}: ${messageOf(e)}`);
  }
  if (!res.ok) throw new QwasmError('wasm', `could not load ${url.href}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** Cores the host reports. */
export function hostCores(): number {
  if (hasNodeBuiltins()) {
    const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}
