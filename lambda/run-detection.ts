/**
 * One detection run: query Logs Insights for the window, merge the rows into per-account findings with the
 * core's partial aggregates, and publish alerts. Clients, clock, logger and metrics come in as arguments.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { SNSClient } from "@aws-sdk/client-sns";
import { type Aggregates, addGroup, type Finding, type MatchGroup, toFindings } from "../core/evaluator.js";
import {
  ACCOUNT_ID,
  buildInsightsQuery,
  DEFAULT_ROW_LIMIT,
  MAX_FILTER_ACCOUNT_IDS,
} from "../core/insights-query.js";
import { parseRows } from "../core/insights-rows.js";
import { DAY_MS } from "../core/rule.js";
import type { AlertLedger } from "./adapters/alert-ledger.js";
import { publishAlerts } from "./adapters/alert-topic.js";
import { type QueryOutcome, type QueryStatistics, runInsightsQuery } from "./adapters/logs-insights.js";
import { type AlertContext, buildAlerts } from "./alerts.js";
import { type DetectorConfig, identityPatternToRegExp } from "./config.js";
import type { RunRequest } from "./run-request.js";
import { decideAlert } from "./suppression.js";

/** The slice of Powertools Logger used here. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The slice of Powertools Metrics used here (units as Powertools names them). */
export interface MetricSink {
  addMetric(name: string, unit: "Count" | "Bytes" | "Milliseconds", value: number): unknown;
}

export interface DetectionDeps {
  readonly logs: CloudWatchLogsClient;
  readonly sns: SNSClient;
  readonly log: Log;
  readonly metrics: MetricSink;
  readonly region: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Milliseconds left before the Lambda times out. */
  remainingTimeMs(): number;
  /** Row limit per query (tests lower it to exercise the fallback). */
  readonly rowLimit?: number;
  /** Remembers sent alerts (retry dedup and suppression); without it every flagged account is alerted. */
  readonly ledger?: Pick<AlertLedger, "lastAlert" | "recordAlert">;
}

export interface RunSummary {
  trigger: RunRequest["trigger"];
  window: { start: string; end: string };
  dryRun: boolean;
  findings: number;
  accounts: string[];
  alertsPublished: number;
  alertsPrepared: number;
  /** Flagged accounts not alerted: already alerted for this window, or suppressed. */
  alertsSuppressed: number;
  queries: number;
  /** True when results reached the row limit and the fallback queries were used. */
  fellBack: boolean;
  rowsRejected: number;
  /** Values made missing in kept rows (not integers, e.g. a count beyond the safe range). */
  valuesRejected: number;
  statistics: QueryStatistics;
}

/** Time kept back from the Lambda deadline for publishing and reporting. */
export const PUBLISH_RESERVE_MS = 15_000;

