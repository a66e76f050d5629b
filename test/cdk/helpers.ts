/** Builders for the CDK tests: stacks synthesized in-process (the handlers are the prebuilt bundles), and template helpers. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App, Stack, type StackProps } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { CONTEXT_PREFIX } from "../../config/settings.js";
import { BedrockDosDetector, type BedrockDosDetectorProps } from "../../lib/index.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The context defaults committed in cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, "utf8")) as {
    context: Record<string, unknown>;
  };
  return json.context;
}

/**
 * The app as `cdk synth` builds it: cdk.json context, then the overrides, each under its
 * context key (`bedrockDosDetector:<key>`), given as `-c` would (strings) or as cdk.json would (JSON values).
 */
export function appWith(overrides: Record<string, unknown> = {}): App {
  const context: Record<string, unknown> = { ...cdkJsonContext() };
  for (const [k, v] of Object.entries(overrides)) context[`${CONTEXT_PREFIX}${k}`] = v;
  return new App({ context });
}

/**
 * The environment of a child process with no AWS credentials anywhere the default provider chain looks, no
 * metadata endpoint and no CDK_* variables (no default account or region), so nothing can reach AWS.
 * Docker is made unavailable too: any attempt to bundle with it fails loudly.
 */
export function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("AWS_") && !k.startsWith("CDK_")) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/nonexistent/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
    CDK_DOCKER: "/nonexistent/docker",
    ...extra,
  };
}

export interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly detector: BedrockDosDetector;
  readonly template: Template;
}

/** One stack holding one detector. */
export function build(props: BedrockDosDetectorProps, stackProps: StackProps = {}): Built {
  const app = new App();
  const stack = new Stack(app, "Test", stackProps);
  const detector = new BedrockDosDetector(stack, "Detector", props);
  return { app, stack, detector, template: Template.fromStack(stack) };
}

/** The only resource of a type (fails when there are none or several). */
export function only(template: Template, type: string): { id: string; props: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0] as [string, { Properties?: Record<string, unknown> }];
  return { id, props: resource.Properties ?? {} };
}

/** The statements of a policy resource from `template.findResources` (empty when it is missing). */
export function statementsOf(
  policy: { Properties?: { PolicyDocument?: { Statement?: unknown[] } } } | undefined,
): unknown[] {
  return policy?.Properties?.PolicyDocument?.Statement ?? [];
}

/** A template as JSON with every asset hash (64 hex digits) blanked, for snapshots. */
export function withBlankAssetHashes(template: Template): unknown {
  const text = JSON.stringify(template.toJSON(), null, 2).replace(/[0-9a-f]{64}/g, "<asset-hash>");
  return JSON.parse(text);
}

/** The detector function (the stack also holds the tamper-alert function). */
export function detectorFunction(template: Template): { id: string; props: Record<string, unknown> } {
  const found = Object.entries(template.findResources("AWS::Lambda::Function")).filter(([, r]) =>
    String(r.Properties?.Description ?? "").startsWith("Bedrock DoS / resource-exhaustion detector"),
  );
  if (found.length !== 1) throw new Error(`expected one detector function, found ${found.length}`);
  const [id, resource] = found[0] as [string, { Properties?: Record<string, unknown> }];
  return { id, props: resource.Properties ?? {} };
}

/** The detector function's own log group. */
export function detectorLogGroup(template: Template): { id: string; props: Record<string, unknown> } {
  const ref = (detectorFunction(template).props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
  const resource = template.findResources("AWS::Logs::LogGroup")[ref];
  return { id: ref, props: (resource?.Properties as Record<string, unknown>) ?? {} };
}
