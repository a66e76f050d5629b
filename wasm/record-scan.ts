// AssemblyScript, compiled to WebAssembly by scripts/build-wasm.mjs (`npm run build:wasm`); the bytes are
// embedded in cli/record-scan-wasm.ts. The fast path of the record reader (core/record-reader.ts is the
// reference): it reads the rule's fields from many JSON lines per call, with 16-byte SIMD over string
// interiors. It never decides that a line is malformed: anything it is not sure of (a key with an escape, a
// line not starting with `{`, a nesting deeper than its stack, any syntax error) is reported as FALLBACK and
// read by the reference reader, so that a line it does read is read exactly as the reference reads it.
// Code points are counted as bytes that are not 10xxxxxx, right for UTF-8 only: the caller takes a line read here
// when it is ASCII (SLOT_NON_ASCII) or passes the caller's UTF-8 check.
// Biome's noDoubleEquals and noPrecisionLoss are off for this folder: in AssemblyScript `==` compares values
// of one type and u64 literals are exact.

/** Result slots per line (f64): see the SLOT_ constants, mirrored in cli/line-reader.ts. */
const SLOTS: i32 = 24;
const SLOT_STATUS: i32 = 0;
const SLOT_LINE_START: i32 = 1;
const SLOT_LINE_END: i32 = 2;
const SLOT_TIMESTAMP: i32 = 3; // start, end of the raw string (between its quotes); -1 when null
const SLOT_ACCOUNT: i32 = 5;
const SLOT_REQUEST_ID: i32 = 7;
const SLOT_ARN: i32 = 9;
const SLOT_MODEL: i32 = 11;
const SLOT_OPERATION: i32 = 13;
const SLOT_ERROR_CODE: i32 = 15;
const SLOT_PROMPT: i32 = 17; // counts: -1 when null
const SLOT_COMPLETION: i32 = 18;
const SLOT_CACHE_READ: i32 = 19;
const SLOT_CACHE_WRITE: i32 = 20;
const SLOT_REQUEST_SIZE: i32 = 21;
const SLOT_NON_ASCII: i32 = 22; // 1: the line may have a byte >= 0x80 (its UTF-8 is then checked by the caller)

const OK: f64 = 0;
const FALLBACK: f64 = 1;
const BLANK: f64 = 2;

/** Memory: [0, 64K) static data, then the results, the skip stack, then the input (+16 bytes of padding). */
const RESULTS: usize = 65536;
export const MAX_LINES: i32 = 4096;
const STACK: usize = RESULTS + <usize>(MAX_LINES * SLOTS * 8);
const MAX_DEPTH: usize = 65536;
const INPUT: usize = STACK + MAX_DEPTH;

export function inputOffset(): usize {
  return INPUT;
}
export function resultsOffset(): usize {
  return RESULTS;
}

/** Grows memory so that `bytes` of input (plus padding) fit. */
export function reserve(bytes: usize): void {
  const need = INPUT + bytes + 64;
  const have = (<usize>memory.size()) << 16;
  if (need > have) memory.grow(<i32>((need - have + 0xffff) >> 16));
}

// The cursor of the line being read.
let pos: usize = 0;
let end: usize = 0;
let bad: bool = false;
/**
 * Bit 0x80 set: a string byte (of a key or a value) >= 0x80 since the line began. JSON has such bytes only in
 * strings (anywhere else the line is a syntax error), so a line read without one is ASCII, which is valid UTF-8.
 * Whole 16-byte blocks are looked at, a few bytes past a string's end too: it may say non-ASCII of an ASCII line,
 * never the reverse.
 */
let high: u32 = 0;
/** Whitespace outside strings skipped since the last reset (the request size leaves it out). */
let ws: usize = 0;

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;

/** JSON whitespace but the LF, which ends the line (the cursor's `end` is the region's, not the line's). */
function isWs(c: u32): bool {
  return c == 0x20 || c == 0x0d || c == 0x09;
}

/** The next byte after whitespace: an LF at the end of the line, 0x100 at the end of the region. */
function peek(): u32 {
  // Compact JSON has no whitespace between tokens: one comparison says so (all of it is <= 0x20).
  if (pos < end) {
    const c = <u32>load<u8>(pos);
    if (c > 0x20) return c;
  }
  return peekAfterWhitespace();
}

