/**
 * Seeded generator of realistic Bedrock model-invocation logs: several model families, Converse and
 * InvokeModel bodies, streamed outputs (arrays of chunks), bodies offloaded to S3, failed calls, prompt-cache
 * tokens, a CloudWatch export with a truncated line, and a few abusive accounts among ordinary traffic (the
 * hunt's three, and three that only the detections beyond it see), with a week of history for anomaly.
 * Same seed and end time, same bytes.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { DAY_MS, HOUR_MS } from "../core/rule.js";

export const DEFAULT_SAMPLE_END = "2026-11-20T00:00:00Z";

/** Bedrock puts bodies over 100 KB in S3 instead of inline. */
const INLINE_BODY_LIMIT = 100_000;

/** mulberry32: small, fast, good enough for sample data. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const WORDS = (
  "the quarterly report shows revenue growth across regions while costs rose because of new data centre " +
  "leases please summarise the key risks and list action items for the platform team include latency budgets " +
  "error rates and customer impact the migration plan moves batch jobs to spot capacity translate this paragraph " +
  'into French and keep the tone formal write unit tests for the parser “quoted” text with a "quote" café naïve ' +
  "résumé 東京 data 🚀 launch review the contract clause on liability and indemnity compare both options"
).split(" ");

function text(r: Rng, chars: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < chars) {
    const w = r.pick(WORDS);
    parts.push(w);
    n += w.length + 1;
    if (r.chance(0.04)) parts.push(".\n");
  }
  return parts.join(" ");
}

interface Family {
  modelId: string;
  operation: "Converse" | "ConverseStream" | "InvokeModel" | "InvokeModelWithResponseStream";
}

const FAMILIES: Record<string, Family> = {
  claudeConverse: { modelId: "anthropic.claude-3-5-haiku-20241022-v1:0", operation: "Converse" },
  claudeStream: {
    modelId: "us.anthropic.claude-sonnet-4-20250514-v1:0",
    operation: "InvokeModelWithResponseStream",
  },
  claudeInvoke: { modelId: "anthropic.claude-3-5-sonnet-20240620-v1:0", operation: "InvokeModel" },
  novaStream: { modelId: "amazon.nova-lite-v1:0", operation: "ConverseStream" },
  llama: { modelId: "meta.llama3-1-70b-instruct-v1:0", operation: "InvokeModel" },
  titan: { modelId: "amazon.titan-text-express-v1", operation: "InvokeModel" },
};

function requestBody(f: Family, prompt: string, maxTokens: number): unknown {
  if (f.operation === "Converse" || f.operation === "ConverseStream") {
    return {
      messages: [{ role: "user", content: [{ text: prompt }] }],
      inferenceConfig: { maxTokens, temperature: 0.7 },
    };
  }
  if (f.modelId.includes("anthropic")) {
    return {
      anthropic_version: "bedrock-2023-05-31",
      max_tokens: maxTokens,
      messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
    };
  }
  if (f.modelId.includes("llama")) return { prompt, max_gen_len: maxTokens, temperature: 0.5, top_p: 0.9 };
  return {
    inputText: prompt,
    textGenerationConfig: { maxTokenCount: maxTokens, temperature: 0.5, topP: 0.9 },
  };
}

function responseBody(f: Family, r: Rng, answer: string, inTok: number, outTok: number): unknown {
  const chunks = answer.match(/.{1,40}/gs) ?? [answer];
  switch (f.operation) {
    case "Converse":
      return {
        output: { message: { role: "assistant", content: [{ text: answer }] } },
        stopReason: "end_turn",
        metrics: { latencyMs: r.int(300, 9000) },
        usage: { inputTokens: inTok, outputTokens: outTok, totalTokens: inTok + outTok },
      };
    case "ConverseStream":
      return [
        { messageStart: { role: "assistant" } },
        ...chunks.map((t) => ({ contentBlockDelta: { delta: { text: t }, contentBlockIndex: 0 } })),
        { contentBlockStop: { contentBlockIndex: 0 } },
        { messageStop: { stopReason: "end_turn" } },
        {
          metadata: {
            usage: { inputTokens: inTok, outputTokens: outTok, totalTokens: inTok + outTok },
            metrics: { latencyMs: r.int(300, 9000) },
          },
        },
      ];
    case "InvokeModelWithResponseStream":
      return [
        {
          type: "message_start",
          message: { role: "assistant", usage: { input_tokens: inTok, output_tokens: 1 } },
        },
        ...chunks.map((t) => ({
          type: "content_block_delta",
          index: 0,
          delta: { type: "text_delta", text: t },
        })),
        {
          type: "message_stop",
          "amazon-bedrock-invocationMetrics": {
            inputTokenCount: inTok,
            outputTokenCount: outTok,
            invocationLatency: r.int(500, 20000),
            firstByteLatency: r.int(200, 900),
          },
        },
      ];
    default:
      if (f.modelId.includes("anthropic")) {
        return {
          id: `msg_${r.int(1e6, 9e6)}`,
          type: "message",
          role: "assistant",
          content: [{ type: "text", text: answer }],
          stop_reason: "end_turn",
          usage: { input_tokens: inTok, output_tokens: outTok },
        };
      }
      if (f.modelId.includes("llama")) {
        return {
          generation: answer,
          prompt_token_count: inTok,
          generation_token_count: outTok,
          stop_reason: "stop",
        };
      }
      return { inputTextTokenCount: inTok, results: [{ tokenCount: outTok, outputText: answer }] };
  }
}

interface CallSpec {
  accountId: string;
  identity: string;
  family: Family;
  timeMs: number;
  promptChars: number;
  completionTokens: number;
  cacheWriteTokens?: number;
  cacheReadTokens?: number;
  /** Prompt tokens as logged, when they are not the prompt's length (a cached prompt sends little new text). */
  promptTokens?: number;
  /** The request body went to S3 whatever its size (a cached prompt's body is the whole cached context). */
  offloadBody?: boolean;
  /** Text delivery off in the logging configuration: no bodies in the record, counts only. */
  noBodies?: boolean;
  errorCode?: string;
  /** Older records list schemaType first and identity before the bodies; newer ones put them last. */
  oldKeyOrder: boolean;
}

