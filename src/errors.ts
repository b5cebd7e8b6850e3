/**
 * The one error type qwasm throws for bad input: a shape mismatch, a wrong dtype, a
 * non-positive scale, a zero point out of range, a size that does not fit. `argument`
 * names what was wrong, so callers can report it without parsing the message.
 *
 * @example
 * ```ts
 * try {
 *   qw.quantizeLinear(x, -1);
 * } catch (e) {
 *   if (e instanceof QwasmError) console.log(e.argument); // 'scale'
 * }
 * ```
 */
export class QwasmError extends Error {
  /** The argument (or attribute) that was wrong, e.g. `'scale'` or `'attrs.strides'`. */
  readonly argument: string;

  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.name = 'QwasmError';
    this.argument = argument;
  }
}

/**
 * Throws a QwasmError for `argument` unless `ok`. A message that describes a caller's
 * value is given as a function, so it is built only on failure: describing reads the
 * value again, and a getter must be read once.
 */
export function check(ok: boolean, argument: string, message: string | (() => string)): asserts ok {
  if (!ok) throw new QwasmError(argument, typeof message === 'string' ? message : message());
}
