/**
 * Reads the few fields the rule needs from one Bedrock model-invocation log record, straight from its JSON
 * text. A single pass over the text that builds no objects for bodies: a 100 KB prompt or a streamed
 * response of hundreds of chunks is skipped, not parsed. Keys are matched structurally (only the record's own
 * `input.inputTokenCount`, never a look-alike inside a prompt or a caller-supplied body object).
 */
import { parseIsoTimestamp } from "./rule.js";

export interface InvocationRecord {
  readonly timestamp: string;
  readonly timestampMs: number;
  readonly accountId: string;
  /** Bedrock's id of the call: the same in every copy of a record (S3 and CloudWatch); null if absent. */
  readonly requestId: string | null;
  readonly identityArn: string | null;
  readonly modelId: string | null;
  readonly operation: string | null;
  readonly errorCode: string | null;
  /** `input.inputTokenCount`, when it is a non-negative integer. */
  readonly promptTokens: number | null;
  /** `output.outputTokenCount`, when it is a non-negative integer. */
  readonly completionTokens: number | null;
  /** `input.cacheReadInputTokenCount`: evidence only, not part of the rule. */
  readonly cacheReadTokens: number | null;
  /** `input.cacheWriteInputTokenCount`: evidence only, not part of the rule. */
  readonly cacheWriteTokens: number | null;
  /** Code points of the raw `input.inputBodyJson` text without insignificant whitespace; null if absent. */
  readonly requestSize: number | null;
}

/** `incomplete` means the text ended inside the document: a multi-line record may continue on the next line. */
export type ReadResult =
  | { readonly ok: true; readonly record: InvocationRecord }
  | { readonly ok: false; readonly reason: string; readonly incomplete?: boolean };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly incomplete = false,
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 512;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A cursor over JSON text with just enough of a parser to skip, measure and read scalars. */
class Scanner {
  pos = 0;
  /** Whitespace outside strings skipped while measuring a value (see measureCompact). */
  private skippedWs = 0;

  constructor(private readonly text: string) {}

  ws(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.skippedWs += p - this.pos;
    this.pos = p;
  }

  fail(what: string): never {
    if (this.pos >= this.text.length) throw new JsonSyntaxError("unexpected end of JSON", true);
    throw new JsonSyntaxError(`${what} at column ${this.pos + 1}`);
  }

  expect(code: number, what: string): void {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  peek(): number {
    this.ws();
    return this.text.charCodeAt(this.pos);
  }

  /** Skips a string starting at the opening quote; returns the raw text between the quotes. */
  rawString(): string {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== QUOTE) this.fail("expected a string");
    const start = this.pos + 1;
    let p = start;
    for (;;) {
      const q = t.indexOf('"', p);
      if (q < 0) {
        this.pos = t.length;
        this.fail("unterminated string");
      }
      let backslashes = 0;
      while (t.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) {
        this.pos = q + 1;
        return t.slice(start, q);
      }
      p = q + 1;
    }
  }

  string(): string {
    const raw = this.rawString();
    if (!raw.includes("\\")) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      this.pos -= raw.length + 1;
      return this.fail("invalid escape in string");
    }
  }

  number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail("invalid value");
    this.pos += m[0].length;
    return Number(m[0]);
  }

  literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) this.pos += word.length;
    else if (word.startsWith(this.text.slice(this.pos))) {
      this.pos = this.text.length;
      this.fail("truncated literal");
    } else this.fail("invalid value");
  }

  /** Skips any JSON value, validating its syntax. */
  skipValue(depth = 0): void {
    if (depth > MAX_DEPTH) this.fail("nested too deeply");
    const c = this.peek();
    if (c === QUOTE) this.rawString();
    else if (c === 0x7b) this.members(depth + 1, () => this.skipValue(depth + 1));
    else if (c === 0x5b) {
      this.pos++;
      if (this.peek() === 0x5d) {
        this.pos++;
        return;
      }
      for (;;) {
        this.skipValue(depth + 1);
        const next = this.peek();
        this.pos++;
        if (next === 0x5d) return;
        if (next !== 0x2c) {
          this.pos--;
          this.fail("expected , or ] in array");
        }
      }
    } else if (c === 0x74) this.literal("true");
    else if (c === 0x66) this.literal("false");
    else if (c === 0x6e) this.literal("null");
    else this.number();
  }

  /** Walks an object's members; `onMember` must consume the value. */
  members(depth: number, onMember: (key: string) => void): void {
    this.expect(0x7b, "{");
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.peek() !== QUOTE) this.fail("expected a key");
      const key = this.string();
      this.expect(0x3a, ":");
      this.ws();
      if (depth > MAX_DEPTH) this.fail("nested too deeply");
      onMember(key);
      const next = this.peek();
      this.pos++;
      if (next === 0x7d) return;
      if (next !== 0x2c) {
        this.pos--;
        this.fail("expected , or } in object");
      }
    }
  }

  /**
   * Skips a value and returns its length in code points as written, without whitespace outside strings:
   * the contract's request size. Escapes count as written (`\"` is 2), a surrogate pair counts once.
   */
  measureCompact(): number {
    this.ws();
    const start = this.pos;
    this.skippedWs = 0;
    this.skipValue();
    const units = this.pos - start - this.skippedWs;
    return units - countSurrogatePairs(this.text, start, this.pos);
  }

  /** measureCompact for a value that may be `null` (then null). */
  optionalMeasure(): number | null {
    if (this.peek() !== 0x6e) return this.measureCompact();
    this.skipValue();
    return null;
  }

  /** Reads a string value, or skips a non-string value and returns null. */
  optionalString(): string | null {
    if (this.peek() === QUOTE) return this.string();
    this.skipValue();
    return null;
  }

  /**
   * Reads a count: a JSON number written as a non-negative integer (`9000`; not `9000.0`, `9e3` or `-1`).
   * Anything else is skipped as missing, as the Logs Insights query's `\d+` patterns do.
   */
  optionalCount(): number | null {
    const c = this.peek();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = this.pos;
      const n = this.number();
      return Number.isSafeInteger(n) && /^\d+$/.test(this.text.slice(start, this.pos)) ? n : null;
    }
    this.skipValue();
    return null;
  }

  end(): void {
    this.ws();
    if (this.pos < this.text.length) this.fail("unexpected text after the record");
  }
}

