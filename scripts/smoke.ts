/**
 * Post-deploy smoke test (`npm run smoke`): proves the deployed detector finds and alerts end to end.
 *
 * 1. Finds the detector function (`--function-name`, `cdk-outputs.json`, or the one function in the region
 *    whose environment says it is the detector) and reads its configuration from its environment.
 * 2. Subscribes a temporary SQS queue to the alert topic.
 * 3. Writes synthetic invocation records for a random, fictitious account (over the prompt-token threshold,
 *    one more than the minimum count) to a new stream in the watched log group.
 * 4. Invokes the function for that window as a dry run until Logs Insights sees the records, then once for
 *    real, and waits for the alert naming the synthetic account on the queue.
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

    // Synthetic records for a fictitious account.
    const accountId = `9${randomInt(10_000_000_000, 99_999_999_999)}`;
    const count = config.rule.minRequests + 1;
    const promptTokens = config.rule.thresholds.promptTokens + 1000;
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
        logEvents: Array.from({ length: count }, (_, i) => {
          const timestamp = firstMs + i * 1000;
          return { timestamp, message: syntheticRecord(accountId, runId, timestamp, region, promptTokens) };
        }),
      }),
    );
    log(`wrote ${count} synthetic records (${promptTokens} prompt tokens each) for account ${accountId}`);

    // Dry runs until Logs Insights sees the records, then one real run.
    const start = new Date(Math.floor((firstMs - 60_000) / 1000) * 1000).toISOString();
    const deadline = Date.now() + args.waitMinutes * 60_000;
    for (;;) {
      const summary = await invoke(lambda, functionName, {
        start,
        end: new Date().toISOString(),
        dryRun: true,
      });
      if (summary.accounts.includes(accountId)) break;
      if (Date.now() > deadline) {
        throw new SmokeError(
          `no finding for ${accountId} after ${args.waitMinutes} minute(s) of dry runs (last run: ${summary.findings} finding(s)); is ${logGroup} among the queried log groups?`,
        );
      }
      log("records not visible to Logs Insights yet; retrying in 15 s");
      await sleep(15_000);
    }
    log("dry run found the synthetic account; running for real");
    const summary = await invoke(lambda, functionName, {
      start,
      end: new Date().toISOString(),
      dryRun: false,
    });
    if (!summary.accounts.includes(accountId)) throw new SmokeError(`the real run did not flag ${accountId}`);
    if (summary.alertsPublished < 1)
      throw new SmokeError("the real run flagged the account but published no alert");
    log(`published ${summary.alertsPublished} alert(s); waiting for the one naming ${accountId}`);

    const receiveUntil = Date.now() + 120_000;
    while (Date.now() < receiveUntil) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 }),
      );
      if ((received.Messages ?? []).some((m) => m.Body?.includes(accountId))) {
        log(`passed: the alert for synthetic account ${accountId} reached the topic`);
        return 0;
      }
    }
    throw new SmokeError(`no alert naming ${accountId} arrived on the temporary queue within 2 minutes`);
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

/** A compact Bedrock model invocation log record; the body is a fixed sentence, never real data. */
function syntheticRecord(
  accountId: string,
  runId: string,
  timestampMs: number,
  region: string,
  promptTokens: number,
) {
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
      inputBodyJson: { prompt: "bedrock-dos-detector smoke test: synthetic record" },
      inputTokenCount: promptTokens,
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
