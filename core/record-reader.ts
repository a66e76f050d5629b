/**
 * Reads the few fields the rule needs from one Bedrock model-invocation log record, straight from its JSON
 * text. A single pass over the text that builds no objects for bodies: a 100 KB prompt or a streamed
 * response of hundreds of chunks is skipped, not parsed. Keys are matched structurally (only the record's own
 * `input.inputTokenCount`, never a look-alike inside a prompt or a caller-supplied body object). Follows the
 * contract's "Reading records": no depth limit, duplicate keys last-wins, counts of at most 15 digits, escapes
 * validated, raw control characters in strings tolerated.
 */
import { parseRecordTimestamp } from "./rule.js";

export interface InvocationRecord {
  readonly timestamp: string;
  /** Floor of the timestamp's exact instant in ms: comparisons with whole-millisecond bounds stay exact. */
  readonly timestampMs: number;
  readonly accountId: string;
  /** Bedrock's id of the call: the same in every copy of a record (S3 and CloudWatch); null if absent. */
  readonly requestId: string | null;
  readonly identityArn: string | null;
  readonly modelId: string | null;
  readonly operation: string | null;
  readonly errorCode: string | null;
  /** `input.inputTokenCount`, when it is an integer literal of at most 15 digits. */
  readonly promptTokens: number | null;
  /** `output.outputTokenCount`, likewise. */
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
/** A count per the contract: an integer literal of at most 15 digits (no sign, fraction or exponent). */
const COUNT = /^(?:0|[1-9]\d{0,14})$/;
const QUOTE = 0x22;
const OBJECT = 1;
const ARRAY = 2;
/** Characters allowed after a backslash, besides `u`. */
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
/** 1 at the char codes of SIMPLE_ESCAPES' keys. */
const SIMPLE_ESCAPE_CODES = new Uint8Array(0x80);
for (const k of Object.keys(SIMPLE_ESCAPES)) SIMPLE_ESCAPE_CODES[k.charCodeAt(0)] = 1;
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Decodes the raw text of a string whose escapes have been validated. */
export function decodeEscapes(raw: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const b = raw.indexOf("\\", i);
    if (b < 0) return out + raw.slice(i);
    out += raw.slice(i, b);
    const e = raw.charAt(b + 1);
    if (e === "u") {
      out += String.fromCharCode(Number.parseInt(raw.slice(b + 2, b + 6), 16));
      i = b + 6;
    } else {
      out += SIMPLE_ESCAPES[e] ?? "";
      i = b + 2;
    }
  }
}

/**
 * A cursor over JSON text with just enough of a parser to skip, measure and read scalars. Nothing recurses:
 * nesting is an explicit stack, so a caller's 10,000-level tool schema is just text to skip.
 */
class Scanner {
  pos = 0;
  /** Whitespace outside strings skipped while measuring a value (see measureCompact). */
  private skippedWs = 0;
  /** Index of the next backslash at or after the last string scanned (Infinity: none): keeps scans linear. */
  private nextBackslash = -1;
  /** Open containers of the value being skipped (OBJECT or ARRAY), innermost last. */
  private readonly stack: number[] = [];

  constructor(
    private readonly text: string,
    /** false: the exact walk only (the differential tests run both). */
    private readonly fast = true,
  ) {}

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
    if (this.text.charCodeAt(this.pos) <= 0x20) this.ws();
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  peek(): number {
    // Compact records have no whitespace between tokens: one comparison says so (all four are <= U+0020).
    const c = this.text.charCodeAt(this.pos);
    if (c > 0x20) return c;
    this.ws();
    return this.text.charCodeAt(this.pos);
  }

