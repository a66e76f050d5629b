/**
 * `aws logs get-query-results` output: `{"results": [[{"field": "@timestamp", "value": ...}, {"field":
 * "@message", "value": ...}, ...], ...], "statistics": {...}, "status": "Complete"}`; the record is the value of
 * the `@message` field.
 */
import { describeJson, isObject, listKeys } from "./export-reader.js";
import type { JsonExportShape } from "./json-export-reader.js";

/** The names of a result row's fields. */
const fieldsOf = (row: unknown[]): string[] =>
  row.flatMap((f) => (isObject(f) && typeof f.field === "string" ? [f.field] : []));

export const QUERY_RESULTS: JsonExportShape = {
  key: "results",
  message(row) {
    if (!Array.isArray(row)) return { missing: `not an array of fields but ${describeJson(row)}` };
    for (const f of row) {
      if (!isObject(f) || f.field !== "@message") continue;
      return typeof f.value === "string" ? { text: f.value } : { missing: "@message has no string value" };
    }
    return { missing: "no @message field" };
  },
  describe(row) {
    if (Array.isArray(row))
      return `get-query-results output whose rows have no @message field (fields: ${listKeys(fieldsOf(row))})`;
    return `a JSON object whose results hold ${describeJson(row)}`;
  },
};
