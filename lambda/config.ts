/**
 * The function's configuration: its view of the settings (config/settings.ts), read from the environment
 * the construct wrote, validated once at cold start. Problems name the environment variables.
 */
import { fromEnvironment } from "../config/environment.js";
import { resolveSettings } from "../config/resolve-settings.js";
import { ruleFrom } from "../config/rule-settings.js";
import { SettingsError } from "../config/setting-problems.js";
import { normalizeLogGroupIdentifier, VIEWS } from "../config/settings.js";
import { type ModelPrice, parsePrices, priceTable } from "../core/pricing.js";
import type { Rule } from "../core/rule.js";
import { ConfigurationError } from "./errors.js";
import type { EscalationPolicy } from "./suppression.js";

export interface DetectorConfig {
  readonly logGroupIdentifiers: readonly string[];
  readonly alertTopicArn: string;
  /** The rule, exclusions included. */
  readonly rule: Rule;
  /** Scheduled windows end this long before the scheduled time, for late log delivery. */
  readonly settleDelayMs: number;
  readonly maxAlertsPerRun: number;
  readonly dryRun: boolean;
  /**
   * The state table: stored slices (each scheduled run queries only its new period) and the alert ledger
   * (a retried run never re-sends; an alerted account is alerted again only when it escalates). Without it,
   * every run queries its whole window and alerts on every flagged account.
   */
  readonly stateTable: string | undefined;
  /** The schedule period: the length of every stored slice. */
  readonly schedulePeriodMs: number;
  readonly escalation: EscalationPolicy;
  /** Query each period once more on the next run, for late events. */
  readonly requeryPreviousSlice: boolean;
  readonly region: string;
  /** Names the detector in alerts and is the health metrics' `Detector` dimension. */
  readonly detectorLabel: string;
  /** EventBridge bus (name or ARN) each alerted finding is sent to. */
  readonly eventBusName: string;
  /** The account's own Security Hub product ARN; set: alerted findings are imported into Security Hub. */
  readonly securityHubProductArn: string | undefined;
  /** The cost estimate's prices: `modelPrices` overrides, then the built-in table. */
  readonly prices: readonly ModelPrice[];
}

/** The label when the environment has none (the construct always writes one). */
export const DEFAULT_DETECTOR_LABEL = "bedrock-dos-detector";

/** Validates the environment; throws ConfigurationError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): DetectorConfig {
  const s = resolveEnvironment(env);
  return {
    logGroupIdentifiers: s.logGroupIdentifiers.map(normalizeLogGroupIdentifier),
    alertTopicArn: s.alertTopicArn,
    rule: ruleFrom(s),
    settleDelayMs: s.settleDelay,
    maxAlertsPerRun: s.maxAlertsPerRun,
    dryRun: s.dryRun,
    stateTable: s.stateTable,
    schedulePeriodMs: s.schedule,
    escalation: {
      suppressForMs: s.suppressFor,
      countFactor: s.escalationCountFactor,
      maxFactor: s.escalationMaxFactor,
    },
    requeryPreviousSlice: s.requeryPreviousSlice,
    region: s.region,
    detectorLabel: s.detectorLabel ?? DEFAULT_DETECTOR_LABEL,
    eventBusName: s.eventBusName,
    securityHubProductArn: s.securityHubProductArn,
    prices: priceTable(parsePrices(s.modelPrices)),
  };
}

function resolveEnvironment(env: Readonly<Record<string, string | undefined>>) {
  try {
    return resolveSettings(VIEWS.env, fromEnvironment(env), "env", {
      required: ["logGroupIdentifiers", "alertTopicArn", "region"],
    });
  } catch (err) {
    if (err instanceof SettingsError) throw new ConfigurationError(err);
    throw err;
  }
}
