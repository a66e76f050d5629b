/** Template assertions for the archive construct: the Glue table, the workgroup, the saved queries and the IAM it grants. */
import { App, Duration, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import { describe, expect, it } from "vitest";
import { DEFAULT_RULE, defineRule } from "../../config/rule-settings.js";
import { TB } from "../../core/athena-cost.js";
import { athenaSavedQueries } from "../../core/athena-query.js";
import { LINE_FIELD_DELIMITER } from "../../core/athena-table.js";
import { DetectorStack } from "../../lib/detector-stack.js";
import {
  BedrockInvocationArchive,
  type BedrockInvocationArchiveProps,
  ConstructError,
} from "../../lib/index.js";
import { only, statementsOf } from "./helpers.js";

/** Athena's `${name}` placeholder, spelled without a template-literal look-alike. */
const slot = (name: string) => `$\{${name}}`;
const DELIVERIES = `AWSLogs/${slot("account")}/BedrockModelInvocationLogs/${slot("region")}/${slot("datehour")}/`;

const ENV = { account: "111122223333", region: "eu-west-1" };
const PROPS: BedrockInvocationArchiveProps = {
  bucketName: "org-bedrock-archive",
  prefix: "bedrock/",
  accountIds: ["111122223333", "444455556666"],
  regions: ["eu-west-1", "us-east-1"],
  startDate: "2024-03-01",
};

function archiveStack(props: BedrockInvocationArchiveProps = PROPS) {
  const app = new App();
  const stack = new Stack(app, "Archive", { env: ENV });
  const archive = new BedrockInvocationArchive(stack, "Archive", props);
  return { app, stack, archive, template: Template.fromStack(stack) };
}

/** The message of the ConstructError that `build` throws, and the props it names. */
function constructError(build: () => unknown): { message: string; settings: readonly string[] } {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(ConstructError);
    const e = err as ConstructError;
    expect(e.message).not.toContain("\n");
    return { message: e.message, settings: e.settings };
  }
  throw new Error("expected a ConstructError");
}

describe("the Glue table", () => {
  const { template } = archiveStack();
  const table = only(template, "AWS::Glue::Table").props as {
    CatalogId: string;
    DatabaseName: unknown;
    TableInput: Record<string, unknown> & {
      Parameters: Record<string, string>;
      StorageDescriptor: Record<string, unknown>;
    };
  };

  it("projects every partition from the delivery layout: no crawler, no MSCK REPAIR", () => {
    expect(table.TableInput.Parameters).toEqual({
      classification: "text",
      "projection.enabled": "true",
      "projection.account.type": "enum",
      "projection.account.values": "111122223333,444455556666",
      "projection.region.type": "enum",
      "projection.region.values": "eu-west-1,us-east-1",
      "projection.datehour.type": "date",
      "projection.datehour.format": "yyyy/MM/dd/HH",
      "projection.datehour.range": "2024/03/01/00,NOW",
      "projection.datehour.interval": "1",
      "projection.datehour.interval.unit": "HOURS",
      "storage.location.template": `s3://org-bedrock-archive/bedrock/${DELIVERIES}`,
    });
    expect(table.TableInput.PartitionKeys).toEqual([
      { Name: "account", Type: "string" },
      { Name: "region", Type: "string" },
      { Name: "datehour", Type: "string" },
    ]);
    expect(template.findResources("AWS::Glue::Crawler")).toEqual({});
  });

  it("reads each gzip'd line whole into one string column", () => {
    expect(table.TableInput.TableType).toBe("EXTERNAL_TABLE");
    expect(table.TableInput.StorageDescriptor).toEqual({
      Location: "s3://org-bedrock-archive/bedrock/AWSLogs/",
      Columns: [{ Name: "line", Type: "string" }],
      InputFormat: "org.apache.hadoop.mapred.TextInputFormat",
      OutputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
      Compressed: true,
      SerdeInfo: {
        SerializationLibrary: "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        Parameters: { "field.delim": "\u0001", "serialization.format": "\u0001" },
      },
    });
    expect(LINE_FIELD_DELIMITER).toBe("\u0001");
  });

  it("lives in the database the construct creates, in the stack's catalog", () => {
    const db = only(template, "AWS::Glue::Database");
    expect(db.props.DatabaseInput).toMatchObject({ Name: "bedrock_invocation_archive" });
    expect(table.DatabaseName).toEqual({ Ref: db.id });
    expect(table.CatalogId).toBe(ENV.account);
    expect(table.TableInput.Name).toBe("invocations");
  });

  it("defaults to the stack's account and Region and a bucket given as a construct", () => {
    const app = new App();
    const stack = new Stack(app, "Defaults", { env: ENV });
    const bucket = s3.Bucket.fromBucketName(stack, "Logs", "my-bedrock-logs");
    new BedrockInvocationArchive(stack, "Archive", { bucket });
    const params = (
      only(Template.fromStack(stack), "AWS::Glue::Table").props.TableInput as {
        Parameters: Record<string, string>;
      }
    ).Parameters;
    expect(params["projection.account.values"]).toBe(ENV.account);
    expect(params["projection.region.values"]).toBe(ENV.region);
    expect(params["projection.datehour.range"]).toBe("2023/09/28/00,NOW");
    expect(params["storage.location.template"]).toBe(`s3://my-bedrock-logs/${DELIVERIES}`);
  });
});

