/** The rule (core/rule.ts) from its settings, with the defaults of the table. */
import { formatModelThreshold, parseModelThresholds } from "../core/model-thresholds.js";
import { METRICS, type Metric, type Rule } from "../core/rule.js";
import { resolveSettings, type SettingsInput } from "./resolve-settings.js";
import { type Settings, VIEWS } from "./settings.js";
/** The rule from its settings. */
export function ruleFrom(
  s: Settings<
    | "promptTokensThreshold"
    | "completionTokensThreshold"
    | "requestSizeThreshold"
    | "minRequests"
    | "lookback"
    | "excludedAccountIds"
    | "excludedIdentityPatterns"
    | "modelThresholds"
    | "cachedInputTokensThreshold"
    | "tokensPerHour"
    | "requestsPerHour"
    | "anomalyFactor"
    | "anomalyFloorTokens"
    | "baselineDays"
  >,
): Rule {
  const thresholds = {} as Record<Metric, number>;
  for (const m of METRICS) thresholds[m] = s[`${m}Threshold`];
  return Object.freeze({
    thresholds: Object.freeze(thresholds),
    minRequests: s.minRequests,
    lookbackMs: s.lookback,
    excludedAccountIds: Object.freeze([...s.excludedAccountIds]),
    excludedIdentityPatterns: Object.freeze([...s.excludedIdentityPatterns]),
    modelThresholds: Object.freeze(parseModelThresholds(s.modelThresholds)),
    cachedInputTokens: s.cachedInputTokensThreshold,
    tokensPerHour: s.tokensPerHour,
    requestsPerHour: s.requestsPerHour,
    anomalyFactor: s.anomalyFactor,
    anomalyFloorTokens: s.anomalyFloorTokens,
    baselineDays: s.baselineDays,
  });
}

/** The rule's settings. */
export const RULE_SETTINGS = VIEWS.cli;

/** The rule with every default. */
export const DEFAULT_RULE: Rule = ruleFrom(
  resolveSettings(VIEWS.cli, {}, "cli") as Settings<(typeof VIEWS.cli)[number]>,
);

const RULE_KEYS = new Set(Object.keys(DEFAULT_RULE));

/** A rule from the defaults and overrides (tests and library callers); throws SettingsError. */
export function defineRule(
  overrides: Partial<Omit<Rule, "thresholds">> & { thresholds?: Partial<Rule["thresholds"]> } = {},
): Rule {
  const unknownKeys = [
    ...Object.keys(overrides).filter((k) => !RULE_KEYS.has(k)),
    ...Object.keys(overrides.thresholds ?? {}).filter((k) => !(METRICS as readonly string[]).includes(k)),
  ];
  if (unknownKeys.length > 0) throw new TypeError(`not rule properties: ${unknownKeys.join(", ")}`);
  const input: SettingsInput = {};
  for (const m of METRICS) input[`${m}Threshold`] = overrides.thresholds?.[m];
  input.minRequests = overrides.minRequests;
  input.lookback = overrides.lookbackMs;
  input.excludedAccountIds = overrides.excludedAccountIds;
  input.excludedIdentityPatterns = overrides.excludedIdentityPatterns;
  input.modelThresholds = overrides.modelThresholds?.map(formatModelThreshold);
  input.cachedInputTokensThreshold = overrides.cachedInputTokens;
  input.tokensPerHour = overrides.tokensPerHour;
  input.requestsPerHour = overrides.requestsPerHour;
  input.anomalyFactor = overrides.anomalyFactor;
  input.anomalyFloorTokens = overrides.anomalyFloorTokens;
  input.baselineDays = overrides.baselineDays;
  return ruleFrom(resolveSettings(VIEWS.cli, input, "prop") as Settings<(typeof VIEWS.cli)[number]>);
}
