/**
 * Rules across settings (a window of whole periods, Slack ids in pairs, log groups listed once, ...), checked
 * wherever all their settings are in the view, and the log groups a deployment queries.
 */
import { DAY_MS, HOUR_MS, MAX_WINDOW_MS } from "../core/rule.js";
import { formatDuration } from "./kinds.js";
import type { SettingProblem } from "./setting-problems.js";
import {
  DEFAULT_INVOCATION_LOG_GROUP_NAME,
  isToken,
  LOG_GROUP_ARN,
  MAX_LOG_GROUPS,
  type SettingKey,
  type Settings,
} from "./settings.js";
/** Facts about the deployment target that some rules need (unknown at synth for environment-agnostic stacks). */
export interface Home {
  readonly account?: string;
  readonly region?: string;
}

interface CrossRule {
  readonly settings: readonly SettingKey[];
  check(s: Settings, given: ReadonlySet<SettingKey>, home: Home): SettingProblem[];
}

/**
 * Where a log group lives: an ARN names its account and region, a name is the stack's own. Two identifiers
 * are the same group only when these are equal (every member account may use the same name).
 */
export function logGroupIdentity(id: string, home: Home): string {
  const arn = LOG_GROUP_ARN.exec(id);
  const account = arn?.groups?.account;
  const region = arn?.groups?.region;
  const name = arn?.groups?.name ?? id;
  const local = arn === null || (account === home.account && region === home.region);
  return local ? `this account and region:${name}` : `${account}:${region}:${name}`;
}

/** The log groups a deployment queries: the created one (if any) first, then the listed ones. */
export function queriedLogGroups(
  s: Settings<"enableInvocationLogging" | "invocationLogGroupName" | "logGroups">,
) {
  const created = s.enableInvocationLogging ? [s.invocationLogGroupName] : [];
  const listed = s.logGroups ?? (s.enableInvocationLogging ? [] : [DEFAULT_INVOCATION_LOG_GROUP_NAME]);
  return [...created, ...listed];
}

export const CROSS_RULES: readonly CrossRule[] = [
  {
    // The scheduled detector: a window is a whole number of periods, so stored slices tile it exactly.
    settings: ["lookback", "schedule"],
    check: (s) => {
      if (s.lookback > MAX_WINDOW_MS) {
        return [
          {
            setting: "lookback",
            message: `must be at most ${formatDuration(MAX_WINDOW_MS)} for the scheduled detector, got ${formatDuration(s.lookback)}`,
          },
        ];
      }
      return s.lookback % s.schedule === 0
        ? []
        : [
            {
              setting: "lookback",
              message: `(${formatDuration(s.lookback)}) must be a whole number of {schedule} periods (${formatDuration(s.schedule)})`,
            },
          ];
    },
  },
  {
    // Runs fire on the period's lattice (cron), so every slice is a whole period aligned to the clock.
    settings: ["schedule"],
    check: (s) =>
      (s.schedule < HOUR_MS ? HOUR_MS : DAY_MS) % s.schedule === 0
        ? []
        : [
            {
              setting: "schedule",
              message: `must divide an hour (5m, 10m, 15m, 20m, 30m, ...) or a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h), got ${formatDuration(s.schedule)}`,
            },
          ],
  },
  {
    settings: ["schedule", "functionTimeout"],
    check: (s) =>
      s.schedule < s.functionTimeout
        ? [
            {
              setting: "schedule",
              message: `(${formatDuration(s.schedule)}) is shorter than {functionTimeout} (${formatDuration(s.functionTimeout)}): a run could still be going when the next one starts`,
            },
          ]
        : [],
  },
  {
    settings: ["slackWorkspaceId", "slackChannelId"],
    check: (s) =>
      (s.slackWorkspaceId === undefined) !== (s.slackChannelId === undefined)
        ? [{ setting: "slackWorkspaceId", message: "and {slackChannelId} go together: give both or neither" }]
        : [],
  },
  {
    settings: ["enableInvocationLogging", "invocationLogGroupName", "invocationLogRetentionDays"],
    check: (s, given) =>
      s.enableInvocationLogging
        ? []
        : (["invocationLogGroupName", "invocationLogRetentionDays"] as const)
            .filter((k) => given.has(k))
            .map((k) => ({ setting: k, message: "is only valid with {enableInvocationLogging} true" })),
  },
  {
    settings: ["enableInvocationLogging", "invocationLogGroupName", "logGroups"],
    check: (s, _given, home) => {
      const all = queriedLogGroups(s);
      const problems: SettingProblem[] = [];
      if (all.length === 0) {
        problems.push({
          setting: "logGroups",
          message:
            "is empty: name at least one log group holding Bedrock invocation logs, or set {enableInvocationLogging} true",
        });
      }
      if (all.length > MAX_LOG_GROUPS) {
        problems.push({
          setting: "logGroups",
          message: `lists ${all.length} log groups with the created one; Logs Insights queries at most ${MAX_LOG_GROUPS} together`,
        });
      }
      const seen = new Map<string, string>();
      all.forEach((id, i) => {
        const identity = isToken(id) ? id : logGroupIdentity(id, home);
        const before = seen.get(identity);
        if (before !== undefined) {
          const createdTwice = s.enableInvocationLogging && i > 0 && before === all[0];
          problems.push({
            setting: "logGroups",
            message: createdTwice
              ? `lists ${JSON.stringify(id)}, the log group {enableInvocationLogging} creates: leave it out`
              : `lists the log group ${JSON.stringify(id)} twice`,
          });
        } else seen.set(identity, id);
      });
      return problems;
    },
  },
];
