/**
 * The Lambda's one error model: every failure the handler reports in one line (`run failed: <name>: <message>`)
 * is a DetectorError, and all of them fail the invocation (retries, alarms and the dead-letter queue see it).
 * Anything else is a bug, logged the same way with its stack.
 */

import type { SettingsError } from "../config/setting-problems.js";

export class DetectorError extends Error {
  override name = "DetectorError";
}

/** The function's environment cannot be used: the message and `variables` name each variable at fault. */
export class ConfigurationError extends DetectorError {
  override name = "ConfigurationError";
  readonly variables: readonly string[];
  constructor(cause: SettingsError) {
    super(cause.as("env").message, { cause });
    this.variables = cause.namesOn("env");
  }
}

/** An event the detector cannot run on (a manual run's bad window); the message says why. */
export class EventError extends DetectorError {
  override name = "EventError";
}

/** CloudWatch Logs rejected the query itself (missing log group, access denied, malformed query): fix the deployment. */
export class QueryRejectedError extends DetectorError {
  override name = "QueryRejectedError";
}

/** The Insights query ended without results (Failed, Cancelled, Timeout, Unknown) or could not start. */
export class QueryError extends DetectorError {
  override name = "QueryError";
}

/** The Lambda would run out of time: the query was stopped. */
export class DeadlineError extends DetectorError {
  override name = "DeadlineError";
}

/** The query was stopped because its caller was interrupted (the CLI's Ctrl-C). */
export class QueryStoppedError extends DetectorError {
  override name = "QueryStoppedError";
  /** The query stopped; undefined when none had started. */
  constructor(
    message: string,
    readonly queryId?: string,
  ) {
    super(message);
  }
}

/** An alert could not be published; `published` were sent before it. */
export class PublishError extends DetectorError {
  override name = "PublishError";
  constructor(
    message: string,
    readonly published: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Alerts went out, but sending findings to EventBridge or Security Hub failed (per entry, in the logs). */
export class FindingPublicationError extends DetectorError {
  override name = "FindingPublicationError";
}