function peekAfterWhitespace(): u32 {
  let p = pos;
  while (p < end && isWs(<u32>load<u8>(p))) p++;
  ws += p - pos;
  pos = p;
  return p < end ? <u32>load<u8>(p) : 0x100;
}

function isHex(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 6;
}

/** Skips a string at its opening quote, validating its escapes; raw control characters are accepted. */
function skipString(): void {
  let p = pos + 1;
  const quotes = i8x16.splat(0x22);
  const slashes = i8x16.splat(0x5c);
  const lfs = i8x16.splat(0x0a);
  let bytes = i8x16.splat(0);
  for (;;) {
    // The next quote, backslash or LF (the end of the line: the string is cut), 16 bytes at a time.
    let found = false;
    while (p + 16 <= end) {
      const v = v128.load(p);
      bytes = v128.or(bytes, v);
      const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quotes), i8x16.eq(v, slashes)), i8x16.eq(v, lfs)));
      if (m != 0) {
        p += <usize>ctz(m);
        found = true;
        break;
      }
      p += 16;
    }
    if (!found) {
      while (p < end) {
        const c = <u32>load<u8>(p);
        high |= c;
        if (c == QUOTE || c == BACKSLASH || c == 0x0a) break;
        p++;
      }
      if (p >= end) {
        bad = true;
        return;
      }
    }
    const c = <u32>load<u8>(p);
    if (c == QUOTE) {
      if (i8x16.bitmask(bytes) != 0) high |= 0x80;
      pos = p + 1;
      return;
    }
    if (c == 0x0a || p + 1 >= end) {
      bad = true;
      return;
    }
    const e = <u32>load<u8>(p + 1);
    if (e == 0x75) {
      if (p + 6 > end) {
        bad = true;
        return;
      }
      if (
        !isHex(<u32>load<u8>(p + 2)) ||
        !isHex(<u32>load<u8>(p + 3)) ||
        !isHex(<u32>load<u8>(p + 4)) ||
        !isHex(<u32>load<u8>(p + 5))
      ) {
        bad = true;
        return;
      }
      p += 6;
    } else if (isSimpleEscape(e)) {
      p += 2;
    } else {
      bad = true;
      return;
    }
  }
}

/** `"` and `/` (below 0x40), then `\\ b f n r t` (0x40 to 0x7f), as bits: one test per escape. */
const ESCAPES_LOW: u64 = ((<u64>1) << 0x22) | ((<u64>1) << 0x2f);
const ESCAPES_HIGH: u64 =
  ((<u64>1) << (0x5c - 0x40)) |
  ((<u64>1) << (0x62 - 0x40)) |
  ((<u64>1) << (0x66 - 0x40)) |
  ((<u64>1) << (0x6e - 0x40)) |
  ((<u64>1) << (0x72 - 0x40)) |
  ((<u64>1) << (0x74 - 0x40));

/** The characters allowed after a backslash, besides `u`. */
function isSimpleEscape(e: u32): bool {
  if (e < 0x40) return ((ESCAPES_LOW >> <u64>e) & 1) != 0;
  return e < 0x80 && ((ESCAPES_HIGH >> <u64>(e - 0x40)) & 1) != 0;
}

function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/**
 * Skips a number per JSON's grammar, the reference's `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`; returns the
 * value when it is a count (an integer literal of at most 15 digits), else -1.
 */
function number(): f64 {
  let p = pos;
  let count = true;
  if (p < end && load<u8>(p) == 0x2d) {
    count = false;
    p++;
  }
  if (p >= end || !isDigit(<u32>load<u8>(p))) {
    bad = true;
    return -1;
  }
  const digits = p;
  let value: f64 = 0;
  if (load<u8>(p) == 0x30) p++;
  else
    while (p < end && isDigit(<u32>load<u8>(p))) {
      value = value * 10 + <f64>(<u32>load<u8>(p) - 0x30);
      p++;
    }
  if (p - digits > 15) count = false;
  if (p + 1 < end && load<u8>(p) == 0x2e && isDigit(<u32>load<u8>(p + 1))) {
    count = false;
    p += 2;
    while (p < end && isDigit(<u32>load<u8>(p))) p++;
  }
  if (p < end && (load<u8>(p) | 0x20) == 0x65) {
    let q = p + 1;
    if (q < end && (load<u8>(q) == 0x2b || load<u8>(q) == 0x2d)) q++;
    if (q < end && isDigit(<u32>load<u8>(q))) {
      count = false;
      p = q + 1;
      while (p < end && isDigit(<u32>load<u8>(p))) p++;
    }
  }
  pos = p;
  return count ? value : -1;
}

