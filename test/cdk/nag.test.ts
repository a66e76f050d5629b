/** cdk-nag AwsSolutions over the app: zero unacknowledged findings, and acknowledgements that really work. */
import { App, Duration, Stack, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../lib/app.js";
import { DetectorStack } from "../../lib/detector-stack.js";
import { BedrockInvocationArchive } from "../../lib/invocation-archive.js";
import { appWith } from "./helpers.js";

/** Rule ids (with finding) and construct paths of every unacknowledged finding. */
function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId ?? "?"}`),
  );
}

/** Every acknowledgement recorded in the tree: rule id and reason. */
function acknowledgements(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe("cdk-nag AwsSolutions", () => {
  it("finds nothing unacknowledged in the app with the default settings", () => {
    const app = appWith();
    buildApp(app);
    expect(findings(app)).toEqual([]);
  });

  it("finds nothing unacknowledged with every option on", () => {
    // The created group is invocationLogGroupName; logGroups lists only the other groups to query.
    const app = appWith({
      enableInvocationLogging: true,
      invocationLogGroupName: "/aws/bedrock/model-invocations",
      logGroups: "/other/group,arn:aws:logs:eu-west-1:111122223333:log-group:shared:*",
      alertEmails: "sec@example.com",
      slackWorkspaceId: "T012AB3CD",
      slackChannelId: "C0123ABCDEF",
      excludedAccountIds: "123456789012",
    });
    buildApp(app);
    expect(findings(app)).toEqual([]);
  });

  it("finds nothing unacknowledged in a stack bound to an account and region", () => {
    const app = new App();
    new DetectorStack(app, "Bound", {
      env: { account: "123456789012", region: "eu-central-1" },
      detector: {
        logGroupIdentifiers: ["/a", "arn:aws:logs:eu-central-1:123456789012:log-group:/b"],
        enableInvocationLogging: true,
        schedule: Duration.hours(6),
      },
    });
    expect(findings(app)).toEqual([]);
  });

  it("finds nothing unacknowledged in a stack with the archive alone, its policy attached to a role", () => {
    const app = new App();
    const stack = new Stack(app, "Archive", { env: { account: "111122223333", region: "eu-west-1" } });
    const archive = new BedrockInvocationArchive(stack, "Archive", {
      bucketName: "org-bedrock-archive",
      prefix: "bedrock/",
      accountIds: ["111122223333", "444455556666"],
      resultsEncryptionKey: new kms.Key(stack, "ResultsKey", { enableKeyRotation: true }),
    });
    new iam.Role(stack, "Analyst", {
      assumedBy: new iam.AccountRootPrincipal(),
      managedPolicies: [archive.queryPolicy],
    });
    expect(findings(app)).toEqual([]);
  });

  it("finds nothing unacknowledged in the detector with its archive", () => {
    const app = new App();
    new DetectorStack(app, "WithArchive", { detector: { archive: { bucketName: "org-bedrock-archive" } } });
    expect(findings(app)).toEqual([]);
    const archiveAcks = acknowledgements(app).filter((a) => a.path.includes("/Archive/"));
    expect(archiveAcks.map((a) => `${a.path} ${a.id.replace(/^annotation::/i, "")}`).sort()).toEqual(
      [
        "WithArchive/Detector/Archive/QueryPolicy AwsSolutions-IAM5[Resource::<DetectorArchiveResultsBucket776EAB84.Arn>/*]",
        "WithArchive/Detector/Archive/QueryPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::org-bedrock-archive/AWSLogs/*]",
        "WithArchive/Detector/Archive/ResultsBucket AwsSolutions-S1",
      ].sort(),
    );
  });

  it("runs as a validation plugin of the app: a finding fails synth", () => {
    const clean = appWith();
    buildApp(clean);
    expect(() => clean.synth()).not.toThrow();
    // The same app with one non-compliant resource: synth must fail on it.
    const dirty = appWith();
    const stack = buildApp(dirty);
    new sqs.Queue(stack, "PlainQueue", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => dirty.synth()).toThrow(/AwsSolutions-SQS/);
  });

  it("gives every acknowledgement a reason, on the narrowest construct", () => {
    const app = appWith({
      enableInvocationLogging: true,
      slackWorkspaceId: "T012AB3CD",
      slackChannelId: "C0123ABCDEF",
    });
    buildApp(app);
    const acks = acknowledgements(app);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(30);
      // Never a whole stack or the whole detector: each names the resource it is about.
      expect(ack.path.split("/").length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(3);
    }
    // Stored with the "Annotation::" prefix that cdk-nag strips.
    const ids = acks.map(
      (a) => `${a.path.replace(/^BedrockDosDetector\//, "")} ${a.id.replace(/^annotation::/i, "")}`,
    );
    expect(ids.sort()).toEqual(
      [
        "AWS679f53fac002430cb0da5b7982bd2287/ServiceRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "Detector/DeadLetterQueue AwsSolutions-SQS3",
        "Detector/FunctionRole/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        "Detector/FunctionRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]",
        "Detector/FunctionRole/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/bedrock/model-invocations:*]",
        "Detector/InvocationLoggingConfiguration/CustomResourcePolicy AwsSolutions-IAM5[Resource::*]",
        "Detector/TamperAlertRole/DefaultPolicy AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        "Detector/SchedulerRole/DefaultPolicy AwsSolutions-IAM5[Resource::<DetectorFunctionDD6A428A.Arn>:*]",
      ].sort(),
    );
  });
});

describe("an acknowledgement", () => {
  it("suppresses exactly the finding it names, on the construct it is attached to", () => {
    const app = new App();
    const stack = new Stack(app, "Proof");
    // Configured like the detector's dead-letter queue, without its acknowledgement.
    const bare = new sqs.Queue(stack, "Bare", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const acknowledged = new sqs.Queue(stack, "Acknowledged", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(acknowledged).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "A dead-letter queue itself.",
    });
    const found = findings(app);
    expect(found).toContain(`AwsSolutions-SQS3 at ${bare.node.path}/Resource`);
    expect(found.filter((f) => f.includes(acknowledged.node.path))).toEqual([]);
  });

  it("is what keeps the detector's own resources clean", () => {
    const app = appWith();
    const stack = buildApp(app);
    // A twin of the detector's dead-letter queue in the same stack is flagged; the detector's is not.
    const twin = new sqs.Queue(stack, "Twin", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    expect(findings(app)).toEqual([`AwsSolutions-SQS3 at ${twin.node.path}/Resource`]);
  });
});
