/**
 * Frames records in lines, per the contract's "Files" rules: one-line records, pretty-printed records held
 * until they close, and broken text that costs only itself (see RecordAssembler).
 */
import {
  type InvocationRecord,
  type ReadResult,
  readRecord,
  stripExportPrefix,
} from "../core/record-reader.js";

/**
 * What reading a file yields: a record, or a malformed line with its 1-based line number. Inside an export
 * format, `at` names the record's place instead (`record 17 (line 210)`, `envelope 3 event 2`; see
 * docs/scanner.md), and `line` is the line it starts on (0 where lines mean nothing).
 */
export type FileItem =
  | { readonly kind: "record"; readonly record: InvocationRecord }
  | { readonly kind: "malformed"; readonly line: number; readonly reason: string; readonly at?: string };

/**
 * How reports name a malformed item: `file:12` for a line (`lineOffset` lines before it), `file: record 3
 * (line 40)` inside an export.
 */
export const malformedAt = (name: string, item: { line: number; at?: string }, lineOffset = 0): string =>
  item.at === undefined ? `${name}:${lineOffset + item.line}` : `${name}: ${item.at}`;

/** A multi-line record is given up on past these sizes (a record is at most a few hundred KB). */
const MAX_HELD_CHARS = 16 * 1024 * 1024;
const MAX_HELD_LINES = 200_000;
/** Longer lines are reported as malformed without being held in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Index of the first and last non-whitespace character of a line (-1, -1 when blank). */
function span(text: string): [number, number] {
  let a = 0;
  let b = text.length - 1;
  while (a <= b && isWs(text.charCodeAt(a))) a++;
  while (b >= a && isWs(text.charCodeAt(b))) b--;
  return a > b ? [-1, -1] : [a, b];
}
const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/**
 * String-aware bracket counting over the lines of a held record, from one starting line. It finds where the
 * record closes, and notes nested objects that open at the start of a line and close at the end of one: a
 * record pretty-printed after broken text looks like such an object from the broken text's point of view.
 */
class Tracker {
  depth = 0;
  private inString = false;
  private escaped = false;
  /** Nested objects opened at the start of a line: line index and the depth before their `{`. */
  private readonly open: { line: number; depth: number }[] = [];
  /** Whether the last fed line's first `{` was read outside a string (so this tracker saw it open). */
  claimed = false;

  constructor(readonly start: number) {}

  /**
   * Feeds one line; returns the index where the outermost value closed, or -1. With `claim`, an object opening
   * at the line's first character is noted, and `onNested(startLine)` is called if it closes at the line end.
   */
  feed(text: string, line: number, claim: boolean, onNested: (start: number, end: number) => void): number {
    const [first, last] = span(text);
    this.claimed = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (claim && i === first && c === 0x7b && this.depth > 0) {
          this.open.push({ line, depth: this.depth });
          this.claimed = true;
        }
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        const top = this.open[this.open.length - 1];
        if (top !== undefined && top.depth >= this.depth) {
          this.open.pop();
          if (i === last && c === 0x7d) onNested(top.line, line);
        }
        if (this.depth <= 0) return i;
      }
    }
    return -1;
  }
}

/** A nested object spanning whole lines (indices into the held lines), with the ones nested in it. */
interface Range {
  readonly from: number;
  readonly to: number;
  readonly inner: Range[];
}

interface Held {
  /** The lines (export prefixes stripped); the first one is file line `startLine`. */
  lines: string[];
  startLine: number;
  chars: number;
  tracker: Tracker;
  /** Whole-line objects inside the held text, outermost first: read as records if the held text is broken. */
  ranges: Range[];
}

/**
 * Turns lines into records, per the contract's "Files" rules:
 * - a line that is by itself a complete record is read as one, whatever is held: the held text is one
 *   malformed line;
 * - a line that starts an object and ends inside it (a pretty-printed record at any indentation, zero
 *   included, or one wrapped over lines) is held until its outermost brace closes, then read once;
 * - held text is broken when it closes as something that is not a record, a complete record line interrupts
 *   it, a line that starts an object begins inside one of its strings (no record has a line break inside a
 *   string: the held text was cut inside one), the file ends, or it outgrows the caps. It counts as one
 *   malformed line, and the objects inside it that span whole lines and are records by themselves (one
 *   pretty-printed after a cut) are read.
 * Each line is scanned by one bracket counter, read alone at most once and as part of held text a bounded
 * number of times (recovery has a budget proportional to the held text): linear on any input.
 */
