/**
 * CloudWatch Logs, SNS and EventBridge answered over real HTTP on loopback (node:http), for running the shipped
 * bundle in a child process with the SDK's endpoint variables pointing here. Logs Insights queries are answered
 * by interpreting their text over in-memory records (insights-emulator.ts); published messages and events are
 * recorded; every other request gets HTTP 400 and is recorded as unexpected.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { InvocationRecord } from "../../core/record-reader.js";
import { resultRows } from "./aws.js";
import { rowsFor } from "./insights-emulator.js";

/** An SNS Publish as the server received it (the AWS Query protocol's form fields). */
export interface PublishedMessage {
  readonly topicArn: string | null;
  readonly subject: string | null;
  readonly message: string;
  readonly messageStructure: string | null;
}

/** A PutEvents entry as the server received it. */
export interface ReceivedEvent {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
}

export interface LoopbackAws {
  /** `http://127.0.0.1:<port>`: the endpoint for every service. */
  readonly url: string;
  /** Query texts of the StartQuery calls, in order. */
  readonly queries: string[];
  /** Query ids of the StopQuery calls, in order. */
  readonly stopped: string[];
  readonly published: PublishedMessage[];
  readonly events: ReceivedEvent[];
  /** Requests the server does not answer: a method, path, target or action and why. */
  readonly unexpected: string[];
  close(): Promise<void>;
}

const LOGS = "Logs_20140328.";
const EVENTS = "AWSEvents.";

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJsonObject(text: string): JsonObject | null {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** What the server answers: a JSON 1.1 body (with its status) or an AWS Query XML body. */
type Reply = { readonly status: number; readonly json: unknown } | { readonly xml: string };

function send(res: ServerResponse, reply: Reply): void {
  const [status, type, text] =
    "xml" in reply
      ? [200, "text/xml", reply.xml]
      : [reply.status, "application/x-amz-json-1.1", JSON.stringify(reply.json)];
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": "loopback-request",
  });
  res.end(text);
}

/** A log group DescribeLogGroups knows, and the bytes it holds. */
export interface LoopbackLogGroup {
  readonly name: string;
  readonly storedBytes: number;
}

export interface LoopbackOptions {
  /** What DescribeLogGroups knows (by `logGroupIdentifiers`). */
  readonly logGroups?: readonly LoopbackLogGroup[];
  /** Queries stay Running until stopped (for interrupting a client). */
  readonly queriesNeverEnd?: boolean;
}

/** Starts the server on an ephemeral loopback port; answers queries from `records`. */
export async function startLoopbackAws(
  records: readonly InvocationRecord[],
  options: LoopbackOptions = {},
): Promise<LoopbackAws> {
  const logGroups = options.logGroups ?? [];
  const stopped: string[] = [];
  const queries: string[] = [];
  const published: PublishedMessage[] = [];
  const events: ReceivedEvent[] = [];
  const unexpected: string[] = [];
  const results = new Map<string, Record<string, string>[]>();

  const refuse = (what: string, why: string): Reply => {
    unexpected.push(`${what}: ${why}`);
    return {
      status: 400,
      json: { __type: "UnexpectedRequest", message: `loopback AWS does not answer ${what}: ${why}` },
    };
  };
  const ok = (json: unknown): Reply => ({ status: 200, json });

  const logs = (operation: string, input: JsonObject): Reply => {
    if (operation === "DescribeLogGroups") {
      const asked = Array.isArray(input.logGroupIdentifiers) ? input.logGroupIdentifiers : [];
      return ok({
        logGroups: logGroups
          .filter((g) => asked.includes(g.name))
          .map((g) => ({ logGroupName: g.name, storedBytes: g.storedBytes })),
      });
    }
    if (operation === "StartQuery") {
      const query = input.queryString;
      if (typeof query !== "string") return refuse(`${LOGS}${operation}`, "no queryString");
      const queryId = `q-${queries.length + 1}`;
      queries.push(query);
      results.set(queryId, rowsFor(records, query));
      return ok({ queryId });
    }
    const queryId = typeof input.queryId === "string" ? input.queryId : "";
    const rows = results.get(queryId);
    if (rows === undefined) return refuse(`${LOGS}${operation}`, `unknown queryId ${queryId}`);
    if (operation === "GetQueryResults") {
      if (options.queriesNeverEnd) return ok({ status: "Running", statistics: { bytesScanned: 1 } });
      return ok({
        status: "Complete",
        results: resultRows(rows),
        statistics: { bytesScanned: 1, recordsScanned: 1, recordsMatched: 1 },
      });
    }
    if (operation === "StopQuery") {
      stopped.push(queryId);
      return ok({ success: true });
    }
    return refuse(`${LOGS}${operation}`, "operation not emulated");
  };

  const eventBridge = (operation: string, input: JsonObject): Reply => {
    if (operation !== "PutEvents" || !Array.isArray(input.Entries)) {
      return refuse(`${EVENTS}${operation}`, "operation not emulated");
    }
    const entries = input.Entries.filter(isObject).map((e): ReceivedEvent => {
      const text = (k: string) => (typeof e[k] === "string" ? e[k] : undefined);
      return {
        EventBusName: text("EventBusName"),
        Source: text("Source"),
        DetailType: text("DetailType"),
        Detail: text("Detail"),
      };
    });
    const first = events.length;
    events.push(...entries);
    return ok({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e-${first + i + 1}` })) });
  };

  const sns = (form: URLSearchParams): Reply => {
    const action = form.get("Action") ?? "(no Action)";
    const message = form.get("Message");
    if (action !== "Publish" || message === null) return refuse(`SNS ${action}`, "operation not emulated");
    published.push({
      topicArn: form.get("TopicArn"),
      subject: form.get("Subject"),
      message,
      messageStructure: form.get("MessageStructure"),
    });
    const messageId = `00000000-0000-4000-8000-${String(published.length).padStart(12, "0")}`;
    return {
      xml:
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
        `<PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
        "<ResponseMetadata><RequestId>loopback-request</RequestId></ResponseMetadata>" +
        "</PublishResponse>",
    };
  };

  const answer = (req: IncomingMessage, body: string): Reply => {
    const target = req.headers["x-amz-target"];
    const contentType = req.headers["content-type"] ?? "";
    const what = `${req.method} ${req.url}${typeof target === "string" ? ` ${target}` : ""}`;
    if (req.method !== "POST") return refuse(what, "not a POST");
    if (typeof target === "string") {
      const input = parseJsonObject(body);
      if (input === null) return refuse(what, "body is not a JSON object");
      if (target.startsWith(LOGS)) return logs(target.slice(LOGS.length), input);
      if (target.startsWith(EVENTS)) return eventBridge(target.slice(EVENTS.length), input);
      return refuse(what, "unknown target");
    }
    if (contentType.startsWith("application/x-www-form-urlencoded")) return sns(new URLSearchParams(body));
    return refuse(what, `no X-Amz-Target and content type "${contentType}"`);
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => send(res, answer(req, body)))
      .catch((err: unknown) => {
        unexpected.push(`${req.method} ${req.url}: ${String(err)}`);
        if (!res.headersSent)
          send(res, { status: 500, json: { __type: "InternalFailure", message: String(err) } });
        else res.end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    stopped,
    published,
    events,
    unexpected,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