function literal(c: u32): void {
  // true, false, null: compared byte by byte.
  if (c == 0x74) {
    if (pos + 4 <= end && load<u32>(pos) == 0x65757274) {
      pos += 4;
      return;
    }
  } else if (c == 0x66) {
    if (pos + 5 <= end && load<u32>(pos) == 0x736c6166 && load<u8>(pos + 4) == 0x65) {
      pos += 5;
      return;
    }
  } else if (c == 0x6e) {
    if (pos + 4 <= end && load<u32>(pos) == 0x6c6c756e) {
      pos += 4;
      return;
    }
  }
  bad = true;
}

function scalar(c: u32): void {
  if (c == QUOTE) skipString();
  else if (c == 0x74 || c == 0x66 || c == 0x6e) literal(c);
  else number();
}

/** A key and its colon. */
function skipKey(): void {
  if (peek() != QUOTE) {
    bad = true;
    return;
  }
  skipString();
  if (bad) return;
  if (peek() != 0x3a) {
    bad = true;
    return;
  }
  pos++;
}

/** Skips any JSON value without recursion (explicit stack: 1 object, 2 array). */
function skipValue(): void {
  const c = peek();
  if (c != 0x7b && c != 0x5b) {
    scalar(c);
    return;
  }
  let depth: usize = 0;
  for (;;) {
    const v = peek();
    if (v == 0x7b || v == 0x5b) {
      pos++;
      const close: u32 = v == 0x7b ? 0x7d : 0x5d;
      if (peek() == close) pos++;
      else {
        if (depth >= MAX_DEPTH) {
          bad = true;
          return;
        }
        store<u8>(STACK + depth, v == 0x7b ? 1 : 2);
        depth++;
        if (v == 0x7b) {
          skipKey();
          if (bad) return;
        }
        continue;
      }
    } else {
      scalar(v);
      if (bad) return;
    }
    // A value is complete: close what it completes, then go on to the next member or element.
    for (;;) {
      if (depth == 0) return;
      const top = <u32>load<u8>(STACK + depth - 1);
      const n = peek();
      if (n == 0x2c) {
        pos++;
        if (top == 1) {
          skipKey();
          if (bad) return;
        }
        break;
      }
      if (n == (top == 1 ? <u32>0x7d : <u32>0x5d)) {
        pos++;
        depth--;
        continue;
      }
      bad = true;
      return;
    }
  }
}

/** Bytes that are not the start of a UTF-8 sequence (10xxxxxx) in [from, to). */
function continuationBytes(from: usize, to: usize): usize {
  let n: usize = 0;
  let p = from;
  const limit = i8x16.splat(-64);
  while (p + 16 <= to) {
    n += <usize>popcnt(i8x16.bitmask(i8x16.lt_s(v128.load(p), limit)));
    p += 16;
  }
  while (p < to) {
    if (<i8>load<u8>(p) < -64) n++;
    p++;
  }
  return n;
}

/** Code points of a value as written, without whitespace outside strings: the request size. */
function measure(): f64 {
  peek();
  const start = pos;
  ws = 0;
  skipValue();
  if (bad) return -1;
  return <f64>(pos - start - ws - continuationBytes(start, pos));
}

// Key ids: the keys the reader looks at, found by length and bytes.
const K_OTHER = 0;
const K_TIMESTAMP = 1;
const K_ACCOUNT = 2;
const K_REQUEST_ID = 3;
const K_MODEL = 4;
const K_OPERATION = 5;
const K_ERROR_CODE = 6;
const K_IDENTITY = 7;
const K_INPUT = 8;
const K_OUTPUT = 9;
const K_ARN = 10;
const K_BODY = 11;
const K_INPUT_TOKENS = 12;
const K_CACHE_READ = 13;
const K_CACHE_WRITE = 14;
const K_OUTPUT_TOKENS = 15;

/**
 * Bytes [8i, 8i + 8) of a key of `n` bytes at `s` as a little-endian u64, the bytes past its end zeroed: keys are
 * compared with constants a word at a time (reading past a key stays inside the line or the padding).
 */
