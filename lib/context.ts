/**
 * Deploy-time configuration from CDK context: defaults in cdk.json, overrides with `-c key=value`.
 * Every key is prefixed `bedrockDosDetector:`; an unknown key with that prefix is an error (typos fail loudly).
 * Values may be JSON-typed (cdk.json) or strings (`-c`): lists as JSON arrays or comma-separated strings,
 * booleans as true/false, durations as `90m`, `24h`, `7d`.
 */
import { Duration } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Node } from "constructs";
import { parseDuration } from "../core/rule.js";
import type { BedrockDosDetectorProps } from "./bedrock-dos-detector.js";

export const CONTEXT_PREFIX = "bedrockDosDetector:";

/** Context keys by short name; see the README's configuration table for meanings and defaults. */
export const CONTEXT_KEYS = {
  stackName: `${CONTEXT_PREFIX}stackName`,
  logGroups: `${CONTEXT_PREFIX}logGroups`,
  enableInvocationLogging: `${CONTEXT_PREFIX}enableInvocationLogging`,
  invocationLogRetentionDays: `${CONTEXT_PREFIX}invocationLogRetentionDays`,
  alertEmails: `${CONTEXT_PREFIX}alertEmails`,
  slackWorkspaceId: `${CONTEXT_PREFIX}slackWorkspaceId`,
  slackChannelId: `${CONTEXT_PREFIX}slackChannelId`,
  schedule: `${CONTEXT_PREFIX}schedule`,
  lookback: `${CONTEXT_PREFIX}lookback`,
  settleDelay: `${CONTEXT_PREFIX}settleDelay`,
  promptTokensThreshold: `${CONTEXT_PREFIX}promptTokensThreshold`,
  completionTokensThreshold: `${CONTEXT_PREFIX}completionTokensThreshold`,
  requestSizeThreshold: `${CONTEXT_PREFIX}requestSizeThreshold`,
  minRequests: `${CONTEXT_PREFIX}minRequests`,
  maxAlertsPerRun: `${CONTEXT_PREFIX}maxAlertsPerRun`,
  suppressFor: `${CONTEXT_PREFIX}suppressFor`,
  dryRun: `${CONTEXT_PREFIX}dryRun`,
  excludedAccountIds: `${CONTEXT_PREFIX}excludedAccountIds`,
  excludedIdentityPatterns: `${CONTEXT_PREFIX}excludedIdentityPatterns`,
  functionTimeout: `${CONTEXT_PREFIX}functionTimeout`,
  functionLogRetentionDays: `${CONTEXT_PREFIX}functionLogRetentionDays`,
  heartbeatLogGroup: `${CONTEXT_PREFIX}heartbeatLogGroup`,
  maxLogSilence: `${CONTEXT_PREFIX}maxLogSilence`,
} as const;

export const DEFAULT_STACK_NAME = "BedrockDosDetector";

/** A context value the app cannot use; the message names the key. */
export class ContextError extends Error {
  override name = "ContextError";
}

export interface DetectorAppConfig {
  readonly stackName: string;
  readonly detector: BedrockDosDetectorProps;
}

type Raw = unknown;

const isBlank = (v: Raw) => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

function str(key: string, v: Raw): string | undefined {
  if (isBlank(v)) return undefined;
  if (typeof v !== "string")
    throw new ContextError(`context ${key} must be a string, got ${JSON.stringify(v)}`);
  return v.trim();
}

function list(key: string, v: Raw): string[] | undefined {
  if (isBlank(v)) return undefined;
  let value = v;
  if (typeof value === "string" && value.trim().startsWith("[")) {
    try {
      value = JSON.parse(value);
    } catch {
      throw new ContextError(`context ${key} is not a valid JSON array: ${String(v)}`);
    }
  }
  if (typeof value === "string") {
    return value
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }
  if (Array.isArray(value) && value.every((s): s is string => typeof s === "string")) {
    return value.map((s) => s.trim()).filter((s) => s !== "");
  }
  throw new ContextError(`context ${key} must be a list of strings (JSON array or comma-separated)`);
}

function bool(key: string, v: Raw): boolean | undefined {
  if (isBlank(v)) return undefined;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  throw new ContextError(`context ${key} must be true or false, got ${JSON.stringify(v)}`);
}

function int(key: string, v: Raw): number | undefined {
  if (isBlank(v)) return undefined;
  const n =
    typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ContextError(`context ${key} must be a whole number greater than 0, got ${JSON.stringify(v)}`);
  }
  return n;
}

function duration(key: string, v: Raw): Duration | undefined {
  const text = str(key, v);
  if (text === undefined) return undefined;
  try {
    return Duration.millis(parseDuration(text, `context ${key}`));
  } catch (err) {
    throw new ContextError((err as Error).message);
  }
}

