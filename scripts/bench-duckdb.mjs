// Benchmark competitor: DuckDB (@duckdb/node-api, the project's devDependency, or another install through NODE_PATH)
// running the rule with read_ndjson and an explicit column schema. Prints the flagged accounts.
// Usage: node scripts/bench-duckdb.mjs <threads> <start> <end> <file or @list>...   (or --probe)
import { createRequire } from "node:module";
import { filesOf } from "./bench-file-args.mjs";

const require = createRequire(`${process.env.NODE_PATH || process.cwd()}/`);
let duckdb;
try {
  duckdb = await import(require.resolve("@duckdb/node-api"));
} catch {
  process.exit(3);
}
if (process.argv[2] === "--probe") process.exit(0);
const [threads, start, end, ...args] = process.argv.slice(2);
const files = filesOf(args);
const instance = await duckdb.DuckDBInstance.create(":memory:", { threads });
const conn = await instance.connect();
const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(",");
const columns = `{timestamp: 'VARCHAR', accountId: 'VARCHAR', requestId: 'VARCHAR', modelId: 'VARCHAR',
  identity: 'STRUCT(arn VARCHAR)', input: 'STRUCT(inputBodyJson JSON, inputTokenCount BIGINT)',
  output: 'STRUCT(outputTokenCount BIGINT)'}`;
const sql = `
WITH r AS (
  SELECT accountId, requestId, input.inputTokenCount AS p, length(input.inputBodyJson::VARCHAR) AS s,
         output.outputTokenCount AS c
  FROM read_ndjson([${list}], columns = ${columns}, maximum_object_size = 16777216)
  WHERE timestamp >= '${start}' AND timestamp < '${end}'
), m AS (SELECT * FROM r WHERE p > 8000 OR s > 8000 OR c > 8000)
SELECT accountId, count(DISTINCT requestId) AS n, max(p) AS p, max(s) AS s, max(c) AS c FROM m
GROUP BY accountId HAVING count(DISTINCT requestId) >= 2
ORDER BY p DESC NULLS LAST, s DESC NULLS LAST, c DESC NULLS LAST, accountId`;
const rows = (await conn.runAndReadAll(sql)).getRowObjects();
process.stdout.write(`${rows.length} accounts\n`);