  /**
   * Skips a string starting at its opening quote and validates its escapes (`\q` is not JSON). Raw control
   * characters are accepted as written (the contract's one tolerance). Returns the index of the closing quote.
   * Fast path: a string without a backslash before its closing quote (keys, ids, most values) is two native
   * searches; anything else (escapes, an unterminated string) goes to the exact walk, which reports any error.
   */
  skipString(): number {
    if (!this.fast) return this.skipStringExact();
    const t = this.text;
    const start = this.pos + 1;
    const q = t.indexOf('"', start);
    if (q < 0) return this.skipStringExact();
    if (this.nextBackslash < start) {
      const b = t.indexOf("\\", start);
      this.nextBackslash = b < 0 ? Number.POSITIVE_INFINITY : b;
    }
    if (this.nextBackslash > q) {
      this.pos = q + 1;
      return q;
    }
    return this.skipStringExact(q);
  }

  /**
   * skipString, one escape at a time: exact, and the place of any error. Linear: the closing-quote candidate
   * and the next backslash are each searched again only once passed. `quote`: a known first quote after the
   * opening one, if any.
   */
  skipStringExact(quote = -1): number {
    const t = this.text;
    let p = this.pos + 1;
    let q = quote;
    let b = this.nextBackslash;
    for (;;) {
      if (q < p) {
        q = t.indexOf('"', p);
        if (q < 0) {
          this.pos = t.length;
          this.fail("unterminated string");
        }
      }
      if (b < p) {
        b = t.indexOf("\\", p);
        if (b < 0) b = Number.POSITIVE_INFINITY;
      }
      if (b > q) {
        this.nextBackslash = b;
        this.pos = q + 1;
        return q;
      }
      const e = t.charCodeAt(b + 1);
      if (e === 0x75) {
        for (let i = b + 2; i < b + 6; i++) {
          if (!isHex(t.charCodeAt(i))) {
            this.pos = Math.min(i, t.length);
            this.fail("invalid \\u escape in string");
          }
        }
        p = b + 6;
      } else if (e < 0x80 && SIMPLE_ESCAPE_CODES[e] === 1) p = b + 2;
      else {
        this.pos = b + 1;
        this.fail("invalid escape in string");
      }
    }
  }

  /** Reads a string (keys and the few values the rule needs: short). */
  string(): string {
    const start = this.pos + 1;
    const raw = this.text.slice(start, this.skipString());
    return raw.includes("\\") ? decodeEscapes(raw) : raw;
  }

  /** Skips a number; returns its literal. */
  number(): string {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail("invalid value");
    this.pos += m[0].length;
    return m[0];
  }

  literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) this.pos += word.length;
    else if (word.startsWith(this.text.slice(this.pos, this.pos + word.length))) {
      this.pos = this.text.length;
      this.fail("truncated literal");
    } else this.fail("invalid value");
  }

  private scalar(c: number): void {
    if (c === QUOTE) this.skipString();
    else if (c === 0x74) this.literal("true");
    else if (c === 0x66) this.literal("false");
    else if (c === 0x6e) this.literal("null");
    else this.number();
  }

  private key(): void {
    if (this.peek() !== QUOTE) this.fail("expected a key");
    this.skipString();
    this.expect(0x3a, ":");
  }

  /** Skips any JSON value, validating its syntax, without recursion. */
  skipValue(): void {
    const c = this.peek();
    if (c !== 0x7b && c !== 0x5b) {
      this.scalar(c);
      return;
    }
    const stack = this.stack;
    stack.length = 0;
    for (;;) {
      const v = this.peek();
      if (v === 0x7b || v === 0x5b) {
        this.pos++;
        const close = v === 0x7b ? 0x7d : 0x5d;
        if (this.peek() === close) this.pos++;
        else {
          stack.push(v === 0x7b ? OBJECT : ARRAY);
          if (v === 0x7b) this.key();
          continue;
        }
      } else this.scalar(v);
      // A value is complete: close what it completes, then move on to the next member or element.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return;
        const n = this.peek();
        if (n === 0x2c) {
          this.pos++;
          if (top === OBJECT) this.key();
          break;
        }
        if (n === (top === OBJECT ? 0x7d : 0x5d)) {
          this.pos++;
          stack.pop();
          continue;
        }
        this.fail(top === OBJECT ? "expected , or } in object" : "expected , or ] in array");
      }
    }
  }

  /** Walks an object's members; `onMember` must consume the value. Used only for the record's few levels. */
  members(onMember: (key: string) => void): void {
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
   * Reads a count: an integer literal of at most 15 digits (`9000`; not `9000.0`, `9e3`, `-1`, `"9000"` or a
   * 16-digit literal, which are valid JSON but missing counts).
   */
  optionalCount(): number | null {
    const c = this.peek();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const literal = this.number();
      return COUNT.test(literal) ? Number(literal) : null;
    }
    this.skipValue();
    return null;
  }

  end(): void {
    this.ws();
    if (this.pos < this.text.length) this.fail("unexpected text after the record");
  }
}

