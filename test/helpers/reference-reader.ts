/**
 * The contract's "Reading records" written the plain way, as an oracle for the reader: JSON.parse decides what
 * is JSON and what the values are (duplicate keys last-wins, escapes, nesting); a flat walk over the validated
 * text finds the raw literals the contract measures (counts as written, the body as written).
 */
import type { InvocationRecord } from "../../core/record-reader.js";

/** JSON.parse, with the contract's one tolerance: raw control characters inside strings. */
export function parseTolerant(text: string): { value: unknown } | null {
  let out = "";
  let inString = false;
  let escaped = false;
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      else if (code < 0x20) {
        out += `\\u${code.toString(16).padStart(4, "0")}`;
        continue;
      }
    } else if (c === '"') inString = true;
    out += c;
  }
  try {
    return { value: JSON.parse(out) };
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isWs = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";

/** End (exclusive) of the string starting at the quote at i. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
  return j + 1;
}

/** End (exclusive) of the value starting at i, in text already known to be JSON. */
function valueEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] !== "{" && text[i] !== "[") {
    let j = i;
    while (j < text.length && !",}] \t\n\r".includes(text[j] ?? "")) j++;
    return j;
  }
  let depth = 0;
  let j = i;
  for (;;) {
    const c = text[j];
    if (c === '"') {
      j = stringEnd(text, j);
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
}

/** The raw value text of each member of the object at i, the last occurrence of a key winning. */
function rawMembers(text: string, i: number): Map<string, string> {
  const out = new Map<string, string>();
  let j = i + 1;
  const skipWs = () => {
    while (isWs(text[j])) j++;
  };
  for (;;) {
    skipWs();
    if (text[j] === "}") return out;
    const keyEnd = stringEnd(text, j);
    const key = (parseTolerant(text.slice(j, keyEnd))?.value as string | undefined) ?? "";
    j = keyEnd;
    skipWs();
    j++; // the colon
    skipWs();
    const end = valueEnd(text, j);
    out.set(key, text.slice(j, end));
    j = end;
    skipWs();
    if (text[j] === ",") j++;
  }
}

/** Code points of raw JSON text without the whitespace outside strings. */
export function compactSize(raw: string): number {
  let n = 0;
  let inString = false;
  let escaped = false;
  for (const c of raw) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (isWs(c)) continue;
    n++;
  }
  return n;
}

const countOf = (raw: string | undefined) =>
  raw !== undefined && /^(?:0|[1-9]\d{0,14})$/.test(raw) ? Number(raw) : null;

/** The contract's timestamp, via Date's own calendar arithmetic (setUTCFullYear: years below 100 too). */
export function referenceTimestamp(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/.exec(
    text,
  );
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((k) => Number(m[k]));
  const date = new Date(0);
  date.setUTCFullYear(y ?? 0, (mo ?? 0) - 1, d);
  date.setUTCHours(h ?? 0, mi, s, Number((m[7] ?? "").slice(0, 3).padEnd(3, "0")));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== (mo ?? 0) - 1 || date.getUTCDate() !== d)
    return null;
  if (date.getUTCHours() !== h || date.getUTCMinutes() !== mi || date.getUTCSeconds() !== s) return null;
  const oh = Number(m[9] ?? 0);
  const om = Number(m[10] ?? 0);
  if (oh > 23 || om > 59) return null;
  return date.getTime() - (m[8] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
}

/** What the contract says the record is: its fields, or null when it is malformed. */
export function referenceRead(text: string): InvocationRecord | null {
  const parsed = parseTolerant(text);
  if (!parsed || !isObject(parsed.value)) return null;
  const v = parsed.value;
  let start = 0;
  while (isWs(text[start])) start++;
  const top = rawMembers(text, start);
  const str = (x: unknown) => (typeof x === "string" ? x : null);
  const timestamp = str(v.timestamp);
  const timestampMs = timestamp === null ? null : referenceTimestamp(timestamp);
  const accountId = str(v.accountId);
  if (timestamp === null || timestampMs === null || !accountId) return null;
  const input = isObject(v.input) ? rawMembers(top.get("input") ?? "", 0) : new Map<string, string>();
  const output = isObject(v.output) ? rawMembers(top.get("output") ?? "", 0) : new Map<string, string>();
  const body = input.get("inputBodyJson");
  return {
    timestamp,
    timestampMs,
    // A non-empty string, else missing (records without one are never deduplicated).
    requestId: str(v.requestId) || null,
    accountId,
    identityArn: isObject(v.identity) ? str(v.identity.arn) : null,
    modelId: str(v.modelId),
    operation: str(v.operation),
    errorCode: str(v.errorCode),
    promptTokens: countOf(input.get("inputTokenCount")),
    completionTokens: countOf(output.get("outputTokenCount")),
    cacheReadTokens: countOf(input.get("cacheReadInputTokenCount")),
    cacheWriteTokens: countOf(input.get("cacheWriteInputTokenCount")),
    requestSize: body === undefined || body === "null" ? null : compactSize(body),
  };
}