function word(s: usize, n: usize, i: usize): u64 {
  const v = load<u64>(s + (i << 3));
  const left = n - (i << 3);
  return left >= 8 ? v : v & (((<u64>1) << ((<u64>left) << 3)) - 1);
}

/** Reads a key at its opening quote and its colon; -1 (with `bad`) when it has an escape. */
function key(): i32 {
  if (peek() != QUOTE) {
    bad = true;
    return -1;
  }
  const s = pos + 1;
  let p = s;
  while (p < end) {
    const c = <u32>load<u8>(p);
    high |= c;
    if (c == QUOTE || c == BACKSLASH || c == 0x0a) break;
    p++;
  }
  if (p >= end || <u32>load<u8>(p) != QUOTE) {
    bad = true; // an escaped key: the reference decodes it
    return -1;
  }
  const n = p - s;
  pos = p + 1;
  if (peek() != 0x3a) {
    bad = true;
    return -1;
  }
  pos++;
  peek();
  // The constants are the keys' bytes, eight at a time, little-endian.
  const a = word(s, n, 0);
  switch (<i32>n) {
    case 3:
      if (a == 0x6e7261) return K_ARN; // arn
      break;
    case 5:
      if (a == 0x7475706e69) return K_INPUT; // input
      break;
    case 6:
      if (a == 0x74757074756f) return K_OUTPUT; // output
      break;
    case 7:
      if (a == 0x64496c65646f6d) return K_MODEL; // modelId
      break;
    case 8:
      if (a == 0x797469746e656469) return K_IDENTITY; // identity
      break;
    case 9: {
      const b = word(s, n, 1);
      if (a == 0x6d617473656d6974 && b == 0x70) return K_TIMESTAMP;
      if (a == 0x49746e756f636361 && b == 0x64) return K_ACCOUNT;
      if (a == 0x4974736575716572 && b == 0x64) return K_REQUEST_ID;
      if (a == 0x6f6974617265706f && b == 0x6e) return K_OPERATION;
      if (a == 0x646f43726f727265 && b == 0x65) return K_ERROR_CODE;
      break;
    }
    case 13:
      if (a == 0x646f427475706e69 && word(s, n, 1) == 0x6e6f734a79) return K_BODY; // inputBodyJson
      break;
    case 15:
      if (a == 0x6b6f547475706e69 && word(s, n, 1) == 0x746e756f436e65) return K_INPUT_TOKENS;
      break;
    case 16:
      if (a == 0x6f5474757074756f && word(s, n, 1) == 0x746e756f436e656b) return K_OUTPUT_TOKENS;
      break;
    case 24:
      if (
        a == 0x6165526568636163 &&
        word(s, n, 1) == 0x6f547475706e4964 &&
        word(s, n, 2) == 0x746e756f436e656b
      )
        return K_CACHE_READ; // cacheReadInputTokenCount
      break;
    case 25:
      if (
        a == 0x6972576568636163 &&
        word(s, n, 1) == 0x547475706e496574 &&
        word(s, n, 2) == 0x6e756f436e656b6f &&
        word(s, n, 3) == 0x74
      )
        return K_CACHE_WRITE; // cacheWriteInputTokenCount
      break;
  }
  return K_OTHER;
}

let out: usize = 0;

function set(slot: i32, v: f64): void {
  store<f64>(out + ((<usize>slot) << 3), v);
}

/** A string value's raw extent, or null (-1) for any other value (skipped). */
function optionalString(slot: i32): void {
  if (peek() == QUOTE) {
    const s = pos + 1;
    skipString();
    set(slot, <f64>(s - INPUT));
    set(slot + 1, <f64>(pos - 1 - INPUT));
  } else {
    skipValue();
    set(slot, -1);
    set(slot + 1, -1);
  }
}

function optionalCount(slot: i32): void {
  const c = peek();
  if (c == 0x2d || isDigit(c)) set(slot, number());
  else {
    skipValue();
    set(slot, -1);
  }
}

/** After a member's value: true when the object goes on (a comma), false at its end (or on an error). */
function next(): bool {
  const n = peek();
  pos++;
  if (n == 0x2c) return true;
  if (n != 0x7d) bad = true;
  return false;
}

