/**
 * fast-check generators of hostile Bedrock records as raw JSON text: deep nesting, escapes, astral and raw
 * control characters, look-alike keys inside strings and inside free-form objects (tool schemas), the key
 * orders Bedrock writes, counts at the edges, insignificant whitespace, and a few outright invalid records.
 */
import fc from "fast-check";

export interface GeneratedRecord {
  readonly text: string;
  /**
   * True when the contract requires the Insights query to agree with the reader: a compact record in a key
   * order Bedrock writes, without duplicate or escaped keys and without free-form objects imitating record keys.
   */
  readonly bedrockShaped: boolean;
  /** Free-form objects (tool schema, tool call) may imitate record keys: a deviation docs/design.md lists. */
  readonly imitation: boolean;
  /** The input object has its own `inputTokenCount` member (whatever its value). */
  readonly ownPromptKey: boolean;
}

/** Keys a caller-written free-form object may use to imitate the record. */
const LOOKALIKE_KEYS = [
  "inputTokenCount",
  "outputTokenCount",
  "cacheReadInputTokenCount",
  "cacheWriteInputTokenCount",
  "inputBodyJson",
  "input",
  "output",
  "identity",
  "accountId",
  "timestamp",
  "errorCode",
];
const PLAIN_KEYS = ["type", "properties", "a", "name", "description", "items", "enum", "x y", "é", "🚀"];

/** Count literals at the edges of the contract (and beyond it). */
export const COUNT_LITERALS = [
  "0",
  "1",
  "8000",
  "8001",
  "9500",
  "999999999999999",
  "1000000000000000",
  "9007199254740993",
  "-1",
  "-0",
  "9e3",
  "9E3",
  "9000.0",
  '"9500"',
  "null",
  "true",
  "[9000]",
];

const NUMBERS = fc.constantFrom(
  "0",
  "-1",
  "2.5",
  "1e400",
  "-0.0e-0",
  "9007199254740993",
  "123456789012345678901234567890",
);

/** String contents as written: plain text, valid escapes, astral characters, raw control characters, escaped look-alikes. */
const stringPiece = (rawNewlines: boolean) =>
  fc.oneof(
    fc
      .string({ maxLength: 6 })
      .map((s) => [...s].filter((c) => c.charCodeAt(0) >= 0x20 && c !== '"' && c !== "\\").join("")),
    fc.constantFrom(
      '\\"',
      "\\\\",
      "\\/",
      "\\b",
      "\\f",
      "\\n",
      "\\r",
      "\\t",
      "\\u2019",
      "\\ud83d\\ude80",
      "\\u0000",
    ),
    fc.constantFrom("🚀", "𝄞", "é", "\u2028", "\t", "\u0001", "\u007f"),
    fc.constantFrom(...(rawNewlines ? ["\n", "\r"] : ["  "])),
    fc.constantFrom(
      '\\"inputTokenCount\\":99999',
      '},\\"output\\":{\\"outputContentType\\":\\"x\\"',
      '\\"outputTokenCount\\":99999}',
      "}}",
    ),
  );
const stringLiteral = (rawNewlines: boolean) =>
  fc.array(stringPiece(rawNewlines), { maxLength: 6 }).map((parts) => `"${parts.join("")}"`);

export interface TextOptions {
  /** Whether free-form objects may use record keys. */
  readonly lookalikes: boolean;
  /** Raw line breaks inside strings (not in JSON-lines files, where they would split the line). */
  readonly rawNewlines: boolean;
  /** Whitespace between tokens. */
  readonly ws: fc.Arbitrary<string>;
}

