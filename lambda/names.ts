/** Powertools names shared by the handler, the construct (its alarms) and the smoke test; no dependencies. */

/** Powertools service name: the `service` dimension of every custom metric the handler publishes. */
export const POWERTOOLS_SERVICE_NAME = "bedrock-dos-detector";
/** CloudWatch namespace of the handler's custom metrics (`RunSucceeded`, `AccountsFlagged`, ...). */
export const POWERTOOLS_METRICS_NAMESPACE = "BedrockDosDetector";
