/**
 * Bounds the bytes of images held in memory at once (read from storage, encoded to Base64,
 * downscaled), so memory follows a budget rather than concurrency × luck. A request larger than
 * the whole budget is let through alone, so one huge image still gets processed.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];
  readonly limit: number;

  constructor(limitBytes: number) {
    if (!(limitBytes > 0)) throw new Error(`\`byteBudget\` must be a number > 0, got \`${limitBytes}\``);
    this.limit = limitBytes;
  }

  /** Waits until `bytes` fit, takes them, and returns the function that gives them back (call it once). */
  async acquire(bytes: number): Promise<() => void> {
    const n = Math.max(0, Math.min(bytes, this.limit));
    if (this.waiters.length === 0 && this.used + n <= this.limit) {
      this.used += n;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ bytes: n, resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      this.drain();
    };
  }

  /** Bytes held now. */
  get inUse(): number {
    return this.used;
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.bytes <= this.limit) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.resolve();
    }
  }
}
