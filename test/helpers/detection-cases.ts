/**
 * A day of Bedrock invocation records (as raw JSON lines, compact, Bedrock's newer key order) holding the two
 * cases the hunt walks past, and ordinary traffic that no detection may flag (issue 16, docs/detections.md):
 *
 * - `cachedLeak`: a leaked key sends 6 Converse calls that each read 180,000 cached prompt tokens
 *   (`inputTokenCount` 6, body offloaded to S3).
 * - `flood`: one IAM user sends 3,000 InvokeModel calls of 7,900 prompt + 7,900 completion tokens within an
 *   hour (text delivery off, so no body and no request size): 47.4 M tokens.
 * - `steady`: a service sending a 2,500-token request every 20 seconds all day (about 0.5 M tokens an hour),
 *   from a role whose session changes every hour.
 * - `ordinary`: 40 accounts with 300 small requests each over the day.
 *
 * Deterministic: no randomness, so every engine and every run sees the same records.
 */
export const DAY_START = Date.parse("2026-11-19T00:00:00Z");
export const DAY = { startMs: DAY_START, endMs: DAY_START + 86_400_000 };

export const CASES = {
  cachedLeak: "444455556666",
  flood: "777788889999",
  steady: "121212121212",
} as const;

export const CACHED_LEAK_ARN = "arn:aws:iam::444455556666:user/ci-deploy-key";
export const FLOOD_ARN = "arn:aws:iam::777788889999:user/scraper";
export const STEADY_ROLE = "arn:aws:sts::121212121212:assumed-role/support-bot";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
let id = 0;
const requestId = () => {
  const hex = (++id).toString(16).padStart(12, "0");
  return `0000c0de-0000-4000-8000-${hex}`;
};

interface Spec {
  timestampMs: number;
  accountId: string;
  identityArn: string;
  modelId: string;
  operation: string;
  /** Inline body JSON text, an S3 path, or neither (text delivery off). */
  body?: string;
  s3?: boolean;
  inputTokens: number;
  cacheRead?: number;
  outputTokens: number;
}

function line(s: Spec): string {
  const input: string[] = ['"inputContentType":"application/json"'];
  if (s.body !== undefined) input.push(`"inputBodyJson":${s.body}`);
  if (s.s3) {
    input.push(
      `"inputBodyS3Path":"s3://bedrock-logs/AWSLogs/${s.accountId}/BedrockModelInvocationLogs/us-east-1/data/${requestId()}_input.json"`,
    );
  }
  input.push(`"inputTokenCount":${s.inputTokens}`);
  if (s.cacheRead !== undefined)
    input.push(`"cacheReadInputTokenCount":${s.cacheRead}`, '"cacheWriteInputTokenCount":0');
  return (
    `{"timestamp":"${iso(s.timestampMs)}","accountId":"${s.accountId}","region":"us-east-1","requestId":"${requestId()}",` +
    `"operation":"${s.operation}","modelId":"${s.modelId}","input":{${input.join(",")}},` +
    `"output":{"outputContentType":"application/json","outputTokenCount":${s.outputTokens}},` +
    `"identity":{"arn":"${s.identityArn}"},"schemaType":"ModelInvocationLog","schemaVersion":"1.0"}`
  );
}

const SMALL_BODY = JSON.stringify({
  messages: [{ role: "user", content: [{ text: "Summarise this ticket." }] }],
});

/** The day's records as JSON lines, oldest first. */
export function detectionCorpus(): string[] {
  id = 0;
  const specs: Spec[] = [];
  // The leaked key: 6 calls between 03:00 and 03:25.
  for (let i = 0; i < 6; i++) {
    specs.push({
      timestampMs: DAY_START + 3 * 3_600_000 + i * 5 * 60_000,
      accountId: CASES.cachedLeak,
      identityArn: CACHED_LEAK_ARN,
      modelId: "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
      operation: "Converse",
      s3: true,
      inputTokens: 6,
      cacheRead: 180_000,
      outputTokens: 350,
    });
  }
  // The flood: 3,000 calls between 14:00 and 15:00, one every 1.2 s.
  for (let i = 0; i < 3000; i++) {
    specs.push({
      timestampMs: DAY_START + 14 * 3_600_000 + i * 1200,
      accountId: CASES.flood,
      identityArn: FLOOD_ARN,
      modelId: "meta.llama3-1-70b-instruct-v1:0",
      operation: "InvokeModel",
      inputTokens: 7900,
      outputTokens: 7900,
    });
  }
  // The steady service: every 20 s all day, a new session every hour.
  for (let t = 0; t < 86_400_000; t += 20_000) {
    specs.push({
      timestampMs: DAY_START + t,
      accountId: CASES.steady,
      identityArn: `${STEADY_ROLE}/i-${Math.floor(t / 3_600_000)}`,
      modelId: "anthropic.claude-3-5-haiku-20241022-v1:0",
      operation: "InvokeModel",
      inputTokens: 2000,
      outputTokens: 500,
    });
  }
  // Ordinary accounts: 300 small requests each, spread over the day.
  for (let a = 0; a < 40; a++) {
    const accountId = String(300000000000 + a);
    for (let i = 0; i < 300; i++) {
      specs.push({
        timestampMs: DAY_START + ((i * 288_000 + a * 7_919) % 86_400_000),
        accountId,
        identityArn: `arn:aws:sts::${accountId}:assumed-role/app/session-${i % 3}`,
        modelId: "amazon.nova-lite-v1:0",
        operation: "Converse",
        body: SMALL_BODY,
        inputTokens: 200 + ((i * 37) % 1800),
        outputTokens: 50 + ((i * 13) % 400),
      });
    }
  }
  return specs.sort((x, y) => x.timestampMs - y.timestampMs).map(line);
}
