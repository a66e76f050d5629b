/**
 * Names shared by the handler, the construct (alarms, table), the smoke test and the tests. No dependencies,
 * so synth loads no AWS SDK client.
 */

/** Powertools service name: the `service` dimension of every custom metric the handler publishes. */
export const POWERTOOLS_SERVICE_NAME = "bedrock-dos-detector";
/** CloudWatch namespace of the handler's custom metrics. */
export const POWERTOOLS_METRICS_NAMESPACE = "BedrockDosDetector";

/** The handler's custom metrics, by what they count. */
export const METRIC = {
  runSucceeded: "RunSucceeded",
  runFailed: "RunFailed",
  queryDuration: "QueryDuration",
  bytesScanned: "BytesScanned",
  recordsScanned: "RecordsScanned",
  recordsMatched: "RecordsMatched",
  accountsFlagged: "AccountsFlagged",
  alertsPublished: "AlertsPublished",
  alertsSuppressed: "AlertsSuppressed",
  resultLimitReached: "ResultLimitReached",
  ledgerWriteFailed: "LedgerWriteFailed",
  findingEventsFailed: "FindingEventsFailed",
  securityHubImportFailed: "SecurityHubImportFailed",
} as const;

/** The dimension (besides Powertools' `service`) that tells detectors apart; its value is the detector label. */
export const DETECTOR_DIMENSION = "Detector";

/** EventBridge `source` and `detail-type` of the finding events (README "Findings for SOAR"). */
export const FINDING_EVENT = {
  source: "bedrock-dos-detector",
  detailType: "Bedrock DoS Finding",
} as const;

/** The alert ledger's key and attribute names (the construct creates the table, the adapter uses it). */
export const LEDGER = {
  partitionKey: "accountId",
  ttlAttribute: "expiresAt",
  windowEnd: "windowEndMs",
  requestCount: "requestCount",
  alertedAt: "alertedAt",
} as const;
