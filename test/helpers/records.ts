/** Builders for Bedrock invocation records and paths to the fixtures in test/fixtures (see its README). */
import { fileURLToPath } from "node:url";
import type { InvocationRecord } from "../../core/record-reader.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const ELASTIC_LOG = `${FIXTURES}elastic/test-aws-bedrock.log`;
export const ELASTIC_EXPECTED = `${FIXTURES}elastic/expected_key_fields.json`;
export const SAMPLES = `${FIXTURES}samples/`;

export interface RawRecordSpec {
  timestamp?: string;
  accountId?: string;
  identityArn?: string;
  modelId?: string;
  /** A JSON value or raw JSON text (`bodyText`) for input.inputBodyJson. */
  body?: unknown;
  bodyText?: string;
  promptTokens?: unknown;
  completionTokens?: unknown;
  cacheRead?: number;
  cacheWrite?: number;
  /** Default: a new id per record (as Bedrock does); `null` leaves the field out. */
  requestId?: string | null;
}

let lastRequestId = 0;

/** The JSON text of a compact record in Bedrock's newer key order. */
export function rawRecord(spec: RawRecordSpec = {}): string {
  const input: string[] = ['"inputContentType":"application/json"'];
  if (spec.bodyText !== undefined) input.push(`"inputBodyJson":${spec.bodyText}`);
  else if (spec.body !== undefined) input.push(`"inputBodyJson":${JSON.stringify(spec.body)}`);
  if (spec.promptTokens !== undefined) input.push(`"inputTokenCount":${JSON.stringify(spec.promptTokens)}`);
  if (spec.cacheRead !== undefined) input.push(`"cacheReadInputTokenCount":${spec.cacheRead}`);
  if (spec.cacheWrite !== undefined) input.push(`"cacheWriteInputTokenCount":${spec.cacheWrite}`);
  const output =
    spec.completionTokens === undefined
      ? ""
      : `,"output":{"outputContentType":"application/json","outputTokenCount":${JSON.stringify(spec.completionTokens)}}`;
  const requestId =
    spec.requestId === null ? "" : `"requestId":${JSON.stringify(spec.requestId ?? `r-${++lastRequestId}`)},`;
  return (
    `{"timestamp":${JSON.stringify(spec.timestamp ?? "2026-11-19T12:00:00Z")},"accountId":${JSON.stringify(spec.accountId ?? "111111111111")},` +
    `"region":"us-east-1",${requestId}"operation":"InvokeModel","modelId":${JSON.stringify(spec.modelId ?? "anthropic.claude-3-haiku-20240307-v1:0")},` +
    `"input":{${input.join(",")}}${output},"identity":{"arn":${JSON.stringify(spec.identityArn ?? "arn:aws:iam::111111111111:user/alice")}},` +
    `"schemaType":"ModelInvocationLog","schemaVersion":"1.0"}`
  );
}

/** An already-read record for evaluator tests. */
export function rec(p: Partial<InvocationRecord> & { accountId: string }): InvocationRecord {
  const timestamp = p.timestamp ?? "2026-11-19T12:00:00Z";
  return {
    timestamp,
    timestampMs: p.timestampMs ?? Date.parse(timestamp),
    requestId: null,
    identityArn: "arn:aws:iam::111111111111:user/alice",
    modelId: "m",
    operation: "InvokeModel",
    errorCode: null,
    promptTokens: null,
    completionTokens: null,
    cacheReadTokens: null,
    cacheWriteTokens: null,
    requestSize: null,
    ...p,
  };
}

/**
 * Pretty-prints raw JSON text as Python's `json.dumps(indent=n)` lays it out (indent 0 included: every member
 * on its own line, no indentation), keeping every string and number exactly as written. `margin` indents the
 * whole record.
 */
export function pretty(text: string, indent: number, margin = ""): string {
  let out = "";
  let depth = 0;
  const nl = () => `\n${margin}${" ".repeat(indent * depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '"') {
      let j = i + 1;
      while (text.charAt(j) !== '"') j += text.charAt(j) === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (/\s/.test(text.charAt(j))) j++;
      if (text.charAt(j) === close) {
        out += c + close;
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += nl() + c;
    } else if (c === ",") out += `,${nl()}`;
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return margin + out;
}
