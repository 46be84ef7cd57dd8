/**
 * The one line a command keeps redrawn in place at the bottom of a terminal (a progress line). A
 * log line written for a person clears it, takes its place, and draws it again below.
 */
export const statusLine = {
  text: '',
  out: undefined as NodeJS.WriteStream | undefined,
  draw(out: NodeJS.WriteStream, text: string): void {
    this.out = out;
    this.text = text;
    out.write(`\r${text}\u001b[K`);
  },
  /** Leaves the last state on screen and moves on to a new line. */
  end(): void {
    if (this.out && this.text) this.out.write('\n');
    this.text = '';
    this.out = undefined;
  },
};
