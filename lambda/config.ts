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
   * The alert ledger's table: a retried run never re-sends, and an account already alerted is not alerted
   * again within `suppressForMs` unless its request count has doubled. Without it, every run alerts on every
   * flagged account.
   */
  readonly alertLedgerTable: string | undefined;
  readonly suppressForMs: number;
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
    alertLedgerTable: s.alertLedgerTable,
    suppressForMs: s.suppressFor,
    region: s.region,
  };
}
