/**
 * The log groups a hunt queries, as CloudWatch Logs describes them: each given name or ARN found, and the
 * bytes each holds (`storedBytes`: an upper bound of what a query over it can scan).
 */
import { type CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { LOG_GROUP_ARN, LOG_GROUP_NAME, MAX_LOG_GROUPS } from "../config/settings.js";
import { DAY_MS } from "../core/rule.js";
import { CliError } from "./errors.js";

export interface DescribedLogGroup {
  /** As the user gave it (a name or an ARN): what the queries name. */
  readonly identifier: string;
  readonly name: string;
  readonly storedBytes: number;
  /**
   * From when the group holds every record written to it: its creation, or the oldest time its retention
   * keeps (undefined when CloudWatch Logs does not say).
   */
  readonly recordsFromMs: number | undefined;
}

/** A log group's name from its name or ARN; a CliError for anything else. */
export function logGroupNameOf(identifier: string): string {
  const arn = LOG_GROUP_ARN.exec(identifier);
  if (arn?.groups?.name !== undefined) return arn.groups.name;
  if (LOG_GROUP_NAME.test(identifier)) return identifier;
  throw new CliError(`${JSON.stringify(identifier)} is not a log group name or ARN`);
}

/** Describes the given log groups; a CliError naming those not found. */
export async function describeLogGroups(
  client: CloudWatchLogsClient,
  identifiers: readonly string[],
  nowMs: number,
): Promise<DescribedLogGroup[]> {
  if (identifiers.length > MAX_LOG_GROUPS)
    throw new CliError(`at most ${MAX_LOG_GROUPS} log groups fit in one Logs Insights query`);
  const names = [...new Set(identifiers.map(logGroupNameOf))];
  const found = new Map<string, Omit<DescribedLogGroup, "identifier" | "name">>();
  let nextToken: string | undefined;
  do {
    const out = await client.send(new DescribeLogGroupsCommand({ logGroupIdentifiers: names, nextToken }));
    for (const g of out.logGroups ?? []) {
      if (g.logGroupName === undefined) continue;
      const kept = g.retentionInDays === undefined ? undefined : nowMs - g.retentionInDays * DAY_MS;
      found.set(g.logGroupName, {
        storedBytes: g.storedBytes ?? 0,
        recordsFromMs:
          g.creationTime === undefined
            ? undefined
            : Math.max(g.creationTime, kept ?? Number.NEGATIVE_INFINITY),
      });
    }
    nextToken = out.nextToken;
  } while (nextToken !== undefined);
  const missing = identifiers.filter((id) => !found.has(logGroupNameOf(id)));
  if (missing.length > 0) {
    throw new CliError(
      `log group${missing.length === 1 ? "" : "s"} not found: ${missing.join(", ")} (check the name and --region)`,
    );
  }
  return identifiers.map((identifier) => {
    const name = logGroupNameOf(identifier);
    const g = found.get(name);
    return { identifier, name, storedBytes: g?.storedBytes ?? 0, recordsFromMs: g?.recordsFromMs };
  });
}