function uuid(r: Rng): string {
  const hex = () => r.int(0, 0xffff).toString(16).padStart(4, "0");
  return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`;
}

function record(r: Rng, c: CallSpec): Record<string, unknown> {
  const prompt = c.noBodies ? "" : text(r, c.promptChars);
  const inTok = c.promptTokens ?? Math.max(1, Math.round(c.promptChars / 4));
  const body = requestBody(c.family, prompt, Math.max(256, c.completionTokens + 200));
  const bodyText = JSON.stringify(body);
  const requestId = uuid(r);
  const date = new Date(c.timeMs).toISOString().slice(0, 10).replaceAll("-", "/");
  const s3 = (kind: string) =>
    `s3://bedrock-logs-${c.accountId}/AWSLogs/${c.accountId}/BedrockModelInvocationLogs/us-east-1/${date}/data/${requestId}-${kind}.json.gz`;
  const input: Record<string, unknown> = { inputContentType: "application/json" };
  if (c.noBodies) {
    // Text delivery off: no body, no S3 path.
  } else if (c.offloadBody || bodyText.length > INLINE_BODY_LIMIT) input.inputBodyS3Path = s3("input");
  else input.inputBodyJson = body;
  input.inputTokenCount = inTok;
  if (c.cacheWriteTokens || c.cacheReadTokens) {
    input.cacheReadInputTokenCount = c.cacheReadTokens ?? 0;
    input.cacheWriteInputTokenCount = c.cacheWriteTokens ?? 0;
  }
  let output: Record<string, unknown> | undefined;
  if (!c.errorCode) {
    output = { outputContentType: "application/json" };
    if (!c.noBodies) {
      const answer = text(r, Math.min(c.completionTokens * 4, 2_000_000));
      const resp = responseBody(c.family, r, answer, inTok, c.completionTokens);
      if (JSON.stringify(resp).length > INLINE_BODY_LIMIT) output.outputBodyS3Path = s3("output");
      else output.outputBodyJson = resp;
    }
    output.outputTokenCount = c.completionTokens;
  }
  const timestamp = new Date(Math.floor(c.timeMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
  const identity = { arn: c.identity };
  const common = {
    timestamp,
    accountId: c.accountId,
    region: "us-east-1",
    requestId,
    operation: c.family.operation,
    modelId: c.family.modelId,
  };
  const tail = c.errorCode ? { errorCode: c.errorCode } : {};
  return c.oldKeyOrder
    ? { schemaType: "ModelInvocationLog", schemaVersion: "1.0", ...common, identity, input, output, ...tail }
    : { ...common, input, output, ...tail, identity, schemaType: "ModelInvocationLog", schemaVersion: "1.0" };
}

/** The sample's story: which accounts abuse Bedrock and how (the scan of the sample must flag exactly these). */
export const SAMPLE_ACCOUNTS = {
  longContextFlood: "123456789012",
  completionFlood: "987654321098",
  requestSizeFlood: "555566667777",
  singleHeavyBatch: "333344445555",
  heavyDayBefore: "999900001111",
  promptCaching: "666677778888",
  cachedPromptLeak: "246813579024",
  underThresholdFlood: "135792468013",
  etlSpike: "314159265358",
  nightlyBatch: "271828182845",
} as const;
/** What the hunt flags in the sample. */
export const SAMPLE_HUNT: readonly string[] = [
  SAMPLE_ACCOUNTS.longContextFlood,
  SAMPLE_ACCOUNTS.completionFlood,
  SAMPLE_ACCOUNTS.requestSizeFlood,
];
/** Every account the scan of the sample flags: the hunt's, then those only the other detections see. */
export const SAMPLE_ABUSIVE: readonly string[] = [
  ...SAMPLE_HUNT,
  SAMPLE_ACCOUNTS.underThresholdFlood,
  SAMPLE_ACCOUNTS.etlSpike,
  SAMPLE_ACCOUNTS.cachedPromptLeak,
];

const role = (account: string, name: string, session: string) =>
  `arn:aws:sts::${account}:assumed-role/${name}/${session}`;
const user = (account: string, name: string) => `arn:aws:iam::${account}:user/${name}`;

/** Who calls what: ordinary tenants and the abusive patterns the rule is for. */
function planCalls(r: Rng, endMs: number): CallSpec[] {
  const startMs = endMs - DAY_MS;
  const at = (from: number, to: number) => r.int(from, to - 1);
  const calls: CallSpec[] = [];
  const ordinary = [
    {
      accountId: "111122223333",
      families: [FAMILIES.claudeConverse, FAMILIES.novaStream],
      ids: ["support-bot", "docs-search"],
    },
    { accountId: "444455556666", families: [FAMILIES.claudeStream, FAMILIES.titan], ids: ["marketing-copy"] },
    {
      accountId: "777788889999",
      families: [FAMILIES.llama, FAMILIES.claudeInvoke],
      ids: ["etl-summaries", "analyst"],
    },
  ];
  for (const t of ordinary) {
    for (let i = 0; i < 500; i++) {
      const session = `${r.pick(t.ids)}-${r.int(1, 9)}`;
      calls.push({
        accountId: t.accountId,
        identity: role(t.accountId, `${session.split("-")[0]}-role`, session),
        family: r.pick(t.families) as Family,
        timeMs: at(startMs, endMs),
        promptChars: r.int(80, 6000),
        completionTokens: r.int(20, 1500),
        errorCode: r.chance(0.02) ? "ThrottlingException" : undefined,
        oldKeyOrder: r.chance(0.3),
      });
    }
  }
  // Prompt-caching tenant: tiny inputTokenCount, large cache writes (evidence only: not a rule metric).
  for (let i = 0; i < 60; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.promptCaching,
      identity: role(SAMPLE_ACCOUNTS.promptCaching, "rag-service", "rag"),
      family: FAMILIES.claudeConverse as Family,
      timeMs: at(startMs, endMs),
      promptChars: r.int(12, 40),
      completionTokens: r.int(100, 600),
      cacheWriteTokens: r.int(20_000, 40_000),
      oldKeyOrder: false,
    });
  }
  // Abuse 1: long-context flood through a CI role (bodies over 100 KB go to S3, tokens still logged).
  const burst1 = at(startMs + 6 * HOUR_MS, endMs - 3 * HOUR_MS);
  for (let i = 0; i < 42; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.longContextFlood,
      identity: role(SAMPLE_ACCOUNTS.longContextFlood, "ci-runner", `build-${r.int(1, 3)}`),
      family: FAMILIES.claudeInvoke as Family,
      timeMs: burst1 + i * r.int(20_000, 200_000),
      promptChars: r.int(160_000, 720_000),
      completionTokens: r.int(50, 400),
      errorCode: i % 9 === 8 ? "ThrottlingException" : undefined,
      oldKeyOrder: false,
    });
  }
  // Abuse 2: completion exhaustion with a leaked access key: huge max tokens, long streamed answers.
  const burst2 = at(startMs + HOUR_MS, endMs - 10 * HOUR_MS);
  for (let i = 0; i < 24; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.completionFlood,
      identity: user(SAMPLE_ACCOUNTS.completionFlood, "svc-legacy-key"),
      family: FAMILIES.novaStream as Family,
      timeMs: burst2 + i * r.int(60_000, 600_000),
      promptChars: r.int(200, 1200),
      completionTokens: r.int(8_500, 32_000),
      oldKeyOrder: true,
    });
  }
  // Abuse 3: request-size flood: inline bodies of 12-60 KB that stay under the token threshold.
  const burst3 = at(startMs, endMs - 8 * HOUR_MS);
  for (let i = 0; i < 30; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.requestSizeFlood,
      identity: role(SAMPLE_ACCOUNTS.requestSizeFlood, "scraper", `worker-${r.int(1, 4)}`),
      family: FAMILIES.llama as Family,
      timeMs: burst3 + i * r.int(30_000, 400_000),
      promptChars: r.int(12_000, 30_000),
      completionTokens: r.int(100, 900),
      oldKeyOrder: r.chance(0.5),
    });
  }
  // One legitimate heavy batch request: a single match, below min requests.
  calls.push({
    accountId: SAMPLE_ACCOUNTS.singleHeavyBatch,
    identity: role(SAMPLE_ACCOUNTS.singleHeavyBatch, "nightly-report", "report"),
    family: FAMILIES.claudeStream as Family,
    timeMs: at(startMs, endMs),
    promptChars: 90_000,
    completionTokens: 4_000,
    oldKeyOrder: false,
  });
  // Heavy traffic the day before: outside the default window, must not be flagged.
  for (let i = 0; i < 5; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.heavyDayBefore,
      identity: user(SAMPLE_ACCOUNTS.heavyDayBefore, "load-test"),
      family: FAMILIES.claudeConverse as Family,
      timeMs: startMs - HOUR_MS - i * 60_000,
      promptChars: 60_000,
      completionTokens: 9_000,
      oldKeyOrder: false,
    });
  }
  return calls.sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * The abuse the hunt walks past, with a random source of its own (the records of the other accounts stay
 * byte for byte what they were): a leaked key reading huge cached prompts, and a flood of requests each just
 * under the per-request thresholds.
 */
