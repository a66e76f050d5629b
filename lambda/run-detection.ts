/**
 * One detection run: evaluate the window (from stored slices for scheduled runs, by querying it whole for
 * manual runs), decide per flagged account whether an alert is due (one alert per incident), and publish.
 * Clients, clock, logger, metrics and stores come in as arguments.
 */
import { METRIC } from "../config/names.js";
import type { Finding } from "../core/evaluator.js";
import { DAY_MS } from "../core/rule.js";
import { publishAlerts } from "./adapters/alert-topic.js";
import type { BatchOutcome } from "./adapters/batches.js";
import { putFindingEvents } from "./adapters/finding-events.js";
import type { QueryStatistics } from "./adapters/logs-insights.js";
import { importFindings } from "./adapters/security-hub.js";
import { type AlertContext, type AlertFinding, buildAlerts } from "./alerts.js";
import type { DetectorConfig } from "./config.js";
import type { DetectionDeps } from "./detection-deps.js";
import { evaluateDirectly } from "./direct-evaluation.js";
import { FindingPublicationError, PublishError } from "./errors.js";
import type { Evaluation } from "./evaluation.js";
import { findingEventDetail, securityHubFinding } from "./finding-records.js";
import { RunQueries } from "./queries.js";
import type { RunRequest } from "./run-request.js";
import { evaluateFromSlices, type SliceReport } from "./slice-evaluation.js";
import { type AlertDecision, decideAlert, identitiesToRemember, type LastAlert } from "./suppression.js";

/** A finding with the reason its alert is sent (first, escalated: what grew, suppression expired). */
export type DueFinding = Finding & { readonly alertReason: string };

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
  /** True when results reached the row limit and a fallback was used. */
  fellBack: boolean;
  rowsRejected: number;
  /** Values made missing in kept rows (not integers, e.g. a count beyond the safe range). */
  valuesRejected: number;
  /** What Logs Insights scanned for this run: the cost of the run. */
  statistics: QueryStatistics;
  /** For runs evaluated from stored slices. */
  slices?: SliceReport;
  /** The state table's traffic of this run (items and bytes read and written). */
  state?: { itemsRead: number; bytesRead: number; itemsWritten: number; bytesWritten: number };
}

/** Time kept back from the Lambda deadline for publishing and reporting. */
export const PUBLISH_RESERVE_MS = 15_000;

