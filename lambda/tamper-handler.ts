/**
 * Entry point of the tamper-alert function: the EventBridge rule on Bedrock's logging configuration invokes
 * it with the CloudTrail event, and it publishes the alert in both formats (`MessageStructure: 'json'`, which
 * an EventBridge SNS target cannot set). A failure fails the invocation: retried, then the dead-letter queue.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { ENV } from "../config/environment.js";
import { publishAlerts } from "./adapters/alert-topic.js";
import { DEFAULT_DETECTOR_LABEL } from "./config.js";
import { tamperAlert } from "./tamper-alert.js";

const sns = new SNSClient({});

export async function handler(event: unknown): Promise<void> {
  const topic = process.env[ENV.alertTopicArn];
  if (!topic) throw new Error(`${ENV.alertTopicArn} is not set`);
  const label = process.env[ENV.detectorLabel]?.trim() || DEFAULT_DETECTOR_LABEL;
  await publishAlerts(sns, topic, [tamperAlert(event, label)]);
}