describe("the workgroup", () => {
  const { template, archive } = archiveStack();
  const wg = only(template, "AWS::Athena::WorkGroup").props as {
    Name: string;
    WorkGroupConfiguration: Record<string, unknown>;
  };
  const results = only(template, "AWS::S3::Bucket");

  it("enforces engine v3, CloudWatch metrics, a 1 TB cutoff and SSE-S3 results in its own bucket", () => {
    expect(wg.Name).toBe("bedrock-invocation-archive");
    expect(wg.WorkGroupConfiguration).toEqual({
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      BytesScannedCutoffPerQuery: TB,
      EngineVersion: { SelectedEngineVersion: "Athena engine version 3" },
      ResultConfiguration: {
        OutputLocation: { "Fn::Join": ["", ["s3://", { Ref: results.id }, "/"]] },
        ExpectedBucketOwner: ENV.account,
        EncryptionConfiguration: { EncryptionOption: "SSE_S3" },
      },
    });
    expect(BedrockInvocationArchive.DEFAULT_BYTES_SCANNED_CUTOFF_PER_QUERY).toBe(2 ** 40);
    expect(archive.workGroupName).toBe(wg.Name);
  });

  it("writes results to an encrypted, private, SSL-only bucket whose objects expire", () => {
    expect(results.props).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          {
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: "Enabled",
          },
        ],
      },
    });
    const policy = JSON.stringify(template.findResources("AWS::S3::BucketPolicy"));
    expect(policy).toContain('"aws:SecureTransport":"false"');
  });

  it("takes the cutoff, expiry and a KMS key for the results from props", () => {
    const app = new App();
    const stack = new Stack(app, "Kms", { env: ENV });
    const key = new kms.Key(stack, "ResultsKey", { enableKeyRotation: true });
    new BedrockInvocationArchive(stack, "Archive", {
      ...PROPS,
      bytesScannedCutoffPerQuery: 50 * 2 ** 30,
      resultsExpiration: Duration.days(30),
      resultsEncryptionKey: key,
    });
    const t = Template.fromStack(stack);
    const keyId = only(t, "AWS::KMS::Key").id;
    const config = (only(t, "AWS::Athena::WorkGroup").props.WorkGroupConfiguration ?? {}) as {
      BytesScannedCutoffPerQuery: number;
      ResultConfiguration: { EncryptionConfiguration: unknown };
    };
    expect(config.BytesScannedCutoffPerQuery).toBe(50 * 2 ** 30);
    expect(config.ResultConfiguration.EncryptionConfiguration).toEqual({
      EncryptionOption: "SSE_KMS",
      KmsKey: { "Fn::GetAtt": [keyId, "Arn"] },
    });
    expect(only(t, "AWS::S3::Bucket").props).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: "aws:kms",
              KMSMasterKeyID: { "Fn::GetAtt": [keyId, "Arn"] },
            },
          },
        ],
      },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 30 }] },
    });
  });
});