function planBeyondTheHunt(r: Rng, endMs: number): CallSpec[] {
  const startMs = endMs - DAY_MS;
  const calls: CallSpec[] = [];
  // A leaked key: 6 Converse calls, each reading 180,000 cached prompt tokens with 6 new ones.
  const leak = r.int(startMs + 2 * HOUR_MS, endMs - 4 * HOUR_MS);
  for (let i = 0; i < 6; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.cachedPromptLeak,
      identity: user(SAMPLE_ACCOUNTS.cachedPromptLeak, "ci-deploy-key"),
      family: FAMILIES.claudeConverse as Family,
      timeMs: leak + i * r.int(60_000, 300_000),
      promptChars: 24,
      promptTokens: 6,
      cacheReadTokens: 180_000,
      offloadBody: true,
      completionTokens: r.int(200, 600),
      oldKeyOrder: false,
    });
  }
  // One IAM user, 3,000 InvokeModel calls of 7,900 + 7,900 tokens in an hour (text delivery off).
  const flood = Math.floor(r.int(startMs + HOUR_MS, endMs - 3 * HOUR_MS) / HOUR_MS) * HOUR_MS;
  for (let i = 0; i < 3000; i++) {
    calls.push({
      accountId: SAMPLE_ACCOUNTS.underThresholdFlood,
      identity: user(SAMPLE_ACCOUNTS.underThresholdFlood, "scraper"),
      family: FAMILIES.llama as Family,
      timeMs: flood + i * 1200,
      promptChars: 0,
      promptTokens: 7900,
      completionTokens: 7900,
      noBodies: true,
      oldKeyOrder: false,
    });
  }
  return calls;
}

