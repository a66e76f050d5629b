/**
 * Alert messages for SNS with `MessageStructure: 'json'`: `default` is an Amazon Q Developer (Slack) custom
 * notification, `email` is plain text. Only counts, sizes, ids and ARNs: never prompt or completion text.
 * Every message fits SNS's 256 KB limit whatever the evidence size (evidence is cut, and the message says so).
 */
import type { Finding } from "../core/evaluator.js";
import { ACCOUNT_ID, buildInsightsQuery } from "../core/insights-query.js";
import { METRIC_INFO, METRICS, type Metric, type Rule, type Window } from "../core/rule.js";

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
}

export interface AlertMessage {
  readonly subject: string;
  /** The `MessageStructure: 'json'` body: `{"default": <Q Developer notification>, "email": <text>}`. */
  readonly message: string;
}

const WHY =
  "Repeated oversized requests drain Bedrock quotas and budget and can deny service to legitimate " +
  "workloads: MITRE ATLAS AML.T0034 (Cost Harvesting), OWASP LLM10 (Unbounded Consumption).";

const NEXT_STEPS = [
  "Decide whether this is legitimate heavy use (batch jobs, long-context or RAG workloads) or abuse.",
  "Review the top identity's recent activity in CloudTrail: new access keys, unusual source IPs, new regions.",
  "Check Bedrock service quotas and spend for the account; throttle, scope down or revoke the credentials if abusive.",
  "Open the Logs Insights link for the matching requests in this window.",
];

const fmt = (n: number | null) => (n === null ? "none" : n.toLocaleString("en-US"));
const iso = (ms: number) => new Date(ms).toISOString();

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

