// The toolkit's optional arguments: `null` means the default, as `undefined` does.
import { check } from '../errors.js';
import { describe } from '../args.js';

/** `null` read as "not given", like `undefined`. */
export function given<T>(v: T | null | undefined): T | undefined {
  return v === null ? undefined : v;
}

/** A boolean option: `null` / `undefined` give `dflt`; anything but a boolean is a QwasmError. */
export function readBoolean(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  check(typeof v === 'boolean', name, () => `must be true or false, got ${describe(v)}`);
  return v;
}