/**
 * A week before the day and the day itself, for anomaly: an ETL role that uses 0.1 M tokens an hour (0.12 M at
 * its two busiest hours) every working hour, then 3.6 M in one hour of the day (30x); and a batch that uses
 * 5 M tokens every night at midnight UTC (quiet: it is its own baseline). Text delivery off (counts only), and
 * every request under the other detections' thresholds.
 */
function planAnomaly(r: Rng, endMs: number): CallSpec[] {
  const calls: CallSpec[] = [];
  const call = (accountId: string, identity: string, timeMs: number, tokens: number): CallSpec => ({
    accountId,
    identity,
    family: FAMILIES.claudeInvoke as Family,
    timeMs,
    promptChars: 0,
    promptTokens: 7000,
    cacheReadTokens: tokens - 7900,
    completionTokens: 900,
    noBodies: true,
    oldKeyOrder: false,
  });
  const spikeHour = r.int(9, 16);
  for (let day = 7; day >= 0; day--) {
    const d = endMs - (day + 1) * DAY_MS;
    const etl = role(SAMPLE_ACCOUNTS.etlSpike, "etl", `run-${r.int(1000, 9999)}`);
    for (let hour = 8; hour < 18; hour++) {
      const h = d + hour * HOUR_MS;
      const spike = day === 0 && hour === spikeHour;
      const n = spike ? 60 : 2;
      const tokens = spike || hour === 10 || hour === 16 ? 60_000 : 50_000;
      for (let i = 0; i < n; i++)
        calls.push(call(SAMPLE_ACCOUNTS.etlSpike, etl, h + i * (HOUR_MS / n) + r.int(0, 9000), tokens));
    }
    const batch = role(SAMPLE_ACCOUNTS.nightlyBatch, "nightly-batch", `job-${r.int(1000, 9999)}`);
    for (let i = 0; i < 63; i++)
      calls.push(call(SAMPLE_ACCOUNTS.nightlyBatch, batch, d + i * 55_000 + r.int(0, 9000), 80_000));
  }
  return calls;
}

