/**
 * Post-deploy smoke test (`npm run smoke`): proves the deployed detector finds and alerts end to end.
 *
 * 1. Finds the detector function (`--function-name`, `cdk-outputs.json`, or the one function in the region
 *    whose environment says it is the detector) and reads its configuration from its environment.
 * 2. Subscribes a temporary SQS queue to the alert topic.
 * 3. Writes synthetic invocation records for two random, fictitious accounts to a new stream in the watched
 *    log group, one more than the minimum count each: one over the prompt-token threshold (the hunt), one with
 *    6 prompt tokens and more than `cachedInputTokens` read from the prompt cache, its body in S3
 *    (`cached-input`: the real Logs Insights runs the query's conditional arithmetic).
 * 4. Invokes the function for that window as a dry run until Logs Insights sees the records, then once for
 *    real, and waits for the alerts naming each synthetic account (the second saying cached-input).
 * 5. Removes the queue, the subscription and the log stream (the alert ledger item expires by itself).
 *
 * Without AWS credentials (the SDK's default provider chain finds none) it prints
 * "skipped: no AWS credentials" and exits 0. Exit codes: 0 passed or skipped, 1 failed, 2 bad usage.
 *
 *   npm run smoke
 *   npm run smoke -- --function-name BedrockDosDetector-DetectorFunction-AbC123 --log-group /aws/bedrock/x
 */
import { randomInt, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  DeleteLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  paginateListFunctions,
} from "@aws-sdk/client-lambda";
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { POWERTOOLS_SERVICE_NAME } from "../config/names.js";
import { SETTINGS } from "../config/settings.js";
import { type DetectorConfig, loadConfig } from "../lambda/config.js";

/** A reason the smoke test cannot pass; printed as one line. */
class SmokeError extends Error {
  override name = "SmokeError";
}

/** The part of the function's JSON summary the smoke test reads. */
interface RunSummary {
  findings: number;
  accounts: string[];
  alertsPublished: number;
}

const log = (line: string) => console.log(`smoke: ${line}`);