/** Raw JSON text of a free-form value (a request body, a tool schema), nesting up to `maxDepth` through deep(). */
export function jsonText(o: TextOptions, maxDepth: number): fc.Arbitrary<string> {
  const keys = o.lookalikes ? [...PLAIN_KEYS, ...LOOKALIKE_KEYS] : PLAIN_KEYS;
  const key = fc.constantFrom(...keys).map((k) => JSON.stringify(k));
  const { value } = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      stringLiteral(o.rawNewlines),
      fc.oneof(NUMBERS, fc.constantFrom(...COUNT_LITERALS.filter((c) => !c.startsWith('"')))),
      fc.constantFrom("true", "false", "null", "{}", "[]"),
      fc
        .tuple(fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }), o.ws, o.ws)
        .map(([ms, a, b]) => `{${a}${ms.map(([k, v]) => `${k}${a}:${b}${v}`).join(`${b},${a}`)}${b}}`),
      fc
        .tuple(fc.array(tie("value"), { maxLength: 4 }), o.ws)
        .map(([vs, a]) => `[${a}${vs.join(`,${a}`)}${a}]`),
    ),
  }));
  // Deep nesting: a value wrapped in hundreds or thousands of objects and arrays.
  const deep = fc
    .tuple(fc.integer({ min: 1, max: maxDepth }), value)
    .map(([n, v]) => `${'{"a":['.repeat(n)}${v}${"]}".repeat(n)}`);
  return fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: deep });
}

const ARNS = ["arn:aws:iam::111111111111:user/alice", "arn:aws:sts::222222222222:assumed-role/batch/nightly"];
const TIMESTAMPS = [
  "2026-11-19T12:00:00Z",
  "2026-11-19T23:59:59.9999Z",
  `2026-11-19T23:59:59.${"9".repeat(25)}Z`,
  "2026-11-20T01:00:00.000001+01:00",
  "2026-11-19T20:00:00-04:00",
  "2028-02-29T00:00:00Z",
  "0099-12-31T23:59:59Z",
];
const BAD_TIMESTAMPS = [
  "2026-11-19T12:00Z",
  "2026-11-19T12:00:00",
  "2026-02-29T00:00:00Z",
  "2026-11-19T12:00:00.Z",
  "x",
];

export interface RecordOptions {
  readonly rawNewlines: boolean;
  readonly maxDepth: number;
}

