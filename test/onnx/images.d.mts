/** A [1, 3, H, W] float32 image of text-like lines on a white background, normalized as PaddleOCR does. */
export function textImage(shape: readonly number[], seed: number): Float32Array;
/** 10 log10(sum f^2 / sum (f - g)^2) in dB. */
export function sqnrDb(f: ArrayLike<number>, g: ArrayLike<number>): number;
