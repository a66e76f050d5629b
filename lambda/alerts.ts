/**
 * Alert messages for SNS with `MessageStructure: 'json'`: `default` is an Amazon Q Developer (Slack) custom
 * notification, `email` is plain text. Only counts, sizes, ids and ARNs: never prompt or completion text.
 * Every message fits SNS's 256 KB limit whatever the evidence size (evidence is cut, and the message says so).
 */
import { addedDetectionTexts, detectionTexts, headline } from "../core/detection-text.js";
import type { Finding } from "../core/evaluator.js";
import type { DetectionName } from "../core/finding.js";
import { ACCOUNT_ID, buildInsightsQuery } from "../core/insights-query.js";
import { BUILT_IN_PRICES, estimateCost, type ModelPrice } from "../core/pricing.js";
import { METRIC_INFO, METRICS, type Metric, type Rule, type Window } from "../core/rule.js";
import { principalAdvice, principalOf, type Severity, severityOf, topIdentityOf } from "./triage.js";

/** SNS allows 262,144 bytes; keep a margin for the JSON envelope's growth. */
export const MAX_MESSAGE_BYTES = 250_000;
/** SNS subjects: under 100 characters, ASCII, one line. */
export const MAX_SUBJECT_CHARS = 99;
/** Accounts listed in the chat version of the summary message. */
export const MAX_CHAT_LIST = 20;

export interface AlertContext {
  readonly window: Window;
  readonly rule: Rule;
  readonly region: string;
  readonly logGroupIdentifiers: readonly string[];
  /** Names the detector in the subject, the title and the first line (default: the stack name). */
  readonly detectorLabel: string;
  /** How long repeats are held back (the alert ledger's suppressFor); absent: every run alerts again. */
  readonly suppressForMs?: number;
  /** The cost estimate's price table (overrides first); absent: the built-in table. */
  readonly prices?: readonly ModelPrice[];
}

/** A finding to alert on, with why it is alerted now ("first alert for this account", "escalated: ..."). */
export type AlertFinding = Finding & { readonly alertReason?: string };

export interface AlertMessage {
  readonly subject: string;
  /** The `MessageStructure: 'json'` body: `{"default": <Q Developer notification>, "email": <text>}`. */
  readonly message: string;
}

/** The email's label of each detection's line (the hunt has lines of its own). */
const DETECTION_LABEL: Record<DetectionName, string> = {
  "heavy-requests": "Requests:  ",
  "cached-input": "Cached:    ",
  "token-volume": "Volume:    ",
  anomaly: "Anomaly:   ",
};
const WHY =
  "Repeated oversized requests drain Bedrock quotas and budget and can deny service to legitimate " +
  "workloads: MITRE ATLAS AML.T0034 (Cost Harvesting), OWASP LLM10 (Unbounded Consumption).";

const fmt = (n: number | null) => (n === null ? "none" : n.toLocaleString("en-US"));
const iso = (ms: number) => new Date(ms).toISOString();
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const day = (d: Date) => `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
const clock = (d: Date) =>
  `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;

/** `19 Nov 18:11 UTC`. */
export const humanTime = (ms: number) => `${day(new Date(ms))} ${clock(new Date(ms))} UTC`;

/** `19 Nov 18:11-20:04 UTC`, or `19 Nov 18:11 - 20 Nov 02:00 UTC` across days. */
export function humanRange(fromMs: number, toMs: number): string {
  const a = new Date(fromMs);
  const b = new Date(toMs);
  return day(a) === day(b) && a.getUTCFullYear() === b.getUTCFullYear()
    ? `${day(a)} ${clock(a)}-${clock(b)} UTC`
    : `${day(a)} ${clock(a)} - ${day(b)} ${clock(b)} UTC`;
}

/** Printable ASCII only, one line, at most `max` characters. */
export function asciiLine(text: string, max: number): string {
  const clean = text
    .normalize("NFKD")
    .replace(/[\s\p{Cc}]+/gu, " ")
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/ +/g, " ")
    .trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 3)}...`;
}

/** Text from logs (ARNs, model ids) inside markdown code spans: no backticks, one line. */
const code = (text: string) => `\`${text.replace(/[`\r\n]/g, "")}\``;