export class RecordAssembler {
  private held: Held | null = null;

  constructor(private readonly read: (text: string) => ReadResult = readRecord) {}

  /** Whether a multi-line record is held: false means the next line is read as if the file started there. */
  get holding(): boolean {
    return this.held !== null;
  }

  push(line: string, lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    const body = stripExportPrefix(line);
    const [first] = span(body);
    const startsObject = first >= 0 && body.charCodeAt(first) === 0x7b;
    const held = this.held;
    if (held) {
      if (startsObject) {
        const alone = this.read(body);
        if (alone.ok) {
          this.flush(out, "record is cut off");
          out.push({ kind: "record", record: alone.record });
          return out;
        }
      }
      if (this.continueHeld(held, body, startsObject, out)) return out;
      // The held text was cut inside a string: this line starts afresh.
      this.flush(out, "record is cut off");
    }
    if (first < 0) return out;
    if (!startsObject) {
      out.push({ kind: "malformed", line: lineNo, reason: "not a JSON object" });
      return out;
    }
    const alone = this.read(body);
    if (alone.ok) out.push({ kind: "record", record: alone.record });
    else if (alone.incomplete) {
      const tracker = new Tracker(0);
      tracker.feed(body, 0, false, () => {});
      this.held = { lines: [body], startLine: lineNo, chars: body.length, tracker, ranges: [] };
    } else out.push({ kind: "malformed", line: lineNo, reason: alone.reason });
    return out;
  }

  /** Feeds a line to the held text; false when the line starts an object inside one of its strings. */
  private continueHeld(held: Held, body: string, startsObject: boolean, out: FileItem[]): boolean {
    const li = held.lines.length;
    const addRange = (from: number, to: number) => {
      let k = held.ranges.length;
      while (k > 0 && (held.ranges[k - 1]?.from ?? -1) >= from) k--;
      held.ranges.push({ from, to, inner: held.ranges.splice(k) });
    };
    const closed = held.tracker.feed(body, li, startsObject, addRange);
    if (startsObject && !held.tracker.claimed && closed < 0) return false;
    held.lines.push(body);
    held.chars += body.length + 1;
    if (closed >= 0) {
      this.held = null;
      const result = this.read(held.lines.join("\n"));
      if (result.ok) out.push({ kind: "record", record: result.record });
      else {
        out.push({ kind: "malformed", line: held.startLine, reason: result.reason });
        this.recover(held, out);
      }
    } else if (held.chars > MAX_HELD_CHARS || held.lines.length > MAX_HELD_LINES) {
      this.flush(out, "record does not end");
    }
    return true;
  }

  /**
   * Reads the whole-line objects of broken held text, outermost first (breadth-first, so disjoint ones all
   * get read): one that is a record is read; one that is not gives way to those nested in it. The budget keeps
   * hostile nesting linear: each level costs at most the held text, and only a few levels fit.
   */
  private recover(held: Held, out: FileItem[]): void {
    let budget = 4 * held.chars + 1024;
    let level = held.ranges;
    while (level.length > 0) {
      const next: Range[] = [];
      for (const r of level) {
        const text = held.lines.slice(r.from, r.to + 1).join("\n");
        budget -= text.length;
        if (budget < 0) return;
        const result = this.read(text);
        if (result.ok) out.push({ kind: "record", record: result.record });
        else for (const inner of r.inner) next.push(inner);
      }
      level = next;
    }
  }

  /** Reports a line that was too long to read. */
  tooLong(lineNo: number): FileItem[] {
    const out: FileItem[] = [];
    this.flush(out, "record is cut off");
    out.push({
      kind: "malformed",
      line: lineNo,
      reason: `line longer than ${MAX_LINE_BYTES / 1024 / 1024} MB`,
    });
    return out;
  }

  end(): FileItem[] {
    const out: FileItem[] = [];
    this.flush(out, "record is cut off at the end of the file");
    return out;
  }

  /** Gives up the held text: one malformed line, plus the records found inside it. */
  private flush(out: FileItem[], reason: string): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    out.push({ kind: "malformed", line: held.startLine, reason });
    this.recover(held, out);
  }
}
