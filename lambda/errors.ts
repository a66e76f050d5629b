/** Run failures the handler reports in one line; all of them fail the invocation. */

/** CloudWatch Logs rejected the query itself (missing log group, access denied, malformed query): fix the deployment. */
export class QueryRejectedError extends Error {
  override name = "QueryRejectedError";
}

/** The Insights query ended without results (Failed, Cancelled, Timeout, Unknown) or could not start. */
export class QueryError extends Error {
  override name = "QueryError";
}

/** The Lambda would run out of time: the query was stopped. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/** An alert could not be published; `published` were sent before it. */
export class PublishError extends Error {
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
export class FindingPublicationError extends Error {
  override name = "FindingPublicationError";
}
