// A progress bar for the demo, the trainer and the CLI. On a terminal it redraws one
// line on stderr; elsewhere (CI logs, pipes) it stays quiet until the end and then
// prints one line, so logs carry no carriage-return noise.

export class Progress {
  /** `total` steps of work named `label`. */
  constructor(label, total, stream = process.stderr) {
    this.label = label;
    this.total = Math.max(1, total);
    this.done = 0;
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.start = performance.now();
    this.lastDraw = 0;
    this.note = '';
    this.draw(true);
  }

  /** Advances by `n` steps; `note` is shown after the bar (e.g. a running loss). */
  tick(n = 1, note) {
    this.done = Math.min(this.total, this.done + n);
    if (note !== undefined) this.note = note;
    this.draw(false);
  }

  draw(force) {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100 && this.done < this.total) return;
    this.lastDraw = now;
    const width = 28;
    const frac = this.done / this.total;
    const full = Math.round(frac * width);
    const secs = ((now - this.start) / 1000).toFixed(1);
    const bar = '#'.repeat(full) + '.'.repeat(width - full);
    this.stream.write(
      `\r${this.label} [${bar}] ${String(Math.floor(frac * 100)).padStart(3)}% ${secs}s ${this.note}\x1b[K`,
    );
  }

  /** Ends the bar with one summary line. */
  finish(note = this.note) {
    this.done = this.total;
    this.note = note;
    const secs = ((performance.now() - this.start) / 1000).toFixed(1);
    if (this.tty) this.stream.write(`\r${this.label} done in ${secs}s ${note}\x1b[K\n`);
    else this.stream.write(`${this.label} done in ${secs}s ${note}\n`);
  }
}
