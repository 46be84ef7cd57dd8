/** A share of a {@link ByteBudget}: call it to give the share back. */
export type BudgetShare = (() => void) & {
  /** Gives back all but `bytes` of the share now (never waits); the rest goes back on the call. */
  keepOnly(bytes: number): void;
};

/**
 * Bounds the bytes of images held in memory at once (read from storage, encoded to Base64, and
 * decoded to 4 bytes a pixel where they are downscaled), so memory follows a budget rather than
 * concurrency × luck. A request larger than the whole budget is let through alone, so one huge
 * image still gets processed.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];
  readonly limit: number;

  constructor(limitBytes: number) {
    if (!(limitBytes > 0)) throw new Error(`\`byteBudget\` must be a number > 0, got \`${limitBytes}\``);
    this.limit = limitBytes;
  }

  /**
   * Waits until `bytes` fit, takes them, and returns the function that gives them back (call it
   * once). Its `keepOnly(n)` gives back all but `n` bytes at once, never waiting: a card that
   * needed room to decode an image for downscaling returns that room when the pixels are gone.
   */
  async acquire(bytes: number): Promise<BudgetShare> {
    const n = Math.max(0, Math.min(bytes, this.limit));
    if (this.waiters.length === 0 && this.used + n <= this.limit) {
      this.used += n;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ bytes: n, resolve }));
    }
    let held = n;
    let released = false;
    const giveBack = (keep: number): void => {
      if (released) return;
      const k = Math.max(0, Math.min(keep, held));
      this.used -= held - k;
      held = k;
      this.drain();
    };
    return Object.assign(
      () => {
        giveBack(0);
        released = true;
      },
      { keepOnly: giveBack },
    );
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