function countSurrogatePairs(text: string, start: number, end: number): number {
  let pairs = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return pairs;
}

interface Fields {
  timestamp: string | null;
  accountId: string | null;
  requestId: string | null;
  identityArn: string | null;
  modelId: string | null;
  operation: string | null;
  errorCode: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  requestSize: number | null;
}

/** Reads one record from its JSON text (one log event, one JSON line, or a pretty-printed document). */
export function readRecord(text: string): ReadResult {
  const s = new Scanner(text);
  const f: Fields = {
    timestamp: null,
    accountId: null,
    requestId: null,
    identityArn: null,
    modelId: null,
    operation: null,
    errorCode: null,
    promptTokens: null,
    completionTokens: null,
    cacheReadTokens: null,
    cacheWriteTokens: null,
    requestSize: null,
  };
  try {
    if (s.peek() !== 0x7b) return { ok: false, reason: "not a JSON object" };
    s.members(1, (key) => {
      switch (key) {
        case "timestamp":
          f.timestamp = s.optionalString();
          break;
        case "accountId":
          f.accountId = s.optionalString();
          break;
        case "requestId":
          f.requestId = s.optionalString() || null;
          break;
        case "modelId":
          f.modelId = s.optionalString();
          break;
        case "operation":
          f.operation = s.optionalString();
          break;
        case "errorCode":
          f.errorCode = s.optionalString();
          break;
        case "identity":
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members(2, (k) => {
              if (k === "arn") f.identityArn = s.optionalString();
              else s.skipValue();
            });
          break;
        case "input":
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members(2, (k) => {
              // A null body is no body (offloaded or not delivered), like an absent one.
              if (k === "inputBodyJson") f.requestSize = s.optionalMeasure();
              else if (k === "inputTokenCount") f.promptTokens = s.optionalCount();
              else if (k === "cacheReadInputTokenCount") f.cacheReadTokens = s.optionalCount();
              else if (k === "cacheWriteInputTokenCount") f.cacheWriteTokens = s.optionalCount();
              else s.skipValue();
            });
          break;
        case "output":
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members(2, (k) => {
              if (k === "outputTokenCount") f.completionTokens = s.optionalCount();
              else s.skipValue();
            });
          break;
        default:
          s.skipValue();
      }
    });
    s.end();
  } catch (err) {
    if (err instanceof JsonSyntaxError)
      return { ok: false, reason: `invalid JSON: ${err.message}`, incomplete: err.incomplete };
    if (err instanceof RangeError) return { ok: false, reason: "invalid JSON: nested too deeply" };
    throw err;
  }
  if (f.timestamp === null) return { ok: false, reason: "record has no timestamp" };
  const timestampMs = parseIsoTimestamp(f.timestamp);
  if (timestampMs === null)
    return { ok: false, reason: `timestamp "${f.timestamp.slice(0, 40)}" is not ISO-8601` };
  if (f.accountId === null || f.accountId === "") return { ok: false, reason: "record has no accountId" };
  return { ok: true, record: { ...f, timestamp: f.timestamp, timestampMs, accountId: f.accountId } };
}

const EXPORT_PREFIX = /^\d{4}-\d{2}-\d{2}T\S+[ \t]+(?=\{)/;

/**
 * Strips the `<ISO timestamp> ` prefix of CloudWatch Logs export lines (`2026-11-20T10:00:00.000Z {json}`);
 * other lines are returned unchanged.
 */
export function stripExportPrefix(line: string): string {
  const c = line.charCodeAt(0);
  if (c < 0x30 || c > 0x39) return line;
  const m = EXPORT_PREFIX.exec(line);
  return m ? line.slice(m[0].length) : line;
}
