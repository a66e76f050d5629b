/** Builders for the CDK tests: stacks synthesized without bundling (fast), and template helpers. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App, Stack, type StackProps } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { BedrockDosDetector, type BedrockDosDetectorProps } from "../../lib/bedrock-dos-detector.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Context that skips asset bundling: infrastructure tests need no esbuild run. */
export const NO_BUNDLING = { "aws:cdk:bundling-stacks": [] } as const;

/** The context defaults committed in cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, "utf8")) as {
    context: Record<string, unknown>;
  };
  return json.context;
}

export interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly detector: BedrockDosDetector;
  readonly template: Template;
}

/** One stack holding one detector, synthesized without bundling. */
export function build(props: BedrockDosDetectorProps, stackProps: StackProps = {}): Built {
  const app = new App({ context: NO_BUNDLING });
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
