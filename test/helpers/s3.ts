/** A real S3-API server (s3rver) on loopback, and the environment that points the scanner's AWS SDK at it. */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import FilesystemStore from "s3rver/lib/stores/filesystem.js";

// s3rver 3.7 stops walking below a common prefix before it has seen a key there, so a delimiter listing of
// nested keys (AWSLogs/<account>/...) returns no CommonPrefixes at all; real S3 returns them. Listed whole
// here and split by the delimiter as S3 does (the tests list few keys, so no paging).
const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const delimiter = options.delimiter ?? "";
  if (delimiter === "") return listObjects.call(this, bucket, options);
  const prefix = options.prefix ?? "";
  const all = await listObjects.call(this, bucket, {
    ...options,
    delimiter: "",
    maxKeys: Number.POSITIVE_INFINITY,
  });
  const commonPrefixes = new Set<string>();
  const objects = all.objects.filter((o) => {
    const i = o.key.indexOf(delimiter, prefix.length);
    if (i >= 0) commonPrefixes.add(o.key.slice(0, i + delimiter.length));
    return i < 0;
  });
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};

// The SDK's notice about its future Node.js versions is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

/** s3rver's fixed credentials: requests signed with others are refused (403), as S3 does. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startS3(buckets: string[]) {
  const s3rver = new S3rver({
    directory: mkdtempSync(join(tmpdir(), "bdd-s3rver-")),
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  // Object reads can be held until several are waiting at once: a reader that reads one object at a time
  // never gets there (the gate then opens after a while and says so).
  let gate: { size: number; waiting: (() => void)[]; opened: "full" | "timeout" | null } | null = null;
  const server = createServer((req, res) => {
    const isGetObject = req.method === "GET" && (req.url ?? "").includes("x-id=GetObject");
    const g = gate;
    if (!isGetObject || g === null || g.opened) return void handle(req, res);
    g.waiting.push(() => handle(req, res));
    const open = (how: "full" | "timeout") => {
      if (g.opened) return;
      g.opened = how;
      for (const go of g.waiting.splice(0)) go();
    };
    if (g.waiting.length >= g.size) open("full");
    else setTimeout(() => open("timeout"), 10_000).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  /** Requests the server answered, by method and path (to check what the scanner listed). */
  const requests: string[] = [];
  server.on("request", (req) => requests.push(`${req.method} ${req.url}`));
  return {
    endpoint,
    requests,
    /** Holds object reads until `size` are waiting together; `opened()` tells whether that happened. */
    holdReads(size: number) {
      const g = { size, waiting: [] as (() => void)[], opened: null as "full" | "timeout" | null };
      gate = g;
      return { opened: () => g.opened };
    },
    async put(bucket: string, key: string, body: string | Buffer) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.length }),
      );
    },
    /**
     * The environment of a CLI process that talks to this server the way it talks to AWS: default credential
     * chain and Region from variables, no profile files, no instance metadata (nothing leaves loopback).
     */
    env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: mkdtempSync(join(tmpdir(), "bdd-home-")),
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_CONFIG_FILE: "/nonexistent/aws-config",
        AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
        ...overrides,
      };
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
      return env;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
