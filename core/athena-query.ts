/**
 * MERGE SEAM, to be replaced whole by the detections' Athena SQL (issue 19, the queries' part), which keeps this
 * signature. Until then each detection gets a saved query that is honest about what it does: it counts the
 * archive's records per account over the rule's lookback (partition-pruned), and its name and description say
 * it is not the detection.
 */

import { ARCHIVE_COLUMNS, DATEHOUR_FORMAT } from "./athena-table.js";
import { DELIVERY_SLACK_MS } from "./delivery-layout.js";
import { DETECTION_NAMES } from "./finding.js";
import { HOUR_MS, type Rule } from "./rule.js";

/** Trino's spelling of DATEHOUR_FORMAT (`yyyy/MM/dd/HH`), for date_format(). */
const TRINO_DATEHOUR = DATEHOUR_FORMAT.replace("yyyy", "%Y")
  .replace("MM", "%m")
  .replace("dd", "%d")
  .replace("HH", "%H");

/** A placeholder query per detection: records per account in the hour folders of the rule's lookback. */
export function athenaSavedQueries(
  rule: Rule,
  table: { database: string; table: string },
): { name: string; description: string; queryString: string }[] {
  const c = ARCHIVE_COLUMNS;
  const hours = Math.ceil((rule.lookbackMs + DELIVERY_SLACK_MS) / HOUR_MS);
  return DETECTION_NAMES.map((detection) => ({
    name: `bedrock-dos ${detection} (placeholder: records per account)`,
    description: `Placeholder for the ${detection} detection: counts the archive's records per account over the last ${hours} hour folders. Not the detection.`,
    queryString: [
      `SELECT ${c.account}, count(*) AS records`,
      `FROM "${table.database}"."${table.table}"`,
      `WHERE ${c.datehour} >= date_format(current_timestamp - interval '${hours}' hour, '${TRINO_DATEHOUR}')`,
      `GROUP BY ${c.account}`,
      "ORDER BY records DESC",
    ].join("\n"),
  }));
}
