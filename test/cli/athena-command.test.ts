/**
 * The `athena` command end to end in process: its queries answered by the Athena API mock (aws-sdk-client-mock
 * at the SDK boundary) with rows computed by running the submitted SQL on DuckDB over the sample corpus's
 * archive table (test/helpers/duckdb-athena.ts). Its report's findings and history must be the scanner's over
 * the same S3 deliveries; the queries go to the given workgroup and database; the cost is said; AWS errors and bad
 * options are one line.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AthenaOptions, runAthena } from "../../cli/athena-command.js";
import { CliError } from "../../cli/errors.js";
import { main } from "../../cli/main.js";
import { DEFAULT_SAMPLE_END, writeSampleData } from "../../cli/sample-data.js";
import { scanLogs } from "../../cli/scan.js";
import { DEFAULT_RULE, defineRule } from "../../config/rule-settings.js";
import { DAY_MS, type Rule } from "../../core/rule.js";
import { archiveLinesUnder, DuckArchive, TABLE } from "../helpers/duckdb-athena.js";

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: "us-east-1" });
const END = Date.parse(DEFAULT_SAMPLE_END);
const WINDOW = { startMs: END - DAY_MS, endMs: END };
const SCANNED = 12 * 2 ** 20;

let dir: string;
let archive: DuckArchive;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "athena-command-"));
  await writeSampleData(dir, { seed: 11, endMs: END });
  archive = await DuckArchive.create();
  await archive.add(await archiveLinesUnder(dir));
}, 120_000);
afterAll(async () => {
  archive.close();
  await rm(dir, { recursive: true, force: true });
});

/** Athena as the mock answers it: each query's SQL run on DuckDB when its results are read. */
function answerWithDuckDb() {
  const sql = new Map<string, string>();
  athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string }) => {
    const id = `q-${sql.size + 1}`;
    sql.set(id, input.QueryString);
    return { QueryExecutionId: id };
  });
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => ({
    QueryExecution: {
      QueryExecutionId: input.QueryExecutionId,
      Status: { State: "SUCCEEDED" },
      Statistics: { DataScannedInBytes: SCANNED },
    },
  }));
  athena.on(GetQueryResultsCommand).callsFake(async (input: { QueryExecutionId: string }) => {
    const rows = await archive.query(sql.get(input.QueryExecutionId) as string);
    const columns = Object.keys(rows[0] ?? {});
    const cells = (values: (string | undefined)[]) => ({
      Data: values.map((VarCharValue) => (VarCharValue === undefined ? {} : { VarCharValue })),
    });
    return { ResultSet: { Rows: [cells(columns), ...rows.map((r) => cells(columns.map((c) => r[c])))] } };
  });
  return sql;
}

function sink() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

const OPTIONS: AthenaOptions = {
  ...TABLE,
  workGroup: "bedrock-invocation-archive",
  format: "json",
  progress: false,
};

async function run(rule: Rule, options: Partial<AthenaOptions> = {}) {
  const out = sink();
  const err = sink();
  const code = await runAthena(
    rule,
    WINDOW,
    { ...OPTIONS, ...options },
    { stdout: out.stream, stderr: err.stream, client },
  );
  return { code, stdout: out.text(), stderr: err.text() };
}

describe("bedrock-dos-detector athena", () => {
  beforeEach(() => athena.reset());

  for (const [name, rule] of [
    ["the default rule", DEFAULT_RULE],
    [
      "exclusions and per-model thresholds",
      defineRule({
        excludedIdentityPatterns: ["arn:aws:sts::*:assumed-role/ci-runner/*"],
        modelThresholds: [
          {
            prefix: "anthropic.claude",
            thresholds: { promptTokens: 6000, requestSize: 6000, completionTokens: 6000 },
          },
        ],
      }),
    ],
  ] as const) {
    it(`reports the scanner's findings and history on the sample archive (${name})`, async () => {
      const sql = answerWithDuckDb();
      const r = await run(rule);
      expect(r.code).toBe(0);
      const scanned = await scanLogs([join(dir, "AWSLogs")], rule, WINDOW);
      const report = JSON.parse(r.stdout) as {
        findings: unknown[];
        history: { foundFrom: string; records: number };
        source: { engine: string; queries: number; bytesScanned: number };
      };
      expect(scanned.findings.length).toBeGreaterThan(2);
      expect(report.findings).toEqual(JSON.parse(JSON.stringify(scanned.findings)));
      expect(report.history.records).toBe(scanned.history.records);
      expect(report.history.foundFrom).toBe(new Date(scanned.history.foundFromMs).toISOString());
      expect(report.source).toMatchObject({ engine: "Amazon Athena", queries: 2, bytesScanned: 2 * SCANNED });
      // Every query runs in the workgroup and database given, and reads only the partitions it needs.
      for (const call of athena.commandCalls(StartQueryExecutionCommand)) {
        expect(call.args[0].input.WorkGroup).toBe("bedrock-invocation-archive");
        expect(call.args[0].input.QueryExecutionContext?.Database).toBe(TABLE.database);
      }
      for (const text of sql.values()) expect(text).toMatch(/datehour BETWEEN '\d{4}\/\d\d\/\d\d\/\d\d' AND/);
      expect(r.stderr).toMatch(/2 queries run, 24(\.0)? MB scanned/);
    }, 120_000);
  }

  it("with no baseline days, runs the window's query only", async () => {
    answerWithDuckDb();
    const rule = defineRule({ baselineDays: 0 });
    const r = await run(rule);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(1);
    const scanned = await scanLogs([join(dir, "AWSLogs")], rule, WINDOW);
    expect((JSON.parse(r.stdout) as { findings: unknown[] }).findings).toEqual(
      JSON.parse(JSON.stringify(scanned.findings)),
    );
  }, 120_000);

  it("fails on an AWS error with one line naming what the credentials need", async () => {
    athena.on(StartQueryExecutionCommand).rejects(
      Object.assign(new Error("User is not authorized"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const err = await run(DEFAULT_RULE).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).not.toContain("\n");
    expect((err as Error).message).toMatch(/Athena/);
  });

  it("refuses a database name that is not a Glue name, before any AWS call", async () => {
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => {
      writes.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      expect(await main(["node", "cli", "athena", "--database", "x;DROP"])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(writes.join("")).toMatch(/--database.*Glue name/);
    expect(athena.calls()).toHaveLength(0);
  });
});