/** JSURL-style encoding used by the CloudWatch console's Logs Insights deep links. */
function consoleValue(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%/g, "*");
}

/**
 * A Logs Insights console link for this account in the window (12-digit ids only): its matching requests
 * (`records`, for the hunt), or its requests per identity, model and hour (`usage`, for the other detections).
 */
export function insightsConsoleUrl(
  accountId: string,
  ctx: AlertContext,
  shape: "records" | "usage" = "records",
): string | null {
  if (!ACCOUNT_ID.test(accountId)) return null;
  const query = buildInsightsQuery(ctx.rule, ctx.window, {
    shape,
    onlyAccountIds: [accountId],
    limit: 1000,
  });
  const detail =
    `~(end~'${consoleValue(iso(ctx.window.endMs))}~start~'${consoleValue(iso(ctx.window.startMs))}` +
    `~timeType~'ABSOLUTE~tz~'UTC~editorString~'${consoleValue(query)}` +
    `~source~(${ctx.logGroupIdentifiers.map((g) => `~'${consoleValue(g)}`).join("")}))`;
  const fragment = encodeURIComponent(`?queryDetail=${detail}`).replace(/%/g, "$");
  return `https://${ctx.region}.console.aws.amazon.com/cloudwatch/home?region=${ctx.region}#logsV2:logs-insights${fragment}`;
}

/** Plain words for a maximum no matching request had. */
const NOT_LOGGED: Record<Metric, string> = {
  promptTokens: "not logged",
  requestSize: "not logged: body stored in S3 (over 100 KB) or text delivery off",
  completionTokens: "not logged",
};

function metricLines(f: Finding, rule: Rule): { metric: Metric; text: string; over: boolean }[] {
  return METRICS.map((m) => {
    const value = f[METRIC_INFO[m].maxField];
    const over = value !== null && value > rule.thresholds[m];
    return {
      metric: m,
      over,
      text:
        value === null
          ? `max ${METRIC_INFO[m].label}: ${NOT_LOGGED[m]}`
          : `max ${METRIC_INFO[m].label}: ${fmt(value)} (threshold ${fmt(rule.thresholds[m])})`,
    };
  });
}

interface Evidence {
  identities: Finding["topIdentities"];
  models: Finding["topModels"];
  /** Characters kept per ARN or model id. */
  maxIdLength: number;
  truncated: boolean;
}