export async function runDetection(
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<RunSummary> {
  const limit = deps.rowLimit ?? DEFAULT_ROW_LIMIT;
  const clock = {
    now: deps.now,
    sleep: deps.sleep,
    deadlineMs: deps.now() + deps.remainingTimeMs() - PUBLISH_RESERVE_MS,
  };
  const excludedIdentities = config.excludedIdentityPatterns.map(identityPatternToRegExp);
  const statistics: QueryStatistics = { bytesScanned: 0, recordsScanned: 0, recordsMatched: 0 };
  let queries = 0;
  let rowsRejected = 0;
  let valuesRejected = 0;

  const query = async (shape: "account" | "evidence", onlyAccountIds?: string[]): Promise<QueryOutcome> => {
    const queryString = buildInsightsQuery(config.rule, request.window, {
      shape,
      limit,
      excludeAccountIds: config.excludedAccountIds,
      onlyAccountIds,
    });
    const out = await runInsightsQuery(
      deps.logs,
      { logGroupIdentifiers: config.logGroupIdentifiers, queryString, window: request.window, limit },
      clock,
    );
    queries++;
    statistics.bytesScanned += out.statistics.bytesScanned;
    statistics.recordsScanned += out.statistics.recordsScanned;
    statistics.recordsMatched += out.statistics.recordsMatched;
    deps.log.info("query complete", {
      shape,
      queryId: out.queryId,
      rows: out.rows.length,
      ...out.statistics,
      durationMs: out.durationMs,
    });
    deps.metrics.addMetric("QueryDuration", "Milliseconds", out.durationMs);
    return out;
  };

  const groupsOf = (out: QueryOutcome): MatchGroup[] => {
    const { groups, rejected, rejectedValues } = parseRows(out.rows);
    rowsRejected += rejected.length;
    valuesRejected += rejectedValues.length;
    // The reason and the field names only: row values may hold text a caller wrote.
    for (const r of rejected)
      deps.log.warn("result row rejected", { reason: r.reason, fields: Object.keys(r.row) });
    for (const v of rejectedValues)
      deps.log.warn("result value rejected", { field: v.field, reason: v.reason });
    // Known heavy users are left out before merging, so their requests count towards nothing.
    return groups.filter(
      (g) => !(g.identityArn && excludedIdentities.some((re) => re.test(g.identityArn ?? ""))),
    );
  };

  const merge = (groups: MatchGroup[]): Aggregates => {
    const aggregates: Aggregates = new Map();
    for (const g of groups) addGroup(aggregates, g);
    return aggregates;
  };

  // One query does it all: Insights bills every byte in the window, so a second query doubles the cost.
  const primary = await query("evidence");
  let findings: Finding[];
  let fellBack = false;
  if (primary.rows.length < limit) {
    findings = toFindings(merge(groupsOf(primary)), config.rule);
  } else {
    // Rows hit the limit: some (account, identity, model) groups are missing. Find the flagged accounts with
    // the account-level query, then fetch evidence for those accounts only.
    fellBack = true;
    deps.log.warn("evidence rows reached the row limit; falling back to the account-level query", { limit });
    deps.metrics.addMetric("ResultLimitReached", "Count", 1);
    const accountRows = await query("account");
    if (accountRows.rows.length >= limit) {
      deps.log.error(
        "account-level rows reached the row limit too: the lightest flagged accounts may be missing",
        { limit },
      );
    }
    const accountGroups = groupsOf(accountRows);
    const flagged = accountGroups.map((g) => g.accountId);
    // Ids that fit a query filter; past MAX_FILTER_ACCOUNT_IDS (an org-wide incident) alerts go out with
    // account-level numbers only rather than failing the run on an over-long query.
    const filterable = flagged.filter((id) => ACCOUNT_ID.test(id));
    const fits = filterable.length + config.excludedAccountIds.length <= MAX_FILTER_ACCOUNT_IDS;
    if (!fits) {
      deps.log.error("too many flagged accounts to fetch evidence for; alerting with account-level numbers", {
        flagged: filterable.length,
      });
    }
    const queryable = new Set(fits ? filterable : []);
    const evidence = queryable.size > 0 ? await query("evidence", [...queryable]) : null;
    if (evidence === null || evidence.rows.length < limit) {
      const exact = merge(evidence ? groupsOf(evidence) : []);
      // Accounts whose ids cannot go into a query filter keep their account-level numbers.
      for (const g of accountGroups) if (!queryable.has(g.accountId)) addGroup(exact, g);
      findings = toFindings(exact, config.rule);
    } else {
      deps.log.error(
        "evidence for the flagged accounts still reached the row limit; alerts carry no identity evidence",
      );
      findings = toFindings(merge(accountGroups), config.rule);
    }
  }

  deps.metrics.addMetric("BytesScanned", "Bytes", statistics.bytesScanned);
  deps.metrics.addMetric("RecordsScanned", "Count", statistics.recordsScanned);
  deps.metrics.addMetric("RecordsMatched", "Count", statistics.recordsMatched);
  deps.metrics.addMetric("AccountsFlagged", "Count", findings.length);
  deps.metrics.addMetric("ResultValuesRejected", "Count", valuesRejected);

  const ctx: AlertContext = {
    window: request.window,
    rule: config.rule,
    region: deps.region,
    logGroupIdentifiers: config.logGroupIdentifiers,
  };
  const due = await dueForAlert(findings, config, request, deps);
  const planned = buildAlerts(due, ctx, config.maxAlertsPerRun);
  const alerts = planned.map((p) => p.alert);
  for (const f of findings) {
    deps.log.info("finding", {
      accountId: f.accountId,
      requestCount: f.requestCount,
      maxPromptTokens: f.maxPromptTokens,
      maxRequestSize: f.maxRequestSize,
      maxCompletionTokens: f.maxCompletionTokens,
      topIdentity: f.topIdentities[0]?.identityArn ?? null,
    });
  }

  let alertsPublished = 0;
  if (request.dryRun) {
    for (const a of alerts)
      deps.log.info("dry run: alert not published", {
        subject: a.subject,
        bytes: a.message.length,
        message: a.message,
      });
  } else if (alerts.length > 0) {
    alertsPublished = await publishAlerts(deps.sns, config.alertTopicArn, alerts, async (i) => {
      for (const f of planned[i]?.findings ?? []) await remember(f, config, request, deps);
    });
  }
  deps.metrics.addMetric("AlertsPublished", "Count", alertsPublished);
  deps.metrics.addMetric("AlertsSuppressed", "Count", findings.length - due.length);

  return {
    trigger: request.trigger,
    window: {
      start: new Date(request.window.startMs).toISOString(),
      end: new Date(request.window.endMs).toISOString(),
    },
    dryRun: request.dryRun,
    findings: findings.length,
    accounts: findings.map((f) => f.accountId),
    alertsPublished,
    alertsPrepared: alerts.length,
    alertsSuppressed: findings.length - due.length,
    queries,
    fellBack,
    rowsRejected,
    valuesRejected,
    statistics,
  };
}

/** The findings to alert on now, per the ledger. A ledger that cannot be read means alerting anyway. */
async function dueForAlert(
  findings: Finding[],
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<Finding[]> {
  const ledger = deps.ledger;
  if (!ledger) return findings;
  const due: Finding[] = [];
  for (const f of findings) {
    let last = null;
    try {
      last = await ledger.lastAlert(f.accountId);
    } catch (err) {
      deps.log.error("alert ledger unreadable: alerting without suppression", {
        accountId: f.accountId,
        error: (err as Error).message,
      });
    }
    const decision = decideAlert(f, last, request.window.endMs, config.suppressForMs);
    if (decision.send) due.push(f);
    else
      deps.log.info("alert not sent", {
        accountId: f.accountId,
        reason: decision.reason,
        requestCount: f.requestCount,
        lastAlert: last,
      });
  }
  return due;
}

/** Records a sent alert. The alert is out: a ledger failure is logged, not fatal (worst case a repeat alert). */
async function remember(
  f: Finding,
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<void> {
  if (!deps.ledger) return;
  try {
    await deps.ledger.recordAlert(
      f.accountId,
      { windowEndMs: request.window.endMs, requestCount: f.requestCount },
      config.suppressForMs + DAY_MS,
      deps.now(),
    );
  } catch (err) {
    deps.log.error("alert sent but not recorded in the ledger", {
      accountId: f.accountId,
      error: (err as Error).message,
    });
    deps.metrics.addMetric("LedgerWriteFailed", "Count", 1);
  }
}
