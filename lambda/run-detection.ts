/**
 * One detection run: query Logs Insights for the window, merge the rows into per-account findings with the
 * core's partial aggregates, and publish alerts. Clients, clock, logger and metrics come in as arguments.
 */
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecurityHubClient } from "@aws-sdk/client-securityhub";
import type { SNSClient } from "@aws-sdk/client-sns";
import { METRIC } from "../config/names.js";
import {
  type Aggregates,
  addGroup,
  aggregateGroups,
  type Finding,
  type MatchGroup,
  toFindings,
} from "../core/evaluator.js";
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
import type { BatchOutcome } from "./adapters/batches.js";
import { putFindingEvents } from "./adapters/finding-events.js";
import { type QueryOutcome, type QueryStatistics, runInsightsQuery } from "./adapters/logs-insights.js";
import { importFindings } from "./adapters/security-hub.js";
import { type AlertContext, type AlertFinding, buildAlerts } from "./alerts.js";
import type { DetectorConfig } from "./config.js";
import { FindingPublicationError, PublishError } from "./errors.js";
import { findingEventDetail, securityHubFinding } from "./finding-records.js";
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
  /** CloudWatch Logs, for the Insights queries. */
  readonly insights: CloudWatchLogsClient;
  readonly sns: SNSClient;
  /** EventBridge, for the finding events. */
  readonly events: EventBridgeClient;
  /** Security Hub, for the optional import (config.securityHubProductArn). */
  readonly securityHub?: SecurityHubClient;
  readonly logger: Log;
  readonly metrics: MetricSink;
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
  const statistics: QueryStatistics = { bytesScanned: 0, recordsScanned: 0, recordsMatched: 0 };
  let queries = 0;
  let rowsRejected = 0;

  const query = async (shape: "account" | "evidence", onlyAccountIds?: string[]): Promise<QueryOutcome> => {
    const queryString = buildInsightsQuery(config.rule, request.window, {
      shape,
      limit,
      excludeAccountIds: config.rule.excludedAccountIds,
      onlyAccountIds,
    });
    const out = await runInsightsQuery(
      deps.insights,
      { logGroupIdentifiers: config.logGroupIdentifiers, queryString, window: request.window, limit },
      clock,
    );
    queries++;
    statistics.bytesScanned += out.statistics.bytesScanned;
    statistics.recordsScanned += out.statistics.recordsScanned;
    statistics.recordsMatched += out.statistics.recordsMatched;
    deps.logger.info("query complete", {
      shape,
      queryId: out.queryId,
      rows: out.rows.length,
      ...out.statistics,
      durationMs: out.durationMs,
    });
    deps.metrics.addMetric(METRIC.queryDuration, "Milliseconds", out.durationMs);
    return out;
  };

  const groupsOf = (out: QueryOutcome): MatchGroup[] => {
    const { groups, rejected } = parseRows(out.rows);
    rowsRejected += rejected.length;
    // The reason and the field names only: row values may hold text a caller wrote.
    for (const r of rejected)
      deps.logger.warn("result row rejected", { reason: r.reason, fields: Object.keys(r.row) });
    return groups;
  };

  // The rule's exclusions, as the scanner applies them: excluded requests count towards nothing.
  const merge = (groups: MatchGroup[]): Aggregates => aggregateGroups(groups, config.rule).aggregates;

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
    deps.logger.warn("evidence rows reached the row limit; falling back to the account-level query", {
      limit,
    });
    deps.metrics.addMetric(METRIC.resultLimitReached, "Count", 1);
    const accountRows = await query("account");
    if (accountRows.rows.length >= limit) {
      deps.logger.error(
        "account-level rows reached the row limit too: the lightest flagged accounts may be missing",
        { limit },
      );
    }
    const accountGroups = groupsOf(accountRows);
    const flagged = accountGroups.map((g) => g.accountId);
    // Ids that fit a query filter; past MAX_FILTER_ACCOUNT_IDS (an org-wide incident) alerts go out with
    // account-level numbers only rather than failing the run on an over-long query.
    const filterable = flagged.filter((id) => ACCOUNT_ID.test(id));
    const fits = filterable.length + config.rule.excludedAccountIds.length <= MAX_FILTER_ACCOUNT_IDS;
    if (!fits) {
      deps.logger.error(
        "too many flagged accounts to fetch evidence for; alerting with account-level numbers",
        {
          flagged: filterable.length,
        },
      );
    }
    const queryable = new Set(fits ? filterable : []);
    const evidence = queryable.size > 0 ? await query("evidence", [...queryable]) : null;
    if (evidence === null || evidence.rows.length < limit) {
      const exact = merge(evidence ? groupsOf(evidence) : []);
      // Accounts whose ids cannot go into a query filter keep their account-level numbers.
      const approximate = new Set<string>();
      for (const g of accountGroups) {
        if (queryable.has(g.accountId)) continue;
        addGroup(exact, g);
        approximate.add(g.accountId);
      }
      findings = withAccountLevelCaveat(toFindings(exact, config.rule), config, approximate);
    } else {
      deps.logger.error(
        "evidence for the flagged accounts still reached the row limit; alerts carry no identity evidence",
      );
      const all = merge(accountGroups);
      findings = withAccountLevelCaveat(toFindings(all, config.rule), config, new Set(all.keys()));
    }
  }

  deps.metrics.addMetric(METRIC.bytesScanned, "Bytes", statistics.bytesScanned);
  deps.metrics.addMetric(METRIC.recordsScanned, "Count", statistics.recordsScanned);
  deps.metrics.addMetric(METRIC.recordsMatched, "Count", statistics.recordsMatched);
  deps.metrics.addMetric(METRIC.accountsFlagged, "Count", findings.length);

  const ctx: AlertContext = {
    window: request.window,
    rule: config.rule,
    region: config.region,
    logGroupIdentifiers: config.logGroupIdentifiers,
    detectorLabel: config.detectorLabel,
    // Repeats are held back only where a ledger remembers the last alert.
    suppressForMs: deps.ledger ? config.suppressForMs : undefined,
    prices: config.prices,
  };
  const due = await dueForAlert(findings, config, request, deps);
  const planned = buildAlerts(due, ctx, config.maxAlertsPerRun);
  const alerts = planned.map((p) => p.alert);
  for (const f of findings) {
    deps.logger.info("finding", {
      accountId: f.accountId,
      requestCount: f.requestCount,
      maxPromptTokens: f.maxPromptTokens,
      maxRequestSize: f.maxRequestSize,
      maxCompletionTokens: f.maxCompletionTokens,
      topIdentity: f.topIdentities[0]?.identityArn ?? null,
    });
  }

  let alertsPublished = 0;
  const alerted: AlertFinding[] = [];
  if (request.dryRun) {
    for (const a of alerts)
      deps.logger.info("dry run: alert not published", {
        subject: a.subject,
        bytes: a.message.length,
        message: a.message,
      });
  } else if (alerts.length > 0) {
    try {
      alertsPublished = await publishAlerts(deps.sns, config.alertTopicArn, alerts, async (i) => {
        for (const f of planned[i]?.findings ?? []) {
          alerted.push(f);
          await remember(f, config, request, deps);
        }
      });
    } catch (err) {
      // The alerts that went out before the failure still count; the run fails and is retried.
      if (err instanceof PublishError) deps.metrics.addMetric(METRIC.alertsPublished, "Count", err.published);
      throw err;
    }
  }
  deps.metrics.addMetric(METRIC.alertsPublished, "Count", alertsPublished);
  deps.metrics.addMetric(METRIC.alertsSuppressed, "Count", findings.length - due.length);

  // After SNS, never before: a failure here is reported and fails the run, but the alerts are already out.
  const publication = await publishFindingRecords(alerted, ctx, config, deps);
  if (publication.length > 0) {
    throw new FindingPublicationError(`alerts were sent, but ${publication.join(" and ")}`);
  }

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
      deps.logger.error("alert ledger unreadable: alerting without suppression", {
        accountId: f.accountId,
        error: err,
      });
    }
    const decision = decideAlert(f, last, request.window.endMs, config.suppressForMs);
    if (decision.send) due.push(f);
    else
      deps.logger.info("alert not sent", {
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
    deps.logger.error("alert sent but not recorded in the ledger", { accountId: f.accountId, error: err });
    deps.metrics.addMetric(METRIC.ledgerWriteFailed, "Count", 1);
  }
}

