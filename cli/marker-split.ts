/**
 * Splits a byte stream before each occurrence of a marker, holding only the piece being read (up to a cap):
 * CloudWatch Logs subscription envelopes written back to back start with `{"messageType":`, which no valid
 * JSON string can hold unescaped, so the split also finds the envelope after a broken one. Native searches,
 * each byte looked at a bounded number of times.
 */

export interface MarkedPiece {
  /** The piece's text (null when it is longer than the cap). */
  readonly text: string | null;
  /** Bytes in it. */
  readonly bytes: number;
}

export class MarkerSplitter {
  /** Bytes of the current piece (views of the chunks pushed); when dropped, only the last few are kept. */
  private parts: Buffer[] = [];
  /** Stream offset of parts[0][0]. */
  private partsStart = 0;
  /** Stream offset after the last byte pushed. */
  private end = 0;
  /** Stream offset where the current piece starts. */
  private pieceStart = 0;
  /** The current piece outgrew the cap: its bytes are not kept. */
  private dropped = false;
  /** The last bytes pushed (fewer than the marker's), for a marker that spans two chunks. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly marker: Buffer,
    private readonly maxBytes: number,
  ) {}

  /** Reads a chunk, which is kept (views of it): the caller must not write to it again. */
  push(chunk: Buffer, out: MarkedPiece[]): void {
    if (chunk.length === 0) return;
    const joined = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const joinedStart = this.end - this.tail.length;
    this.parts.push(chunk);
    this.end += chunk.length;
    for (let j = joined.indexOf(this.marker); j >= 0; j = joined.indexOf(this.marker, j + 1)) {
      const at = joinedStart + j;
      if (at > this.pieceStart) out.push(this.cut(at));
    }
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - (this.marker.length - 1))));
    if (this.end - this.pieceStart > this.maxBytes) this.drop();
  }

  /** The end of the input: the last piece. */
  finish(out: MarkedPiece[]): void {
    if (this.end > this.pieceStart) out.push(this.cut(this.end));
  }

  /** The piece [pieceStart, at); the parts keep [at, end). */
  private cut(at: number): MarkedPiece {
    const piece: Buffer[] = [];
    const rest: Buffer[] = [];
    let offset = this.partsStart;
    for (const part of this.parts) {
      const partEnd = offset + part.length;
      if (partEnd <= at) piece.push(part);
      else if (offset >= at) rest.push(part);
      else {
        piece.push(part.subarray(0, at - offset));
        rest.push(part.subarray(at - offset));
      }
      offset = partEnd;
    }
    const bytes = at - this.pieceStart;
    let text: string | null = null;
    if (!this.dropped)
      text = (piece.length === 1 ? (piece[0] as Buffer) : Buffer.concat(piece)).toString("utf8");
    this.parts = rest;
    this.partsStart = at;
    this.pieceStart = at;
    this.dropped = false;
    return { text, bytes };
  }

  /** Lets go of the current piece's bytes but the last few (a marker may begin there). */
  private drop(): void {
    this.dropped = true;
    const keep = Math.min(this.marker.length - 1, this.end - this.pieceStart);
    const kept: Buffer[] = [];
    let n = 0;
    for (let k = this.parts.length - 1; k >= 0 && n < keep; k--) {
      const part = this.parts[k] as Buffer;
      const take = Math.min(part.length, keep - n);
      kept.unshift(part.subarray(part.length - take));
      n += take;
    }
    this.parts = kept;
    this.partsStart = this.end - n;
  }
}
