/**
 * The function's configuration: its view of the settings (config/settings.ts), read from the environment
 * the construct wrote, validated once at cold start. Problems name the environment variables.
 */
import {
  fromEnvironment,
  normalizeLogGroupIdentifier,
  resolveSettings,
  ruleFrom,
  VIEWS,
} from "../config/settings.js";
import type { Rule } from "../core/rule.js";
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
}

/** Validates the environment; throws SettingsError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): DetectorConfig {
  const s = resolveSettings(VIEWS.env, fromEnvironment(env), "env", {
    required: ["logGroupIdentifiers", "alertTopicArn", "region"],
  });
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
  };
}