/** A high surrogate, then a low one: one code point in two UTF-16 units. */
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;
const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

function countSurrogatePairs(text: string, start: number, end: number): number {
  // Most bodies have no character outside the BMP: one native scan says so, no loop over code units.
  const value = text.slice(start, end);
  if (!HIGH_SURROGATE.test(value)) return 0;
  SURROGATE_PAIR.lastIndex = 0;
  let pairs = 0;
  while (SURROGATE_PAIR.exec(value) !== null) pairs++;
  return pairs;
}

/** The fields as read, before the checks that make them a record (see recordFrom). */
export interface Fields {
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
  return read(new Scanner(text));
}

/** readRecord on the exact walk alone (no fast string skip): for the differential tests. */
export function readRecordSlow(text: string): ReadResult {
  return read(new Scanner(text, false));
}

function read(s: Scanner): ReadResult {
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
    // A key seen twice: the last occurrence wins, as with JSON.parse, so each object member resets what it sets.
    s.members((key) => {
      switch (key) {
        case "timestamp":
          f.timestamp = s.optionalString();
          break;
        case "accountId":
          f.accountId = s.optionalString();
          break;
        case "requestId":
          f.requestId = s.optionalString();
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
          f.identityArn = null;
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members((k) => {
              if (k === "arn") f.identityArn = s.optionalString();
              else s.skipValue();
            });
          break;
        case "input":
          f.promptTokens = f.requestSize = f.cacheReadTokens = f.cacheWriteTokens = null;
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members((k) => {
              // A null body is no body (offloaded or not delivered), like an absent one.
              if (k === "inputBodyJson") f.requestSize = s.optionalMeasure();
              else if (k === "inputTokenCount") f.promptTokens = s.optionalCount();
              else if (k === "cacheReadInputTokenCount") f.cacheReadTokens = s.optionalCount();
              else if (k === "cacheWriteInputTokenCount") f.cacheWriteTokens = s.optionalCount();
              else s.skipValue();
            });
          break;
        case "output":
          f.completionTokens = null;
          if (s.peek() !== 0x7b) s.skipValue();
          else
            s.members((k) => {
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
    throw err;
  }
  return recordFrom(f);
}

/** The fields of a syntactically valid record, checked: a timestamp that is ISO-8601 and an accountId. */
export function recordFrom(f: Fields): ReadResult {
  if (f.timestamp === null) return { ok: false, reason: "record has no timestamp" };
  const timestampMs = parseRecordTimestamp(f.timestamp);
  if (timestampMs === null)
    return { ok: false, reason: `timestamp "${f.timestamp.slice(0, 40)}" is not ISO-8601` };
  if (f.accountId === null || f.accountId === "") return { ok: false, reason: "record has no accountId" };
  // A literal of one shape (a spread of `f` plus a new member costs microseconds: this runs per record).
  const record: InvocationRecord = {
    timestamp: f.timestamp,
    timestampMs,
    accountId: f.accountId,
    // An empty id identifies nothing: as if absent.
    requestId: f.requestId || null,
    identityArn: f.identityArn,
    modelId: f.modelId,
    operation: f.operation,
    errorCode: f.errorCode,
    promptTokens: f.promptTokens,
    completionTokens: f.completionTokens,
    cacheReadTokens: f.cacheReadTokens,
    cacheWriteTokens: f.cacheWriteTokens,
    requestSize: f.requestSize,
  };
  return { ok: true, record };
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
