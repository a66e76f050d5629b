/**
 * The CDK app: reads the context, builds the detector stack and registers the cdk-nag AwsSolutions checks
 * (a finding fails `cdk synth` and `cdk deploy`). bin/app.ts runs it; the tests call it on their own App.
 */
import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { DetectorPropsError } from "./bedrock-dos-detector.js";
import { CONTEXT_KEYS, CONTEXT_PREFIX, ContextError, readDetectorContext } from "./context.js";
import { DetectorStack } from "./detector-stack.js";

/** Construct prop names as the context keys users set (the rest are spelled the same). */
const PROP_TO_CONTEXT: Record<string, string> = {
  logGroupIdentifiers: "logGroups",
  invocationLogGroupName: "logGroups (first entry)",
  invocationLogRetention: "invocationLogRetentionDays",
  "thresholds.promptTokens": "promptTokensThreshold",
  "thresholds.completionTokens": "completionTokensThreshold",
  "thresholds.requestSize": "requestSizeThreshold",
  timeout: "functionTimeout",
  heartbeatLogGroupName: "heartbeatLogGroup",
};

/**
 * A DetectorPropsError message in the terms of the app: each problem starts with the prop it is about, which
 * becomes the context key that sets it.
 */
export function inContextTerms(message: string): string {
  const contextNames = new Set(Object.keys(CONTEXT_KEYS));
  return message
    .replace(/^BedrockDosDetector: /, "")
    .split("; ")
    .map((problem) =>
      problem.replace(/^[\w.]+/, (prop) => {
        const key = PROP_TO_CONTEXT[prop] ?? (contextNames.has(prop) ? prop : undefined);
        return key === undefined ? prop : `${CONTEXT_PREFIX}${key}`;
      }),
    )
    .join("; ");
}

/** Builds the app's stack; throws ContextError with a one-line message for bad context or settings. */
export function buildApp(app: App): DetectorStack {
  const config = readDetectorContext(app.node);
  let stack: DetectorStack;
  try {
    stack = new DetectorStack(app, config.stackName, {
      stackName: config.stackName,
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
      detector: config.detector,
    });
  } catch (err) {
    if (err instanceof DetectorPropsError) throw new ContextError(inContextTerms(err.message));
    throw err;
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