const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((d): d is number => typeof d === "number"),
);

function retention(key: string, v: Raw): logs.RetentionDays | undefined {
  const days = int(key, v);
  if (days === undefined) return undefined;
  if (!RETENTION_DAYS.has(days)) {
    throw new ContextError(
      `context ${key}: CloudWatch Logs has no ${days}-day retention; use one of ${[...RETENTION_DAYS].join(", ")} (9999 = never expire)`,
    );
  }
  return days as logs.RetentionDays;
}

/** Reads and checks the app's context; throws ContextError naming the first bad key. */
export function readDetectorContext(node: Node): DetectorAppConfig {
  const known = new Set<string>(Object.values(CONTEXT_KEYS));
  const all = node.getAllContext() as Record<string, unknown>;
  const unknown = Object.keys(all).filter((k) => k.startsWith(CONTEXT_PREFIX) && !known.has(k));
  if (unknown.length > 0) {
    throw new ContextError(
      `unknown context key ${unknown.join(", ")}; known keys: ${[...known].map((k) => k.slice(CONTEXT_PREFIX.length)).join(", ")}`,
    );
  }
  const get = (k: keyof typeof CONTEXT_KEYS): Raw => node.tryGetContext(CONTEXT_KEYS[k]);
  const K = CONTEXT_KEYS;

  const stackName = str(K.stackName, get("stackName")) ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new ContextError(
      `context ${K.stackName} "${stackName}" is not a stack name (letters, digits and hyphens, starting with a letter)`,
    );
  }

  const enableInvocationLogging = bool(K.enableInvocationLogging, get("enableInvocationLogging")) ?? false;
  const logGroups = list(K.logGroups, get("logGroups")) ?? [];
  let invocationLogGroupName: string | undefined;
  let logGroupIdentifiers = logGroups;
  if (enableInvocationLogging) {
    // The first log group is the one the stack creates; the rest are queried too.
    const [first, ...rest] = logGroups;
    if (first === undefined) {
      throw new ContextError(
        `context ${K.logGroups} is empty: with enableInvocationLogging=true its first entry names the log group to create`,
      );
    }
    if (first.startsWith("arn:")) {
      throw new ContextError(
        `context ${K.logGroups}: with enableInvocationLogging=true the first entry is the log group to create and must be a name, not an ARN ("${first}")`,
      );
    }
    invocationLogGroupName = first;
    logGroupIdentifiers = rest;
  }
  // Checked always, used only when the stack creates the log group.
  const invocationLogRetentionDays = retention(
    K.invocationLogRetentionDays,
    get("invocationLogRetentionDays"),
  );
  const invocationLogRetention = enableInvocationLogging ? invocationLogRetentionDays : undefined;

  const promptTokens = int(K.promptTokensThreshold, get("promptTokensThreshold"));
  const completionTokens = int(K.completionTokensThreshold, get("completionTokensThreshold"));
  const requestSize = int(K.requestSizeThreshold, get("requestSizeThreshold"));

  return {
    stackName,
    detector: {
      logGroupIdentifiers,
      enableInvocationLogging,
      invocationLogGroupName,
      invocationLogRetention,
      alertEmails: list(K.alertEmails, get("alertEmails")),
      slackWorkspaceId: str(K.slackWorkspaceId, get("slackWorkspaceId")),
      slackChannelId: str(K.slackChannelId, get("slackChannelId")),
      schedule: duration(K.schedule, get("schedule")),
      lookback: duration(K.lookback, get("lookback")),
      settleDelay: duration(K.settleDelay, get("settleDelay")),
      thresholds: { promptTokens, completionTokens, requestSize },
      minRequests: int(K.minRequests, get("minRequests")),
      maxAlertsPerRun: int(K.maxAlertsPerRun, get("maxAlertsPerRun")),
      suppressFor: duration(K.suppressFor, get("suppressFor")),
      dryRun: bool(K.dryRun, get("dryRun")),
      excludedAccountIds: list(K.excludedAccountIds, get("excludedAccountIds")),
      excludedIdentityPatterns: list(K.excludedIdentityPatterns, get("excludedIdentityPatterns")),
      timeout: duration(K.functionTimeout, get("functionTimeout")),
      functionLogRetention: retention(K.functionLogRetentionDays, get("functionLogRetentionDays")),
      heartbeatLogGroupName: str(K.heartbeatLogGroup, get("heartbeatLogGroup")),
      maxLogSilence: duration(K.maxLogSilence, get("maxLogSilence")),
    },
  };
}
