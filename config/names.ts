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
  /** Result values made missing (not integers): the row's other values stand. */
  resultValuesRejected: "ResultValuesRejected",
  ledgerWriteFailed: "LedgerWriteFailed",
  /** Periods of the window a run could not query in time (it is catching up). */
  slicesPending: "SlicesPending",
  /** Periods a run queried (1 in steady state). */
  slicesQueried: "SlicesQueried",
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

/**
 * The detector's state table: the alert ledger (one item per alerted account) and the stored slices (the
 * matching requests of each schedule period). Key and attribute names, shared by the construct that creates
 * the table and the adapters that use it.
 */
export const STATE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  /** Partition key of an account's last alert: `alert#<accountId>`; sort key `last`. */
  alertPrefix: "alert#",
  /** Partition key of every stored slice; sort key `<end ms>#<start ms>#<part>` (13-digit ms, sortable). */
  slicePartition: "slice",
} as const;