/** A Logs Insights console link listing this account's matching requests in the window (12-digit ids only). */
export function insightsConsoleUrl(accountId: string, ctx: AlertContext): string | null {
  if (!ACCOUNT_ID.test(accountId)) return null;
  const query = buildInsightsQuery(ctx.rule, ctx.window, {
    shape: "records",
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

function metricLines(f: Finding, rule: Rule): { metric: Metric; text: string; over: boolean }[] {
  return METRICS.map((m) => {
    const value = f[METRIC_INFO[m].maxField];
    const over = value !== null && value > rule.thresholds[m];
    return {
      metric: m,
      over,
      text: `max ${METRIC_INFO[m].label}: ${fmt(value)} (threshold ${fmt(rule.thresholds[m])})`,
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

/** "5 of 12" when the list shows fewer than there are, else the count. */
const ofTotal = (shown: number, total: number) => (shown < total ? `${shown} of ${total}` : `${total}`);

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n)}...`);

function subjectFor(f: Finding): string {
  return asciiLine(
    `Bedrock DoS alert: account ${f.accountId}, ${f.requestCount.toLocaleString("en-US")} heavy requests`,
    MAX_SUBJECT_CHARS,
  );
}

/** A finding to alert on, with the reason the alert is sent now (first, escalated: what grew, expired). */
export type AlertFinding = Finding & { readonly alertReason?: string };

function render(f: AlertFinding, ctx: AlertContext, ev: Evidence): AlertMessage {
  const subject = subjectFor(f);
  const link = insightsConsoleUrl(f.accountId, ctx);
  const metrics = metricLines(f, ctx.rule);
  const windowText = `${iso(ctx.window.startMs)} to ${iso(ctx.window.endMs)} (end excluded)`;
  const cutNote = ev.truncated
    ? `Evidence truncated to fit the message: ${ev.identities.length} of ${f.identityCount} identities and ${ev.models.length} of ${f.modelCount} models shown.`
    : null;

  const markdown = [
    `*${f.requestCount.toLocaleString("en-US")}* requests over a threshold from account ${code(f.accountId)} in ${windowText}.`,
    ...(f.alertReason ? [`_Why now: ${f.alertReason}_`] : []),
    ...metrics.map((l) => `• ${l.over ? "*" : ""}${l.text}${l.over ? "*" : ""}`),
    `• first seen ${iso(Date.parse(f.firstSeen))}, last seen ${iso(Date.parse(f.lastSeen))}`,
    ...(f.maxCacheInclusiveInputTokens !== null
      ? [`• max input incl. cache tokens: ${fmt(f.maxCacheInclusiveInputTokens)}`]
      : []),
    `*Top identities* (${ofTotal(ev.identities.length, f.identityCount)}): ${ev.identities.map((i) => `${code(clip(i.identityArn, ev.maxIdLength))} (${fmt(i.requestCount)})`).join(", ")}`,
    `*Top models* (${ofTotal(ev.models.length, f.modelCount)}): ${ev.models.map((m) => `${code(clip(m.modelId, ev.maxIdLength))} (${fmt(m.requestCount)})`).join(", ")}`,
    ...(cutNote ? [`_${cutNote}_`] : []),
    ...(f.caveats ?? []).map((c) => `_${c}_`),
    `*Why it matters:* ${WHY}`,
    ...(link ? [`<${link}|Open the matching requests in Logs Insights>`] : []),
  ].join("\n");

  const notification = {
    version: "1.0",
    source: "custom",
    id: `bedrock-dos:${f.accountId}:${ctx.window.endMs}`,
    content: {
      textType: "client-markdown",
      title: `:rotating_light: Bedrock resource exhaustion: account ${f.accountId}`,
      description: markdown,
      nextSteps: NEXT_STEPS,
      keywords: ["Bedrock", "DoS", "AML.T0034", "OWASP-LLM10", f.accountId],
    },
    metadata: {
      summary: subject,
      additionalContext: {
        accountId: f.accountId,
        windowStart: iso(ctx.window.startMs),
        windowEnd: iso(ctx.window.endMs),
        finding: JSON.stringify({
          ...f,
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
    subject,
    "",
    `Account:      ${f.accountId}`,
    `Window:       ${windowText}`,
    `Requests:     ${fmt(f.requestCount)} over a threshold (alert at ${ctx.rule.minRequests} or more)`,
    ...(f.alertReason ? [`Why now:      ${f.alertReason}`] : []),
    ...metrics.map((l) => `${l.over ? "OVER " : "     "} ${l.text}`),
    `First seen:   ${iso(Date.parse(f.firstSeen))}`,
    `Last seen:    ${iso(Date.parse(f.lastSeen))}`,
    ...(f.maxCacheInclusiveInputTokens !== null
      ? [`Max input incl. cache tokens: ${fmt(f.maxCacheInclusiveInputTokens)}`]
      : []),
    "",
    `Top identities (${ofTotal(ev.identities.length, f.identityCount)}):`,
    ...ev.identities.map(
      (i) => `  ${fmt(i.requestCount).padStart(8)}  ${clip(i.identityArn, ev.maxIdLength)}`,
    ),
    `Top models (${ofTotal(ev.models.length, f.modelCount)}):`,
    ...ev.models.map((m) => `  ${fmt(m.requestCount).padStart(8)}  ${clip(m.modelId, ev.maxIdLength)}`),
    ...(cutNote ? ["", cutNote] : []),
    ...(f.caveats ?? []).flatMap((c) => ["", c]),
    "",
    "Why it matters:",
    `  ${WHY}`,
    "",
    "What to check next:",
    ...NEXT_STEPS.map((s, n) => `  ${n + 1}. ${s}`),
    ...(link ? ["", "Matching requests in CloudWatch Logs Insights:", link] : []),
    "",
    "-- bedrock-dos-detector (no prompt or completion text is included in alerts)",
  ].join("\n");

  return { subject, message: JSON.stringify({ default: JSON.stringify(notification), email }) };
}

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
  const subject = asciiLine(`Bedrock DoS alert: ${rest.length} more flagged accounts`, MAX_SUBJECT_CHARS);
  const line = (f: Finding) =>
    `${f.accountId}: ${fmt(f.requestCount)} requests, max prompt ${fmt(f.maxPromptTokens)}, ` +
    `max request size ${fmt(f.maxRequestSize)}, max completion ${fmt(f.maxCompletionTokens)}`;
  let shown = rest.length;
  for (;;) {
    const lines = rest.slice(0, shown).map(line);
    const more =
      shown < rest.length ? [`... and ${rest.length - shown} more (see the detector's logs).`] : [];
    const intro = `The per-run alert cap was reached. ${rest.length} further accounts were flagged in ${iso(ctx.window.startMs)} to ${iso(ctx.window.endMs)}:`;
    const notification = {
      version: "1.0",
      source: "custom",
      content: {
        textType: "client-markdown",
        title: `:rotating_light: Bedrock resource exhaustion: ${rest.length} more accounts`,
        // Chat messages stay short: the full list is in the email.
        description: [
          intro,
          ...lines.slice(0, MAX_CHAT_LIST).map((l) => `• ${l}`),
          ...(rest.length > MAX_CHAT_LIST
            ? [`... and ${rest.length - MAX_CHAT_LIST} more (see the email or the detector's logs).`]
            : []),
        ].join("\n"),
        nextSteps: NEXT_STEPS.slice(0, 3),
        keywords: ["Bedrock", "DoS", "AML.T0034", "OWASP-LLM10"],
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