export interface SampleSummary {
  files: number;
  records: number;
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's recursive mkdir retries forever where a
 * parent exists but refuses children with ENOENT (under /proc): here each level's error reaches the user.
 */
async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) missing.unshift(at);
  for (const level of missing) await mkdir(level);
}

/**
 * Writes the sample under `dir`: S3 layout `AWSLogs/<account>/BedrockModelInvocationLogs/us-east-1/YYYY/MM/DD/HH/*.json.gz`
 * for most accounts, and a CloudWatch Logs export (`<timestamp> <json>` lines, gzip) for one.
 */
export async function writeSampleData(
  dir: string,
  opts: { seed: number; endMs: number },
): Promise<SampleSummary> {
  const r = rng(opts.seed);
  const beyond = rng(opts.seed + 1);
  const history = rng(opts.seed + 2);
  const calls = planCalls(r, opts.endMs).map((c) => ({ c, r }));
  calls.push(...planBeyondTheHunt(beyond, opts.endMs).map((c) => ({ c, r: beyond })));
  calls.push(...planAnomaly(history, opts.endMs).map((c) => ({ c, r: history })));
  const files = new Map<string, string[]>();
  const exportedAccount = "111122223333";
  for (const { c, r: source } of calls) {
    const line = JSON.stringify(record(source, c));
    const iso = new Date(c.timeMs).toISOString();
    let path: string;
    let text = line;
    if (c.accountId === exportedAccount) {
      path = "cloudwatch-export/3f1c9a2e-export/aws/bedrock/modelinvocations/000000.gz";
      text = `${iso} ${line}`;
    } else {
      const hour = iso.slice(0, 13).replace(/[-T]/g, "/");
      const stamp = `${iso.slice(0, 13).replace(/-/g, "")}00`;
      path = `AWSLogs/${c.accountId}/BedrockModelInvocationLogs/us-east-1/${hour}/${stamp}Z_${c.accountId.slice(-4)}.json.gz`;
    }
    const lines = files.get(path) ?? [];
    lines.push(text);
    files.set(path, lines);
  }
  // Exports get cut off: one truncated line, which the scanner must report and skip.
  const exported = files.get("cloudwatch-export/3f1c9a2e-export/aws/bedrock/modelinvocations/000000.gz");
  if (exported && exported.length > 10) exported.splice(10, 0, (exported[10] ?? "").slice(0, 300));

  await makeDirectory(dir);
  await rm(join(dir, "AWSLogs"), { recursive: true, force: true });
  await rm(join(dir, "cloudwatch-export"), { recursive: true, force: true });
  let records = 0;
  for (const [path, lines] of files) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, gzipSync(`${lines.join("\n")}\n`, { level: 6 }));
    records += lines.length;
  }
  return { files: files.size, records };
}

