/** The bytes of one value being collected across a stream's chunks, up to a cap (see the export readers). */
export class HeldBytes {
  private parts: Buffer[] = [];
  /** Bytes added since the last take, kept or not. */
  size = 0;
  /** More than `max` bytes were added: they were dropped as they came. */
  overflowed = false;

  constructor(private readonly max: number) {}

  /** Adds bytes; `bytes` is kept as it is (a view), so the caller must not write to it again. */
  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.overflowed) return;
    if (this.size > this.max) {
      this.overflowed = true;
      this.parts = [];
    } else this.parts.push(bytes);
  }

  /** The bytes held as UTF-8 text (null when they overflowed), and a fresh start. */
  take(): string | null {
    const parts = this.parts;
    const text = this.overflowed
      ? null
      : parts.length === 1
        ? (parts[0] as Buffer).toString("utf8")
        : Buffer.concat(parts).toString("utf8");
    this.parts = [];
    this.size = 0;
    this.overflowed = false;
    return text;
  }
}