describe("the saved queries", () => {
  const named = (template: Template) =>
    Object.values(template.findResources("AWS::Athena::NamedQuery")).map(
      (r) => r.Properties as Record<string, unknown>,
    );
  const table = { database: "bedrock_invocation_archive", table: "invocations" };

  it("are the module's queries for the default rule, in the workgroup and database", () => {
    const { template } = archiveStack();
    const wgRef = { Ref: only(template, "AWS::Athena::WorkGroup").id };
    const dbRef = { Ref: only(template, "AWS::Glue::Database").id };
    const expected = athenaSavedQueries(DEFAULT_RULE, table);
    expect(expected.length).toBeGreaterThan(0);
    expect(named(template)).toEqual(
      expected.map((q) => ({
        Name: q.name,
        Description: q.description,
        QueryString: q.queryString,
        Database: dbRef,
        WorkGroup: wgRef,
      })),
    );
  });

  it("hunt with the rule given as the detector's props", () => {
    const { template } = archiveStack({
      ...PROPS,
      detectorProps: { lookback: Duration.hours(6), minRequests: 5, thresholds: { promptTokens: 20_000 } },
    });
    const rule = defineRule({
      lookbackMs: 6 * 3_600_000,
      minRequests: 5,
      thresholds: { promptTokens: 20_000 },
    });
    expect(named(template).map((q) => q.QueryString)).toEqual(
      athenaSavedQueries(rule, table).map((q) => q.queryString),
    );
    expect(named(template).map((q) => q.QueryString)).not.toEqual(
      athenaSavedQueries(DEFAULT_RULE, table).map((q) => q.queryString),
    );
  });
});