export async function runDetection(
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<RunSummary> {
  const queries = new RunQueries(config, deps, {
    now: deps.now,
    sleep: deps.sleep,
    deadlineMs: deps.now() + deps.remainingTimeMs() - PUBLISH_RESERVE_MS,
  });
  // Scheduled runs use the live slices; manual runs (backfill, investigation) query their window and leave
  // the slices alone.
  const fromSlices = request.trigger === "scheduled" && deps.slices !== undefined;
  const stateBefore = deps.stateUsage?.snapshot();
  const evaluation: Evaluation & { slices?: SliceReport } =
    fromSlices && deps.slices
      ? await evaluateFromSlices(config, request.window, queries, deps, deps.slices, deps.history)
      : await evaluateDirectly(config, request.window, queries, deps, deps.history);
  const { findings } = evaluation;

  deps.metrics.addMetric(METRIC.bytesScanned, "Bytes", queries.statistics.bytesScanned);
  deps.metrics.addMetric(METRIC.recordsScanned, "Count", queries.statistics.recordsScanned);
  deps.metrics.addMetric(METRIC.recordsMatched, "Count", queries.statistics.recordsMatched);
  deps.metrics.addMetric(METRIC.accountsFlagged, "Count", findings.length);
  deps.metrics.addMetric(METRIC.resultValuesRejected, "Count", queries.valuesRejected);
  if (evaluation.slices) deps.metrics.addMetric(METRIC.slicesQueried, "Count", evaluation.slices.queried);
  const stateAfter = deps.stateUsage?.snapshot();
  const state =
    stateBefore && stateAfter
      ? {
          itemsRead: stateAfter.itemsRead - stateBefore.itemsRead,
          bytesRead: stateAfter.bytesRead - stateBefore.bytesRead,
          itemsWritten: stateAfter.itemsWritten - stateBefore.itemsWritten,
          bytesWritten: stateAfter.bytesWritten - stateBefore.bytesWritten,
        }
      : undefined;
  if (state) {
    // The evaluation's state traffic (the ledger's few items per alert aside): bounded by the window's periods
    // and the principals above the anomaly floor.
    deps.logger.info("state table traffic", { ...state });
    deps.metrics.addMetric(METRIC.stateItemsRead, "Count", state.itemsRead);
    deps.metrics.addMetric(METRIC.stateBytesRead, "Bytes", state.bytesRead);
    deps.metrics.addMetric(METRIC.stateItemsWritten, "Count", state.itemsWritten);
    deps.metrics.addMetric(METRIC.stateBytesWritten, "Bytes", state.bytesWritten);
  }

  const ctx: AlertContext = {
    window: request.window,
    rule: config.rule,
    region: config.region,
    logGroupIdentifiers: config.logGroupIdentifiers,
    detectorLabel: config.detectorLabel,
    // Repeats are held back only where a ledger remembers the last alert.
    suppressForMs: deps.ledger ? config.escalation.suppressForMs : undefined,
    prices: config.prices,
  };
  const { due, sentBefore } = await dueForAlert(evaluation, config, request, deps);
  const planned = buildAlerts(due, ctx, config.maxAlertsPerRun);
  const alerts = planned.map((p) => p.alert);
  for (const f of findings) {
    deps.logger.info("finding", findingLogFields(f));
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
          await remember(f, evaluation, config, request, deps);
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
  // A retried run sends the events of alerts an earlier attempt sent too (at least once: the earlier attempt
  // may have failed on EventBridge or Security Hub after SNS); Security Hub updates the same finding id.
  const publication = request.dryRun
    ? []
    : await publishFindingRecords([...sentBefore, ...alerted], ctx, config, deps);
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
    queries: queries.queries,
    fellBack: evaluation.fellBack,
    rowsRejected: queries.rowsRejected,
    valuesRejected: queries.valuesRejected,
    statistics: queries.statistics,
    ...(evaluation.slices ? { slices: evaluation.slices } : {}),
    ...(state ? { state } : {}),
  };
}

/** A finding's numbers as the "finding" log line gives them: counts, ARNs and times, never request text. */
export function findingLogFields(f: Finding) {
  return {
    accountId: f.accountId,
    detections: f.detections,
    requestCount: f.requestCount,
    maxPromptTokens: f.maxPromptTokens,
    maxRequestSize: f.maxRequestSize,
    maxCompletionTokens: f.maxCompletionTokens,
    cachedInputRequests: f.cachedInput?.requestCount ?? null,
    peakHourTokens: f.peakHourTokens,
    anomaly: f.anomaly && {
      principal: f.anomaly.principal,
      hourStart: f.anomaly.hourStart,
      totalTokens: f.anomaly.totalTokens,
      baselineTokens: f.anomaly.baselineTokens,
      thresholdTokens: f.anomaly.thresholdTokens,
      historyHours: f.anomaly.historyHours,
    },
    topIdentity: f.topIdentities[0]?.identityArn ?? null,
  };
}

/** The principals behind an account's finding, heaviest first (what the ledger remembers). */
const principalsOf = (evaluation: Evaluation, accountId: string): readonly string[] =>
  evaluation.principals.get(accountId) ?? [];

/** The findings to alert on now, per the ledger. A ledger that cannot be read means alerting anyway. */
async function dueForAlert(
  evaluation: Evaluation,
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<{ due: DueFinding[]; sentBefore: Finding[] }> {
  const ledger = deps.ledger;
  const due: DueFinding[] = [];
  const sentBefore: Finding[] = [];
  for (const f of evaluation.findings) {
    let last: LastAlert | null = null;
    try {
      last = ledger ? await ledger.lastAlert(f.accountId) : null;
    } catch (err) {
      deps.logger.error("alert ledger unreadable: alerting without suppression", {
        accountId: f.accountId,
        error: err,
      });
    }
    const principals = principalsOf(evaluation, f.accountId);
    const decision: AlertDecision = decideAlert(f, principals, last, request.window.endMs, config.escalation);
    deps.logger.info(decision.send ? "alert due" : "alert not sent", {
      accountId: f.accountId,
      decision: decision.kind,
      reason: decision.reason,
      requestCount: f.requestCount,
      detections: f.detections,
      lastAlert: last && {
        windowEndMs: last.windowEndMs,
        requestCount: last.requestCount,
        detections: last.detections,
      },
    });
    if (decision.send) due.push({ ...f, alertReason: decision.reason });
    else if (decision.kind === "already sent for this window") sentBefore.push(f);
  }
  return { due, sentBefore };
}

/** Records a sent alert. The alert is out: a ledger failure is logged, not fatal (worst case a repeat alert). */
async function remember(
  f: Finding,
  evaluation: Evaluation,
  config: DetectorConfig,
  request: RunRequest,
  deps: DetectionDeps,
): Promise<void> {
  if (!deps.ledger) return;
  const remembered = identitiesToRemember(principalsOf(evaluation, f.accountId));
  try {
    await deps.ledger.recordAlert(
      f.accountId,
      {
        windowEndMs: request.window.endMs,
        requestCount: f.requestCount,
        maxPromptTokens: f.maxPromptTokens,
        maxRequestSize: f.maxRequestSize,
        maxCompletionTokens: f.maxCompletionTokens,
        detections: f.detections,
        cachedInputRequests: f.cachedInput?.requestCount ?? null,
        volumeTokens: f.tokenVolume?.totalTokens ?? null,
        anomalyTokens: f.anomaly?.totalTokens ?? null,
        identities: remembered.identities,
        identitiesComplete: remembered.complete,
      },
      config.escalation.suppressForMs + DAY_MS,
      deps.now(),
    );
  } catch (err) {
    deps.logger.error("alert sent but not recorded in the ledger", { accountId: f.accountId, error: err });
    deps.metrics.addMetric(METRIC.ledgerWriteFailed, "Count", 1);
  }
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
      const periodMs = config.escalation.suppressForMs;
      report(
        "Security Hub findings",
        METRIC.securityHubImportFailed,
        await importFindings(
          deps.securityHub,
          findings.map((f) => securityHubFinding(f, ctx, { productArn, nowMs: deps.now(), periodMs })),
          opts,
        ),
      );
    }
  }
  return problems;
}
