/**
 * CloudWatch Logs subscription data as Firehose writes it to S3: JSON envelopes
 * (`{"messageType":"DATA_MESSAGE","owner",...,"logEvents":[{"id","timestamp","message"}]}`) back to back, with
 * no delimiter or one per line. Envelopes are read one at a time (each held alone, up to MAX_LINE_BYTES): each
 * DATA_MESSAGE event's `message` is a record; CONTROL_MESSAGEs (health checks) hold none and are skipped. A
 * broken envelope is one malformed item, and the whole events in it are still read.
 */
import { ExportReader, isObject } from "./export-reader.js";
import { ENVELOPE_MARKER } from "./input-format.js";
import { JsonElementSplitter, type SplitEvent } from "./json-elements.js";
import { type MarkedPiece, MarkerSplitter } from "./marker-split.js";
import { MAX_LINE_BYTES } from "./record-assembler.js";

const CONTROL_START = '{"messageType":"CONTROL_MESSAGE"';

/** `envelope 3 event 2`: the naming of a subscription event (docs/scanner.md); lines mean nothing here. */
const eventAt = (envelope: number, event: number): string => `envelope ${envelope} event ${event}`;

export class FirehoseReader extends ExportReader {
  readonly units = "envelopes";
  private readonly splitter = new MarkerSplitter(Buffer.from(ENVELOPE_MARKER), MAX_LINE_BYTES);
  private readonly pieces: MarkedPiece[] = [];
  private envelopes = 0;

  get progress(): string {
    return `envelope ${this.envelopes}`;
  }

  push(bytes: Buffer): void {
    this.splitter.push(bytes, this.pieces);
    this.take();
  }

  finish(): void {
    this.splitter.finish(this.pieces);
    this.take();
  }

  private take(): void {
    for (const piece of this.pieces.splice(0)) {
      const text = piece.text?.trim();
      if (text === "") continue;
      const n = ++this.envelopes;
      if (text === undefined)
        this.malformed(0, `envelope ${n}`, `envelope longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`);
      else this.envelope(n, text);
    }
  }

  private envelope(n: number, text: string): void {
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      this.salvage(n, text);
      return;
    }
    const events = isObject(envelope) ? envelope.logEvents : undefined;
    if (isObject(envelope) && envelope.messageType === "CONTROL_MESSAGE") return;
    if (!isObject(envelope) || envelope.messageType !== "DATA_MESSAGE")
      this.malformed(0, `envelope ${n}`, "not a DATA_MESSAGE or CONTROL_MESSAGE envelope");
    else if (!Array.isArray(events)) this.malformed(0, `envelope ${n}`, "envelope has no logEvents array");
    else for (const [k, event] of events.entries()) this.event(n, k + 1, event);
  }

  private event(n: number, k: number, event: unknown): void {
    const message = isObject(event) ? event.message : undefined;
    if (typeof message === "string") this.readMessage(message, 0, eventAt(n, k));
    else this.malformed(0, eventAt(n, k), "event has no message");
  }

  /** A broken envelope (cut off, damaged): one malformed item, and the whole events before the damage read. */
  private salvage(n: number, text: string): void {
    this.malformed(
      0,
      `envelope ${n}`,
      "envelope is not valid JSON (cut off or damaged; the whole events in it are read)",
    );
    if (text.startsWith(CONTROL_START)) return;
    const events: SplitEvent[] = [];
    const splitter = new JsonElementSplitter("logEvents", MAX_LINE_BYTES);
    splitter.push(Buffer.from(text), events);
    let k = 0;
    for (const e of events) {
      if (e.kind !== "element") continue;
      k++;
      let event: unknown;
      try {
        event = JSON.parse(e.text ?? "");
      } catch {
        continue;
      }
      this.event(n, k, event);
    }
  }
}