/** Shown on findings whose numbers come from the account-level query, which cannot apply identity exclusions. */
export const ACCOUNT_LEVEL_CAVEAT =
  "These numbers come from the account-level query: they include requests of identities excluded by the rule.";

function withAccountLevelCaveat(
  findings: Finding[],
  config: DetectorConfig,
  accountLevel: ReadonlySet<string>,
): Finding[] {
  if (config.rule.excludedIdentityPatterns.length === 0) return findings;
  return findings.map((f) =>
    accountLevel.has(f.accountId) ? { ...f, caveats: [...(f.caveats ?? []), ACCOUNT_LEVEL_CAVEAT] } : f,
  );
}

/**
 * Sends the alerted findings to EventBridge and, when configured, imports them into Security Hub. Never
 * throws: each failure is logged with its error and counted in a metric, and returned as a phrase for the
 * run's error.
 */
async function publishFindingRecords(
  findings: readonly AlertFinding[],
  ctx: AlertContext,
  config: DetectorConfig,
  deps: DetectionDeps,
): Promise<string[]> {
  if (findings.length === 0) return [];
  const problems: string[] = [];
  const report = (what: string, metric: string, outcome: BatchOutcome) => {
    deps.metrics.addMetric(metric, "Count", outcome.failed.length);
    if (outcome.failed.length === 0) {
      deps.logger.info(`${what}: sent`, { sent: outcome.sent });
      return;
    }
    for (const f of outcome.failed) {
      deps.logger.error(`${what}: entry failed`, {
        accountId: findings[f.index]?.accountId,
        error: { name: f.code, message: f.message },
      });
    }
    problems.push(
      `${outcome.failed.length} of ${findings.length} ${what} failed (${[...new Set(outcome.failed.map((f) => f.code))].join(", ")})`,
    );
  };
  const opts = { sleep: deps.sleep };
  report(
    "finding events",
    METRIC.findingEventsFailed,
    await putFindingEvents(
      deps.events,
      config.eventBusName,
      findings.map((f) => findingEventDetail(f, ctx)),
      opts,
    ),
  );
  if (config.securityHubProductArn !== undefined) {
    const productArn = config.securityHubProductArn;
    if (!deps.securityHub) {
      deps.logger.error("Security Hub import configured but no client given");
      deps.metrics.addMetric(METRIC.securityHubImportFailed, "Count", findings.length);
      problems.push("the Security Hub import had no client");
    } else {
      report(
        "Security Hub findings",
        METRIC.securityHubImportFailed,
        await importFindings(
          deps.securityHub,
          findings.map((f) =>
            securityHubFinding(f, ctx, { productArn, nowMs: deps.now(), periodMs: config.suppressForMs }),
          ),
          opts,
        ),
      );
    }
  }
  return problems;
}
