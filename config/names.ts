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
  /** Hours of anomaly's history not stored yet (a new deployment catching up). */
  historyHoursPending: "HistoryHoursPending",
  /** The run's state-table traffic: items and bytes read and written. */
  stateItemsRead: "StateItemsRead",
  stateBytesRead: "StateBytesRead",
  stateItemsWritten: "StateItemsWritten",
  stateBytesWritten: "StateBytesWritten",
  findingEventsFailed: "FindingEventsFailed",
  securityHubImportFailed: "SecurityHubImportFailed",
} as const;

/** The dimension (besides Powertools' `service`) that tells detectors apart; its value is the detector label. */
export const DETECTOR_DIMENSION = "Detector";

/** EventBridge `source` and `detail-type` of the finding events (docs/alerts-and-runbook.md "Findings for SOAR"). */
export const FINDING_EVENT = {
  source: "bedrock-dos-detector",
  detailType: "Bedrock DoS Finding",
} as const;

/**
 * The detector's state table: the alert ledger (one item per alerted account), the stored slices (the
 * usage groups of each schedule period) and anomaly's history (an hourly roll-up per principal). Key and attribute names, shared by the construct that creates
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
  /** Partition key of anomaly's hourly roll-up of one principal: `hours#<accountId>#<principal>`; sort key the hour's 13-digit ms. */
  principalHoursPrefix: "hours#",
  /** Partition key of the index of hours rolled up; sort key `index`. */
  historyPartition: "history",
} as const;