/** A hostile record: mostly valid, sometimes duplicated keys, escaped keys, bad timestamps or invalid JSON. */
export function adversarialRecord(opts: RecordOptions): fc.Arbitrary<GeneratedRecord> {
  const compact = fc.constant("");
  const spaced = fc.constantFrom("", " ", "\t", "  ", ...(opts.rawNewlines ? ["\n", "\r\n "] : []));
  return fc
    .record({
      whitespace: fc.boolean(),
      newOrder: fc.boolean(),
      timestamp: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...TIMESTAMPS) },
        fc.constantFrom(...BAD_TIMESTAMPS),
      ),
      account: fc.constantFrom("111111111111", "222222222222", "13457018785544"),
      arn: fc.constantFrom(...ARNS),
      body: fc.oneof(
        { weight: 3, arbitrary: fc.constant<"inline">("inline") },
        fc.constantFrom<"s3" | "none" | "null">("s3", "none", "null"),
      ),
      lookalikes: fc.boolean(),
      prompt: fc.option(fc.constantFrom(...COUNT_LITERALS), { nil: undefined }),
      cacheRead: fc.option(fc.constantFrom(...COUNT_LITERALS), { nil: undefined }),
      cacheWrite: fc.option(fc.constantFrom(...COUNT_LITERALS), { nil: undefined }),
      output: fc.constantFrom<"streamed" | "converse" | "none" | "countOnly">(
        "streamed",
        "converse",
        "none",
        "countOnly",
      ),
      completion: fc.constantFrom(...COUNT_LITERALS),
      errorCode: fc.boolean(),
      quirk: fc.oneof(
        { weight: 12, arbitrary: fc.constant<"none">("none") },
        fc.constantFrom<
          "duplicate" | "escapedKey" | "invalidEscape" | "leadingZero" | "truncated" | "trailing" | "dupInput"
        >("duplicate", "escapedKey", "invalidEscape", "leadingZero", "truncated", "trailing", "dupInput"),
      ),
      cut: fc.integer({ min: 1, max: 10_000 }),
    })
    .chain((r) => {
      const ws = r.whitespace ? spaced : compact;
      const text = jsonText({ lookalikes: r.lookalikes, rawNewlines: opts.rawNewlines, ws }, opts.maxDepth);
      return fc.tuple(fc.constant(r), ws, ws, text, text).map(([r, a, b, body, tool]) => {
        const kv = (k: string, v: string) => `"${k}"${a}:${b}${v}`;
        const obj = (members: string[]) => `{${a}${members.join(`${b},${a}`)}${b}}`;
        // A request body with a tool schema (free-form: it may imitate record keys when lookalikes is on).
        const requestBody = obj([
          kv("messages", `[${obj([kv("role", '"user"'), kv("content", body)])}]`),
          kv("toolConfig", obj([kv("tools", `[${obj([kv("inputSchema", obj([kv("json", tool)]))])}]`)])),
        ]);
        const input = [kv("inputContentType", '"application/json"')];
        if (r.body === "inline") input.push(kv("inputBodyJson", requestBody));
        else if (r.body === "null") input.push(kv("inputBodyJson", "null"));
        else if (r.body === "s3") input.push(kv("inputBodyS3Path", '"s3://bucket/AWSLogs/1/in.json.gz"'));
        if (r.prompt !== undefined) input.push(kv("inputTokenCount", r.prompt));
        if (r.cacheRead !== undefined) input.push(kv("cacheReadInputTokenCount", r.cacheRead));
        if (r.cacheWrite !== undefined) input.push(kv("cacheWriteInputTokenCount", r.cacheWrite));
        // Bedrock's own look-alikes: stream chunks carry invocation metrics with the same key names.
        const outputBody =
          r.output === "streamed"
            ? `[${obj([kv("chunk", obj([kv("bytes", '"eyJ0eXBlIjoiZGVsdGEifQ=="')]))])},${obj([
                kv(
                  "amazon-bedrock-invocationMetrics",
                  obj([
                    kv("inputTokenCount", "9001"),
                    kv("outputTokenCount", "9002"),
                    kv("invocationLatency", "5"),
                  ]),
                ),
              ])}]`
            : obj([
                kv("output", obj([kv("message", obj([kv("content", `[${obj([kv("text", body)])}]`)]))])),
                kv("stopReason", '"end_turn"'),
              ]);
        const hasOutput = r.output !== "none" && !(r.prompt === undefined && r.body === "inline");
        const output = hasOutput
          ? obj([
              kv("outputContentType", '"application/json"'),
              ...(r.output === "countOnly" ? [] : [kv("outputBodyJson", outputBody)]),
              kv("outputTokenCount", r.completion),
            ])
          : null;
        const common = [
          kv("timestamp", JSON.stringify(r.timestamp)),
          kv("accountId", JSON.stringify(r.account)),
          kv("region", '"us-east-1"'),
          kv("requestId", '"r-1"'),
          kv("operation", '"InvokeModel"'),
          kv("modelId", '"anthropic.claude-3-haiku-20240307-v1:0"'),
        ];
        const identity = kv("identity", obj([kv("arn", JSON.stringify(r.arn))]));
        const schema = [kv("schemaType", '"ModelInvocationLog"'), kv("schemaVersion", '"1.0"')];
        const io = [kv("input", obj(input)), ...(output ? [kv("output", output)] : [])];
        const error = r.errorCode && !hasOutput ? [kv("errorCode", '"ValidationException"')] : [];
        let members = r.newOrder
          ? [...common, ...io, ...error, identity, ...schema]
          : [...schema, ...common.slice(0, 2), identity, ...common.slice(2), ...io, ...error];
        let quirky = true;
        switch (r.quirk) {
          case "duplicate":
            members = [...members, kv("accountId", '"999999999999"')];
            break;
          case "dupInput":
            members = [...members, kv("input", obj([kv("inputTokenCount", "7")]))];
            break;
          case "escapedKey":
            members = members.map((m) => m.replace('"inputTokenCount"', '"input\\u0054okenCount"'));
            break;
          default:
            quirky = r.quirk !== "none";
        }
        let text = obj(members);
        if (r.quirk === "invalidEscape") text = text.replace('"r-1"', '"r\\q1"');
        if (r.quirk === "leadingZero") text = text.replace('"region"', '"n":012,"region"');
        if (r.quirk === "trailing") text = `${text} x`;
        if (r.quirk === "truncated") text = text.slice(0, 1 + (r.cut % (text.length - 1)));
        return {
          text,
          // Bedrock writes cache counts only after inputTokenCount.
          bedrockShaped:
            !r.whitespace &&
            !quirky &&
            r.quirk === "none" &&
            (r.prompt !== undefined || (r.cacheRead === undefined && r.cacheWrite === undefined)),
          imitation: r.lookalikes,
          ownPromptKey: r.prompt !== undefined,
        };
      });
    });
}