/** "5 of 12 identities" when the list shows fewer than there are, else "2 identities". */
const ofTotal = (shown: number, total: number, one: string, many: string) =>
  shown < total ? `${shown} of ${total} ${many}` : `${total} ${total === 1 ? one : many}`;

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n)}...`);

const usd = (n: number) => (n < 0.01 ? "under $0.01" : `$${n.toFixed(2)}`);

/** The cost line: an estimate when a price is known, "unknown price" said plainly otherwise. */
export function costText(f: Finding, ctx: AlertContext): string {
  const est = estimateCost(f, ctx.prices ?? BUILT_IN_PRICES);
  if (!est.known) return "unknown (no token counts logged)";
  const unpriced =
    est.unpriced.tokens > 0
      ? `${fmt(est.unpriced.tokens)} tokens of ${est.unpriced.models} model(s) at unknown price`
      : "";
  if (est.pricedModels.length === 0)
    return `unknown price (${unpriced || "no price for these models"}; set modelPrices)`;
  return `about ${usd(est.usd)} on demand (estimate from list prices${unpriced ? `; plus ${unpriced}` : ""})`;
}

/** When repeats for this account come again, in words. */
function holdBackText(ctx: AlertContext): string {
  if (ctx.suppressForMs === undefined)
    return "Every run alerts on this account again while it stays over the rule (no alert ledger).";
  return `Further alerts for this account are held back until it escalates or until ${humanTime(ctx.window.endMs + ctx.suppressForMs)}.`;
}

/** The next steps, specific to the evidence: principal type, how to silence a known heavy user, the link. */
function nextSteps(f: Finding, hasLink: boolean): string[] {
  const top = topIdentityOf(f);
  const principal = top ? principalOf(top.identityArn) : undefined;
  const steps: string[] = [];
  if (principal) steps.push(principalAdvice(principal, f.accountId));
  steps.push(
    "Decide whether this is legitimate heavy use (batch jobs, long-context or RAG workloads) or abuse; check the account's Bedrock quotas and spend.",
  );
  if (principal?.exclusionPattern) {
    steps.push(
      `If it is a known heavy user, add ${principal.exclusionPattern} to excludedIdentityPatterns (context key bedrockDosDetector:excludedIdentityPatterns, or the construct prop) and redeploy; for the whole account, add ${f.accountId} to excludedAccountIds.`,
    );
  } else {
    steps.push(`If it is a known heavy account, add ${f.accountId} to excludedAccountIds and redeploy.`);
  }
  if (hasLink)
    steps.push(
      f.requestCount !== null
        ? "Open the matching requests in Logs Insights (the link in this alert) for times, identities and models."
        : "Open the account's requests in Logs Insights (the link in this alert) for tokens per identity, model and hour.",
    );
  return steps;
}

function subjectFor(f: Finding, ctx: AlertContext, severity: Severity): string {
  return asciiLine(
    `[${severity}] Bedrock DoS: account ${f.accountId}, ${headline(f)} (${clip(ctx.detectorLabel, 24)}, ${ctx.region})`,
    MAX_SUBJECT_CHARS,
  );
}

function render(f: AlertFinding, ctx: AlertContext, ev: Evidence): AlertMessage {
  const { severity, why: severityWhy } = severityOf(f, ctx.rule);
  const hunt = f.requestCount !== null;
  // The detections beyond the hunt, in plain words (the hunt has its own lines).
  const others = addedDetectionTexts(f, ctx.rule);
  const subject = subjectFor(f, ctx, severity);
  const link = insightsConsoleUrl(f.accountId, ctx, hunt ? "records" : "usage");
  const metrics = hunt ? metricLines(f, ctx.rule) : [];
  const seen = humanRange(Date.parse(f.firstSeen), Date.parse(f.lastSeen));
  const windowText = humanRange(ctx.window.startMs, ctx.window.endMs);
  const where = `detector ${ctx.detectorLabel}, ${ctx.region}`;
  const cost = costText(f, ctx);
  const steps = nextSteps(f, link !== null);
  const holdBack = holdBackText(ctx);
  const identitiesHead = ofTotal(ev.identities.length, f.identityCount, "identity", "identities");
  const modelsHead = ofTotal(ev.models.length, f.modelCount, "model", "models");
  const cutNote = ev.truncated
    ? `Evidence truncated to fit the message: ${ev.identities.length} of ${f.identityCount} identities and ${ev.models.length} of ${f.modelCount} models shown.`
    : null;

  const markdown = [
    hunt
      ? `*${severity}* (${where}): *${fmt(f.requestCount)}* requests over a threshold from account ${code(f.accountId)}, ${seen}.`
      : `*${severity}* (${where}): account ${code(f.accountId)}, ${f.detections.join(", ").replace(/, (?=[^,]*$)/, " and ")}, ${seen}.`,
    ...(f.alertReason ? [`_Why now: ${f.alertReason}_`] : []),
    ...metrics.map((l) => `• ${l.over ? "*" : ""}${l.text}${l.over ? "*" : ""}`),
    ...others.map((d) => `• *${d.name}:* ${d.text}`),
    ...(f.maxCacheInclusiveInputTokens !== null
      ? [`• max input incl. cache tokens: ${fmt(f.maxCacheInclusiveInputTokens)}`]
      : []),
    `• estimated cost: ${cost}`,
    `*${identitiesHead}:* ${ev.identities.map((i) => `${code(clip(i.identityArn, ev.maxIdLength))} (${fmt(i.requestCount)})`).join(", ")}`,
    `*${modelsHead}:* ${ev.models.map((m) => `${code(clip(m.modelId, ev.maxIdLength))} (${fmt(m.requestCount)})`).join(", ")}`,
    ...(cutNote ? [`_${cutNote}_`] : []),
    ...(f.caveats ?? []).map((c) => `_${c}_`),
    `_${holdBack}_`,
    ...(link
      ? [
          `<${link}|${hunt ? "Open the matching requests in Logs Insights" : "Open the account's usage in Logs Insights"}>`,
        ]
      : []),
  ].join("\n");

  const notification = {
    version: "1.0",
    source: "custom",
    id: `bedrock-dos:${f.accountId}:${ctx.window.endMs}`,
    content: {
      textType: "client-markdown",
      title: `:rotating_light: ${severity}: Bedrock resource exhaustion in account ${f.accountId} (${ctx.detectorLabel}, ${ctx.region})`,
      description: markdown,
      nextSteps: steps,
      keywords: ["Bedrock", "DoS", severity, ctx.region, f.accountId],
    },
    metadata: {
      summary: subject,
      additionalContext: {
        detector: ctx.detectorLabel,
        region: ctx.region,
        severity,
        accountId: f.accountId,
        windowStart: iso(ctx.window.startMs),
        windowEnd: iso(ctx.window.endMs),
        ...(f.alertReason ? { alertReason: f.alertReason } : {}),
        finding: JSON.stringify({
          ...withoutReason(f),
          topIdentities: ev.identities.map((i) => ({
            ...i,
            identityArn: clip(i.identityArn, ev.maxIdLength),
          })),
          topModels: ev.models.map((m) => ({ ...m, modelId: clip(m.modelId, ev.maxIdLength) })),
          evidenceTruncated: ev.truncated,
        }),
        rule: JSON.stringify({ thresholds: ctx.rule.thresholds, minRequests: ctx.rule.minRequests }),
      },
    },
  };

  const email = [
    `${severity}: Bedrock resource exhaustion in account ${f.accountId} (${where})`,
    "",
    ...(f.alertReason ? [`Why now:    ${f.alertReason}`] : []),
    `Severity:   ${severity} (${severityWhy})`,
    `Account:    ${f.accountId}`,
    `When:       ${seen} (window ${windowText})`,
    ...(hunt
      ? [`Requests:   ${fmt(f.requestCount)} over a threshold (alert at ${ctx.rule.minRequests} or more)`]
      : [`Detections: ${f.detections.join(", ")}`]),
    ...metrics.map((l) => `${l.over ? "OVER" : "    "}        ${l.text}`),
    ...others.map((d) => `${DETECTION_LABEL[d.name]} ${d.text}`),
    ...(f.maxCacheInclusiveInputTokens !== null
      ? [`            max input incl. cache tokens: ${fmt(f.maxCacheInclusiveInputTokens)}`]
      : []),
    `Cost:       ${cost}`,
    "",
    `${identitiesHead}:`,
    ...ev.identities.map(
      (i) => `  ${fmt(i.requestCount).padStart(8)}  ${clip(i.identityArn, ev.maxIdLength)}`,
    ),
    `${modelsHead}:`,
    ...ev.models.map((m) => `  ${fmt(m.requestCount).padStart(8)}  ${clip(m.modelId, ev.maxIdLength)}`),
    ...(cutNote ? ["", cutNote] : []),
    ...(f.caveats ?? []).flatMap((c) => ["", c]),
    "",
    "What to do:",
    ...steps.map((s, n) => `  ${n + 1}. ${s}`),
    "",
    holdBack,
    "",
    `Why it matters: ${WHY}`,
    ...(link
      ? [
          "",
          hunt
            ? "Matching requests in CloudWatch Logs Insights:"
            : "The account's usage in CloudWatch Logs Insights:",
          link,
        ]
      : []),
    "",
    `-- ${ctx.detectorLabel} (bedrock-dos-detector) in ${ctx.region}; no prompt or completion text is included in alerts`,
  ].join("\n");

  return { subject, message: JSON.stringify({ default: JSON.stringify(notification), email }) };
}

const withoutReason = ({ alertReason: _, ...f }: AlertFinding): Finding => f;

const bytes = (m: AlertMessage) => Buffer.byteLength(m.message, "utf8");

/** One alert for one flagged account, at most MAX_MESSAGE_BYTES. */
export function findingAlert(f: AlertFinding, ctx: AlertContext): AlertMessage {
  // The finding carries the evidence cap's top lists (core/evaluator.ts); the alert shows them whole if they fit.
  const ev: Evidence = {
    identities: f.topIdentities,
    models: f.topModels,
    maxIdLength: 2048,
    truncated: false,
  };
  let msg = render(f, ctx, ev);
  // Shrink the evidence until it fits: fewer entries, then shorter ids. The account and maxima always stay.
  while (bytes(msg) > MAX_MESSAGE_BYTES) {
    ev.truncated = true;
    if (ev.identities.length > 1 || ev.models.length > 1) {
      ev.identities = ev.identities.slice(0, Math.max(1, Math.floor(ev.identities.length / 2)));
      ev.models = ev.models.slice(0, Math.max(1, Math.floor(ev.models.length / 2)));
    } else if (ev.maxIdLength > 64) {
      ev.maxIdLength = Math.floor(ev.maxIdLength / 2);
    } else {
      ev.identities = [];
      ev.models = [];
      msg = render(f, ctx, ev);
      break;
    }
    msg = render(f, ctx, ev);
  }
  return msg;
}

/** One message for the flagged accounts beyond the per-run cap. */
export function summaryAlert(rest: readonly Finding[], ctx: AlertContext): AlertMessage {
  const subject = asciiLine(
    `Bedrock DoS: ${rest.length} more flagged accounts (${clip(ctx.detectorLabel, 24)}, ${ctx.region})`,
    MAX_SUBJECT_CHARS,
  );
  const line = (f: Finding) =>
    f.requestCount === null
      ? `${f.accountId}: ${detectionTexts(f, ctx.rule)
          .map((d) => `${d.name} ${d.text}`)
          .join("; ")}`
      : `${f.accountId}: ${fmt(f.requestCount)} requests, max prompt ${fmt(f.maxPromptTokens)}, ` +
        `max request size ${fmt(f.maxRequestSize)}, max completion ${fmt(f.maxCompletionTokens)}`;
  let shown = rest.length;
  for (;;) {
    const lines = rest.slice(0, shown).map(line);
    const more =
      shown < rest.length ? [`... and ${rest.length - shown} more (see the detector's logs).`] : [];
    const intro = `Detector ${ctx.detectorLabel} in ${ctx.region} reached its per-run alert cap. ${rest.length} further accounts were flagged in ${humanRange(ctx.window.startMs, ctx.window.endMs)}:`;
    const notification = {
      version: "1.0",
      source: "custom",
      content: {
        textType: "client-markdown",
        title: `:rotating_light: Bedrock resource exhaustion: ${rest.length} more accounts (${ctx.detectorLabel}, ${ctx.region})`,
        // Chat messages stay short: the full list is in the email.
        description: [
          intro,
          ...lines.slice(0, MAX_CHAT_LIST).map((l) => `• ${l}`),
          ...(rest.length > MAX_CHAT_LIST
            ? [`... and ${rest.length - MAX_CHAT_LIST} more (see the email or the detector's logs).`]
            : []),
        ].join("\n"),
        nextSteps: [
          "Decide per account whether this is legitimate heavy use or abuse; the email lists every account.",
          "Known heavy users: add them to excludedAccountIds or excludedIdentityPatterns and redeploy.",
          "Many accounts at once can mean a shared credential or an organisation-wide job: check the detector's logs.",
        ],
        keywords: ["Bedrock", "DoS", ctx.region],
      },
      metadata: {
        summary: subject,
        additionalContext: { accounts: JSON.stringify(rest.slice(0, shown).map((f) => f.accountId)) },
      },
    };
    const email = [subject, "", intro, ...lines.map((l) => `  ${l}`), ...more].join("\n");
    const msg = { subject, message: JSON.stringify({ default: JSON.stringify(notification), email }) };
    if (bytes(msg) <= MAX_MESSAGE_BYTES || shown === 0) return msg;
    shown = Math.floor(shown / 2);
  }
}

/** A message and the findings it reports. */
export interface PlannedAlert {
  readonly alert: AlertMessage;
  readonly findings: readonly Finding[];
}

/** Alerts for a run: one per finding up to `cap`, then one summary for the rest. */
export function buildAlerts(
  findings: readonly AlertFinding[],
  ctx: AlertContext,
  cap: number,
): PlannedAlert[] {
  const alerts = findings.slice(0, cap).map((f) => ({ alert: findingAlert(f, ctx), findings: [f] }));
  if (findings.length > cap) {
    const rest = findings.slice(cap);
    alerts.push({ alert: summaryAlert(rest, ctx), findings: rest });
  }
  return alerts;
}
