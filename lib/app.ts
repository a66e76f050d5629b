/**
 * The CDK app: reads the context, builds the detector stack and registers the cdk-nag AwsSolutions checks
 * (a finding fails `cdk synth` and `cdk deploy`). bin/app.ts runs it; the tests call it on their own App.
 */
import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readDetectorContext } from "./context.js";
import { DetectorStack } from "./detector-stack.js";

/** Builds the app's stack; throws ConstructError, one line in context terms. */
export function buildApp(app: App): DetectorStack {
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const config = readDetectorContext(app.node, env);
  const stack = new DetectorStack(app, config.stackName, {
    stackName: config.stackName,
    env,
    detector: config.props,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
