// Reading caller arguments once: options objects and descriptions of values for errors.
import { QwasmError, check } from './errors.js';

/** A short description of a value of unknown type for error messages (never throws). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object' && typeof v !== 'function') return typeof v === 'string' ? `'${v}'` : String(v);
  try {
    if (Array.isArray(v)) {
      const items =
        v.length <= 8 ? Array.from(v as unknown[], (x) => (Array.isArray(x) ? 'an array' : describe(x))) : [];
      return v.length <= 8 ? `[${items.join(', ')}]` : `an array of ${v.length}`;
    }
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
  } catch {
    return 'an object';
  }
}

/**
 * An options argument read once into a plain object (so getters run once); `null` and
 * `undefined` mean the defaults.
 */
export function readOptions<T extends object>(opts: T | null | undefined, name = 'opts'): Partial<T> {
  if (opts === null || opts === undefined) return {};
  check(typeof opts === 'object' && !Array.isArray(opts), name, () => `must be an object, got ${describe(opts)}`);
  try {
    return { ...opts };
  } catch (e) {
    throw new QwasmError(name, `reading it failed: ${e instanceof Error ? e.message : describe(e)}`);
  }
}

/**
 * A required object argument (a layer's config, a quantization spec) read once into a
 * plain object, so getters run once and nested checks see one answer.
 */
export function readObject<T extends object>(v: T | null | undefined, name: string, expected: string): T {
  check(
    typeof v === 'object' && v !== null && !Array.isArray(v),
    name,
    () => `expected ${expected}, got ${describe(v)}`,
  );
  try {
    return { ...v };
  } catch (e) {
    throw new QwasmError(name, `reading it failed: ${e instanceof Error ? e.message : describe(e)}`);
  }
}

/** 'an Int8Array', 'a Float32Array': a type name with its article, for messages. */
export function article(typeName: string): string {
  return `${/^[AEIOU]/.test(typeName) ? 'an' : 'a'} ${typeName}`;
}