describe("the query permissions", () => {
  const PARTITION = slot("AWS::Partition");
  const WG_ARN = `arn:${PARTITION}:athena:eu-west-1:111122223333:workgroup/bedrock-invocation-archive`;
  const archiveArn = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::org-bedrock-archive"]] };
  const sub = (text: string) => ({
    "Fn::Join": [
      "",
      text.split(PARTITION).flatMap((p, i) => (i === 0 ? [p] : [{ Ref: "AWS::Partition" }, p])),
    ],
  });
  const glueArn = (resource: string) => sub(`arn:${PARTITION}:glue:eu-west-1:111122223333:${resource}`);

  /** Exactly the statements running the queries needs, given the results bucket's logical id. */
  const expected = (resultsId: string) => {
    const resultsArn = { "Fn::GetAtt": [resultsId, "Arn"] };
    return [
      {
        Sid: "RunQueriesInWorkGroup",
        Effect: "Allow",
        Action: [
          "athena:StartQueryExecution",
          "athena:GetQueryExecution",
          "athena:GetQueryResults",
          "athena:StopQueryExecution",
          "athena:GetWorkGroup",
          "athena:ListNamedQueries",
          "athena:BatchGetNamedQuery",
          "athena:GetNamedQuery",
        ],
        Resource: sub(WG_ARN),
      },
      {
        Sid: "ReadTableDefinition",
        Effect: "Allow",
        Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
        Resource: [
          glueArn("catalog"),
          glueArn("database/bedrock_invocation_archive"),
          glueArn("table/bedrock_invocation_archive/invocations"),
        ],
      },
      {
        Sid: "ReadArchiveObjects",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: {
          "Fn::Join": [
            "",
            ["arn:", { Ref: "AWS::Partition" }, ":s3:::org-bedrock-archive/bedrock/AWSLogs/*"],
          ],
        },
      },
      {
        Sid: "ListArchiveDeliveries",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: archiveArn,
        Condition: { StringLike: { "s3:prefix": ["bedrock/AWSLogs/*"] } },
      },
      {
        Sid: "LocateBuckets",
        Effect: "Allow",
        Action: "s3:GetBucketLocation",
        Resource: [archiveArn, resultsArn],
      },
      {
        Sid: "ListResults",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
        Resource: resultsArn,
      },
      {
        Sid: "ReadWriteResults",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: { "Fn::Join": ["", [resultsArn, "/*"]] },
      },
    ];
  };

  it("are exactly the statements running the queries needs, in the managed policy", () => {
    const { template } = archiveStack();
    const resultsId = only(template, "AWS::S3::Bucket").id;
    const policy = only(template, "AWS::IAM::ManagedPolicy").props as {
      PolicyDocument: { Statement: unknown[] };
    };
    expect(policy.PolicyDocument.Statement).toEqual(expected(resultsId));
  });

  it("are what grantQuery adds to a grantee, with kms for the keys given", () => {
    const app = new App();
    const stack = new Stack(app, "Grant", { env: ENV });
    const archiveKey = kms.Key.fromKeyArn(
      stack,
      "ArchiveKey",
      "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    );
    const resultsKey = new kms.Key(stack, "ResultsKey", { enableKeyRotation: true });
    const archive = new BedrockInvocationArchive(stack, "Archive", {
      ...PROPS,
      archiveEncryptionKey: archiveKey,
      resultsEncryptionKey: resultsKey,
    });
    const role = new iam.Role(stack, "Analyst", { assumedBy: new iam.AccountRootPrincipal() });
    const grant = archive.grantQuery(role);
    expect(grant.success).toBe(true);
    const t = Template.fromStack(stack);
    const resultsId = only(t, "AWS::S3::Bucket").id;
    const keyId = only(t, "AWS::KMS::Key").id;
    const kmsStatements = [
      {
        Sid: "DecryptArchive",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      },
      {
        Sid: "EncryptDecryptResults",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: { "Fn::GetAtt": [keyId, "Arn"] },
      },
    ];
    const managed = (only(t, "AWS::IAM::ManagedPolicy").props as { PolicyDocument: { Statement: unknown[] } })
      .PolicyDocument.Statement;
    expect(managed).toEqual([...expected(resultsId), ...kmsStatements]);
    // grantQuery: the same permissions, without the statement ids, in the role's own policy.
    const granted = statementsOf(Object.values(t.findResources("AWS::IAM::Policy"))[0] as never);
    expect(granted).toEqual([...expected(resultsId), ...kmsStatements].map(({ Sid: _sid, ...rest }) => rest));
  });
});

describe("archive props", () => {
  it.each<[string, Partial<BedrockInvocationArchiveProps>, RegExp, string]>([
    [
      "a short account id",
      { accountIds: ["12345"] },
      /accountIds has "12345": not 12-digit account ids/,
      "accountIds",
    ],
    ["no accounts", { accountIds: [] }, /accountIds is empty/, "accountIds"],
    [
      "a duplicate account",
      { accountIds: ["111122223333", "111122223333"] },
      /lists "111122223333" twice/,
      "accountIds",
    ],
    ["a bad region", { regions: ["EU-West-1"] }, /regions has "EU-West-1": not AWS Regions/, "regions"],
    [
      "a prefix without its slash",
      { prefix: "bedrock" },
      /prefix "bedrock" must be empty or folders ending in "\/"/,
      "prefix",
    ],
    [
      "a prefix with a leading slash",
      { prefix: "/bedrock/" },
      /prefix "\/bedrock\/" must be empty/,
      "prefix",
    ],
    [
      "a prefix ending in AWSLogs/",
      { prefix: "bedrock/AWSLogs/" },
      /ends in AWSLogs\/: give the part before AWSLogs\//,
      "prefix",
    ],
    ["not a date", { startDate: "2024-02-30" }, /startDate "2024-02-30" is not a date/, "startDate"],
    [
      "a tiny cutoff",
      { bytesScannedCutoffPerQuery: 1000 },
      /bytesScannedCutoffPerQuery 1000 must be .* at least 10000000/,
      "bytesScannedCutoffPerQuery",
    ],
    [
      "part of a day",
      { resultsExpiration: Duration.hours(12) },
      /resultsExpiration 12 hours must be whole days/,
      "resultsExpiration",
    ],
    [
      "an upper-case database",
      { databaseName: "Bedrock" },
      /databaseName "Bedrock" must be 1 to 255 lowercase/,
      "databaseName",
    ],
    [
      "a bad bucket name",
      { bucketName: "Not_A_Bucket" },
      /bucketName "Not_A_Bucket" is not an S3 bucket name/,
      "bucketName",
    ],
  ])("rejects %s, naming the prop", (_, change, pattern, prop) => {
    const error = constructError(() => archiveStack({ ...PROPS, ...change }));
    expect(error.message).toMatch(pattern);
    expect(error.settings).toEqual([prop]);
  });

  it("needs exactly one of bucket and bucketName", () => {
    const { bucketName: _, ...noBucket } = PROPS;
    expect(constructError(() => archiveStack(noBucket)).message).toMatch(/bucket or bucketName is required/);
    const app = new App();
    const stack = new Stack(app, "Both", { env: ENV });
    const bucket = s3.Bucket.fromBucketName(stack, "B", "other-bucket");
    expect(
      constructError(() => new BedrockInvocationArchive(stack, "Archive", { ...PROPS, bucket })).message,
    ).toMatch(/give bucket or bucketName, not both/);
  });

  it("reports every mistake at once", () => {
    const error = constructError(() =>
      archiveStack({ ...PROPS, accountIds: ["1"], regions: ["x"], prefix: "a" }),
    );
    expect(error.settings).toEqual(["prefix", "accountIds", "regions"]);
  });

  it("rejects a rule setting among detectorProps as the detector would", () => {
    const error = constructError(() => archiveStack({ ...PROPS, detectorProps: { minRequests: 0 } }));
    expect(error.settings).toEqual(["minRequests"]);
  });
});

describe("the detector's archive prop", () => {
  const app = new App();
  const stack = new DetectorStack(app, "WithArchive", {
    env: ENV,
    detector: { minRequests: 7, archive: { ...PROPS } },
  });
  const template = Template.fromStack(stack);

  it("creates the archive inside the detector, hunting with the detector's rule", () => {
    expect(stack.detector.archive?.node.path).toBe("WithArchive/Detector/Archive");
    const queries = Object.values(template.findResources("AWS::Athena::NamedQuery")).map(
      (r) => (r.Properties as { QueryString: string }).QueryString,
    );
    expect(queries).toEqual(
      athenaSavedQueries(defineRule({ minRequests: 7 }), {
        database: "bedrock_invocation_archive",
        table: "invocations",
      }).map((q) => q.queryString),
    );
  });

  it("outputs what a team needs to query it", () => {
    const outputs = template.findOutputs("*");
    expect(outputs.ArchiveWorkGroup?.Value).toBe("bedrock-invocation-archive");
    expect(outputs.ArchiveTable?.Value).toBe("bedrock_invocation_archive.invocations");
    expect(outputs.ArchiveQueryPolicyArn?.Value).toEqual({
      Ref: only(template, "AWS::IAM::ManagedPolicy").id,
    });
  });

  it("names the archive's props under archive. in its errors", () => {
    const error = constructError(
      () =>
        new DetectorStack(new App(), "Bad", {
          env: ENV,
          detector: { archive: { ...PROPS, prefix: "x", regions: [] } },
        }),
    );
    expect(error.message).toMatch(/^archive\.prefix "x" must be/);
    expect(error.message).toContain("archive.regions is empty");
    expect(error.settings).toEqual(["archive.prefix", "archive.regions"]);
  });

  it("creates no archive without the prop", () => {
    const plain = new DetectorStack(new App(), "Plain", { env: ENV });
    expect(plain.detector.archive).toBeUndefined();
    expect(Template.fromStack(plain).findResources("AWS::Athena::WorkGroup")).toEqual({});
  });
});