/** The members of one of the record's objects; `level` 0 is the record, else the key it is under. */
function members(level: i32): void {
  // The reference: `{`, then `}` or members.
  pos++;
  if (peek() == 0x7d) {
    pos++;
    return;
  }
  for (;;) {
    const k = key();
    if (bad) return;
    if (level == 0) {
      if (k == K_TIMESTAMP) optionalString(SLOT_TIMESTAMP);
      else if (k == K_ACCOUNT) optionalString(SLOT_ACCOUNT);
      else if (k == K_REQUEST_ID) optionalString(SLOT_REQUEST_ID);
      else if (k == K_MODEL) optionalString(SLOT_MODEL);
      else if (k == K_OPERATION) optionalString(SLOT_OPERATION);
      else if (k == K_ERROR_CODE) optionalString(SLOT_ERROR_CODE);
      else if (k == K_IDENTITY || k == K_INPUT || k == K_OUTPUT) {
        // Each occurrence resets what it sets: the last one wins.
        if (k == K_IDENTITY) {
          set(SLOT_ARN, -1);
          set(SLOT_ARN + 1, -1);
        } else if (k == K_INPUT) {
          set(SLOT_PROMPT, -1);
          set(SLOT_REQUEST_SIZE, -1);
          set(SLOT_CACHE_READ, -1);
          set(SLOT_CACHE_WRITE, -1);
        } else set(SLOT_COMPLETION, -1);
        if (peek() == 0x7b) members(k);
        else skipValue();
      } else skipValue();
    } else if (level == K_IDENTITY && k == K_ARN) optionalString(SLOT_ARN);
    else if (level == K_INPUT && k == K_BODY) {
      // A null body is no body.
      if (peek() == 0x6e) {
        skipValue();
        set(SLOT_REQUEST_SIZE, -1);
      } else set(SLOT_REQUEST_SIZE, measure());
    } else if (level == K_INPUT && k == K_INPUT_TOKENS) optionalCount(SLOT_PROMPT);
    else if (level == K_INPUT && k == K_CACHE_READ) optionalCount(SLOT_CACHE_READ);
    else if (level == K_INPUT && k == K_CACHE_WRITE) optionalCount(SLOT_CACHE_WRITE);
    else if (level == K_OUTPUT && k == K_OUTPUT_TOKENS) optionalCount(SLOT_COMPLETION);
    else skipValue();
    if (bad || !next()) return;
  }
}

function readLine(): void {
  for (let s = SLOT_TIMESTAMP; s <= SLOT_REQUEST_SIZE; s++) set(s, -1);
  bad = false;
  high = 0;
  const first = peek();
  if (first == 0x100 || first == 0x0a) {
    set(SLOT_STATUS, BLANK);
    return;
  }
  if (<u32>load<u8>(pos) != 0x7b) {
    set(SLOT_STATUS, FALLBACK);
    return;
  }
  members(0);
  if (!bad) {
    const after = peek();
    if (after != 0x100 && after != 0x0a) bad = true;
  }
  set(SLOT_STATUS, bad ? FALLBACK : OK);
  set(SLOT_NON_ASCII, (high & 0x80) != 0 ? 1 : 0);
}

/** Index of the next LF in [p, to), or `to`. */
function lineEnd(p: usize, to: usize): usize {
  const lf = i8x16.splat(0x0a);
  while (p + 16 <= to) {
    const m = i8x16.bitmask(i8x16.eq(v128.load(p), lf));
    if (m != 0) return p + <usize>ctz(m);
    p += 16;
  }
  while (p < to && load<u8>(p) != 0x0a) p++;
  return p;
}

/**
 * Reads the lines of input [from, length) (offsets from the input's start), at most MAX_LINES of them, into
 * the results; returns how many. A line ends at an LF (not part of it) or at `length`. A line read (or blank)
 * ends where reading it stopped, at its LF: only the lines left to the reference are searched for their end.
 */
export function scan(from: usize, length: usize): i32 {
  const to = INPUT + length;
  let p = INPUT + from;
  let n: i32 = 0;
  while (p < to && n < MAX_LINES) {
    out = RESULTS + ((<usize>(n * SLOTS)) << 3);
    pos = p;
    end = to;
    readLine();
    const e = load<f64>(out) == FALLBACK ? lineEnd(p, to) : pos;
    set(SLOT_LINE_START, <f64>(p - INPUT));
    set(SLOT_LINE_END, <f64>(e - INPUT));
    n++;
    p = e + 1;
  }
  return n;
}