/**
 * Endless seeded stream of realistic records for benchmarks (`npm run bench`): the sample's families and
 * bodies, prompts mostly short with a long tail up to 60,000 characters (about 6 KB a record on average), 50
 * accounts, a few failed calls, and about 1% of records delivered twice (same requestId). Same seed, same lines.
 */
export function* benchLines(seed: number, endMs: number): Generator<string> {
  const r = rng(seed);
  const families = Object.values(FAMILIES);
  let previous: string | null = null;
  for (;;) {
    if (previous !== null && r.chance(0.01)) {
      yield previous;
      continue;
    }
    const accountId = String(100000000000 + r.int(0, 49));
    const heavy = r.chance(0.05);
    const c: CallSpec = {
      accountId,
      identity: user(accountId, `u${r.int(0, 6)}`),
      family: r.pick(families),
      timeMs: endMs - r.int(1, DAY_MS - 1),
      promptChars: heavy ? r.int(30_000, 60_000) : Math.floor(400 * Math.exp(r.next() * 2.5)),
      completionTokens: heavy ? r.int(6_000, 9_500) : r.int(20, 600),
      ...(r.chance(0.05) ? { cacheWriteTokens: r.int(100, 4000) } : {}),
      ...(r.chance(0.02) ? { errorCode: "ThrottlingException" } : {}),
      oldKeyOrder: r.chance(0.3),
    };
    const rec = record(r, c);
    // Answers are cut in 40-unit chunks, which can split an emoji; DuckDB rejects the lone surrogates.
    previous = JSON.stringify(rec).replace(/\\ud[89ab][0-9a-f]{2}|\\ud[c-f][0-9a-f]{2}/g, "?");
    yield previous;
  }
}