const USAGE = `usage: npm run smoke [-- --function-name NAME] [--log-group NAME] [--wait-minutes N] [--keep-records]`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseOptions>;
  try {
    args = parseOptions();
  } catch (err) {
    console.error(`smoke: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }

  const lambda = new LambdaClient({});
  try {
    await lambda.config.credentials();
  } catch (err) {
    log(`skipped: no AWS credentials (${(err as Error).message.split("\n")[0]})`);
    return 0;
  }
  let region: string;
  try {
    region = await lambda.config.region();
  } catch {
    console.error("smoke: AWS credentials found but no region: set AWS_REGION (or a profile region)");
    return 2;
  }

  const logs = new CloudWatchLogsClient({});
  const sns = new SNSClient({});
  const sqs = new SQSClient({});
  const runId = randomUUID().slice(0, 8);
  const cleanups: { what: string; run: () => Promise<unknown> }[] = [];

  try {
    const functionName = await findFunction(lambda, args.functionName);
    const config = await functionConfig(lambda, functionName);
    const logGroup = args.logGroup ?? config.logGroupIdentifiers.find((id) => !id.startsWith("arn:"));
    if (logGroup === undefined) {
      throw new SmokeError(
        "the detector only watches log group ARNs: pass --log-group NAME to write records to",
      );
    }
    log(`function ${functionName} in ${region}, topic ${config.alertTopicArn}, log group ${logGroup}`);

    // A temporary queue subscribed to the alert topic.
    const queueName = `bedrock-dos-smoke-${runId}`;
    const { QueueUrl: queueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: queueName, Attributes: { SqsManagedSseEnabled: "true" } }),
    );
    if (!queueUrl) throw new SmokeError("CreateQueue returned no queue URL");
    cleanups.push({
      what: `queue ${queueName}`,
      run: () => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })),
    });
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const queueArn = attributes.Attributes?.QueueArn;
    if (!queueArn) throw new SmokeError("GetQueueAttributes returned no queue ARN");
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "sns.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: queueArn,
                Condition: { ArnEquals: { "aws:SourceArn": config.alertTopicArn } },
              },
            ],
          }),
        },
      }),
    );
    const subscription = await sns.send(
      new SubscribeCommand({
        TopicArn: config.alertTopicArn,
        Protocol: "sqs",
        Endpoint: queueArn,
        ReturnSubscriptionArn: true,
      }),
    );
    const subscriptionArn = subscription.SubscriptionArn;
    if (subscriptionArn) {
      cleanups.push({
        what: "subscription",
        run: () => sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn })),
      });
    }
    log(`subscribed temporary queue ${queueName}`);

    // Synthetic records for two fictitious accounts: one the hunt flags (prompt tokens over the threshold),
    // one only cached-input does (a few prompt tokens, many read from the prompt cache, body in S3), so the
    // real Logs Insights runs both the hunt's and the other detections' arithmetic.
    const accountId = `9${randomInt(10_000_000_000, 99_999_999_999)}`;
    const cachedAccountId = `9${randomInt(10_000_000_000, 99_999_999_999)}`;
    const count = config.rule.minRequests + 1;
    const promptTokens = config.rule.thresholds.promptTokens + 1000;
    const cacheRead = config.rule.cachedInputTokens + 1000;
    const firstMs = Date.now() - 60_000;
    const stream = `bedrock-dos-detector-smoke-${runId}`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream }));
    if (!args.keepRecords) {
      cleanups.push({
        what: `log stream ${stream}`,
        run: () => logs.send(new DeleteLogStreamCommand({ logGroupName: logGroup, logStreamName: stream })),
      });
    }
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: logGroup,
        logStreamName: stream,
        logEvents: Array.from({ length: 2 * count }, (_, i) => {
          const timestamp = firstMs + i * 500;
          const message =
            i % 2 === 0
              ? syntheticRecord(accountId, runId, timestamp, region, { promptTokens })
              : syntheticRecord(cachedAccountId, runId, timestamp, region, { promptTokens: 6, cacheRead });
          return { timestamp, message };
        }),
      }),
    );
    log(
      `wrote ${count} synthetic records (${promptTokens} prompt tokens each) for account ${accountId}, and ${count} (6 prompt tokens, ${cacheRead} read from the cache) for account ${cachedAccountId}`,
    );
    const both = [accountId, cachedAccountId];

    // Dry runs until Logs Insights sees the records, then one real run.
    const start = new Date(Math.floor((firstMs - 60_000) / 1000) * 1000).toISOString();
    const deadline = Date.now() + args.waitMinutes * 60_000;
    for (;;) {
      const summary = await invoke(lambda, functionName, {
        start,
        end: new Date().toISOString(),
        dryRun: true,
      });
      if (both.every((a) => summary.accounts.includes(a))) break;
      if (Date.now() > deadline) {
        const missing = both.filter((a) => !summary.accounts.includes(a)).join(" and ");
        throw new SmokeError(
          `no finding for ${missing} after ${args.waitMinutes} minute(s) of dry runs (last run: ${summary.findings} finding(s)); is ${logGroup} among the queried log groups?`,
        );
      }
      log("records not visible to Logs Insights yet; retrying in 15 s");
      await sleep(15_000);
    }
    log("dry run found both synthetic accounts; running for real");
    const summary = await invoke(lambda, functionName, {
      start,
      end: new Date().toISOString(),
      dryRun: false,
    });
    for (const a of both)
      if (!summary.accounts.includes(a)) throw new SmokeError(`the real run did not flag ${a}`);
    if (summary.alertsPublished < 2)
      throw new SmokeError("the real run flagged both accounts but published fewer than 2 alerts");
    log(`published ${summary.alertsPublished} alert(s); waiting for the ones naming ${both.join(" and ")}`);

    // The alert for the cached account must say cached-input: the detection, not only the account, came through.
    const awaited = new Map([
      [accountId, "heavy requests"],
      [cachedAccountId, "cached-input"],
    ]);
    const receiveUntil = Date.now() + 120_000;
    while (Date.now() < receiveUntil && awaited.size > 0) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 }),
      );
      for (const m of received.Messages ?? []) {
        for (const [a, words] of awaited)
          if (m.Body?.includes(a) && m.Body.includes(words)) awaited.delete(a);
      }
    }
    if (awaited.size === 0) {
      log(`passed: the alerts for ${both.join(" and ")} (heavy requests, cached-input) reached the topic`);
      return 0;
    }
    throw new SmokeError(
      `no alert naming ${[...awaited].map(([a, w]) => `${a} with "${w}"`).join(" and ")} arrived on the temporary queue within 2 minutes`,
    );
  } catch (err) {
    const e = err as Error;
    console.error(`smoke: FAILED: ${e instanceof SmokeError ? e.message : `${e.name}: ${e.message}`}`);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (err) {
        console.error(`smoke: could not remove ${cleanup.what}: ${(err as Error).message}`);
      }
    }
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      "function-name": { type: "string" },
      "log-group": { type: "string" },
      "wait-minutes": { type: "string", default: "5" },
      "keep-records": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const waitMinutes = Number(values["wait-minutes"]);
  if (!Number.isInteger(waitMinutes) || waitMinutes < 1 || waitMinutes > 60) {
    throw new Error(`--wait-minutes must be a whole number from 1 to 60, got ${values["wait-minutes"]}`);
  }
  return {
    functionName: values["function-name"] ?? process.env.BEDROCK_DOS_DETECTOR_FUNCTION,
    logGroup: values["log-group"],
    waitMinutes,
    keepRecords: values["keep-records"] ?? false,
    help: values.help ?? false,
  };
}

/** The function named on the command line, in cdk-outputs.json, or the only detector in the region. */
async function findFunction(lambda: LambdaClient, explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  if (existsSync("cdk-outputs.json")) {
    const outputs = JSON.parse(readFileSync("cdk-outputs.json", "utf8")) as Record<
      string,
      Record<string, string>
    >;
    const names = Object.values(outputs).flatMap((o) =>
      o.FunctionName && o.AlertTopicArn ? [o.FunctionName] : [],
    );
    if (names.length === 1 && names[0]) return names[0];
  }
  const found: string[] = [];
  for await (const page of paginateListFunctions({ client: lambda }, {})) {
    for (const f of page.Functions ?? []) {
      const vars = f.Environment?.Variables ?? {};
      if (
        vars.POWERTOOLS_SERVICE_NAME === POWERTOOLS_SERVICE_NAME &&
        vars[SETTINGS.alertTopicArn.env] &&
        f.FunctionName
      ) {
        found.push(f.FunctionName);
      }
    }
  }
  const [only, ...others] = found;
  if (only === undefined) {
    throw new SmokeError(
      "no detector function in this region: deploy it first (npx cdk deploy) or pass --function-name",
    );
  }
  if (others.length > 0) {
    throw new SmokeError(`several detector functions (${found.join(", ")}): pass --function-name`);
  }
  return only;
}

/** The deployed function's configuration, read with the handler's own schema. */
async function functionConfig(lambda: LambdaClient, functionName: string): Promise<DetectorConfig> {
  const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  // AWS_REGION is set by Lambda at run time, not stored in the function's configuration.
  return loadConfig({ ...fn.Environment?.Variables, AWS_REGION: await lambda.config.region() });
}

/** Invokes synchronously; a function error or a throttled run (one run at a time) is retried or reported. */
async function invoke(lambda: LambdaClient, functionName: string, event: object): Promise<RunSummary> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      const payload = out.Payload ? new TextDecoder().decode(out.Payload) : "";
      if (out.FunctionError) throw new SmokeError(`the function failed: ${payload.slice(0, 500)}`);
      const summary = JSON.parse(payload) as Partial<RunSummary>;
      if (typeof summary.findings !== "number" || !Array.isArray(summary.accounts)) {
        throw new SmokeError(`unexpected function result: ${payload.slice(0, 500)}`);
      }
      return {
        findings: summary.findings,
        accounts: summary.accounts,
        alertsPublished: summary.alertsPublished ?? 0,
      };
    } catch (err) {
      if ((err as Error).name !== "TooManyRequestsException" || attempt >= 10) throw err;
      log("the detector is busy (a scheduled run is going); retrying in 30 s");
      await sleep(30_000);
    }
  }
}

/**
 * A compact Bedrock model invocation log record; the body is a fixed sentence, never real data. With
 * `cacheRead`, a call that read most of its prompt from the prompt cache, its body offloaded to S3.
 */
function syntheticRecord(
  accountId: string,
  runId: string,
  timestampMs: number,
  region: string,
  tokens: { promptTokens: number; cacheRead?: number },
) {
  const body =
    tokens.cacheRead === undefined
      ? { inputBodyJson: { prompt: "bedrock-dos-detector smoke test: synthetic record" } }
      : { inputBodyS3Path: `s3://bedrock-dos-smoke/${runId}/input.json` };
  const cache =
    tokens.cacheRead === undefined
      ? {}
      : { cacheReadInputTokenCount: tokens.cacheRead, cacheWriteInputTokenCount: 0 };
  return JSON.stringify({
    timestamp: new Date(timestampMs).toISOString(),
    accountId,
    identity: { arn: `arn:aws:sts::${accountId}:assumed-role/bedrock-dos-smoke/${runId}` },
    region,
    requestId: randomUUID(),
    operation: "InvokeModel",
    modelId: "smoke-test.synthetic-model-v1:0",
    input: {
      inputContentType: "application/json",
      ...body,
      inputTokenCount: tokens.promptTokens,
      ...cache,
    },
    output: {
      outputContentType: "application/json",
      outputBodyJson: { completion: "ok" },
      outputTokenCount: 5,
    },
    schemaType: "ModelInvocationLog",
    schemaVersion: "1.0",
  });
}

// Exit explicitly: idle SDK sockets must not keep the process alive.
process.exit(await main());
