/**
 * Athena over Bedrock's S3 delivery archive, in place: a Glue database and table with partition projection (no
 * crawler, no MSCK REPAIR), an Athena workgroup that enforces its settings (engine v3, encrypted results in a
 * bucket of its own, a bytes-scanned cutoff per query, CloudWatch metrics), one saved query per detection, and
 * a least-privilege policy for the people and roles who run them. The table is core/athena-table.ts's.
 */
import { Duration, Stack, Validations } from "aws-cdk-lib";
import * as athena from "aws-cdk-lib/aws-athena";
import * as glue from "aws-cdk-lib/aws-glue";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { resolveSettings, type SettingsInput } from "../config/resolve-settings.js";
import { RULE_SETTINGS, ruleFrom } from "../config/rule-settings.js";
import { athenaSavedQueries } from "../core/athena-query.js";
import {
  ARCHIVE_COLUMNS,
  LINE_FIELD_DELIMITER,
  projectionParameters,
  tableLocation,
} from "../core/athena-table.js";
import type { Rule } from "../core/rule.js";
import { ARCHIVE_DEFAULTS, type ArchivePlan, planArchive } from "./archive-plan.js";
import { archiveObjectsArn, queryStatements } from "./archive-policy.js";
import type { InvocationArchiveOptions } from "./archive-props.js";
import { withSettingsNamed } from "./errors.js";
import { acknowledgeWildcardResource } from "./nag.js";
import { type BedrockDosDetectorProps, propsToInput } from "./props.js";

/** The text format that reads each gzip'd delivery (by its `.gz` extension) line by line into one column. */
export const ARCHIVE_TABLE_FORMAT = {
  inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
  outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
  serializationLibrary: "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
} as const;

export const ATHENA_ENGINE_VERSION = "Athena engine version 3";

export interface BedrockInvocationArchiveProps extends InvocationArchiveOptions {
  /**
   * The rule the saved queries hunt with, as the detector's props: only the rule's settings are read
   * (`thresholds`, `minRequests`, `lookback`, exclusions, `modelThresholds`, the other detections' limits).
   * The detector passes its own.
   *
   * @default - the rule's defaults
   */
  readonly detectorProps?: BedrockDosDetectorProps;
}

export class BedrockInvocationArchive extends Construct {
  /** The default bytes-scanned cutoff per query: 1 TB (about 5 USD at Athena's list price). */
  public static readonly DEFAULT_BYTES_SCANNED_CUTOFF_PER_QUERY: number =
    ARCHIVE_DEFAULTS.bytesScannedCutoffPerQuery;

  /** The bucket Bedrock delivers to, and the prefix before `AWSLogs/`. */
  public readonly bucketName: string;
  public readonly prefix: string;
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly workGroupName: string;
  public readonly database: glue.CfnDatabase;
  public readonly table: glue.CfnTable;
  public readonly workGroup: athena.CfnWorkGroup;
  /** Where the workgroup writes query results (encrypted, SSL only, expiring). */
  public readonly resultsBucket: s3.Bucket;
  /** One saved query per detection, in the workgroup. */
  public readonly savedQueries: athena.CfnNamedQuery[];
  /** Everything running the saved queries needs, to attach to roles, groups or SSO permission sets. */
  public readonly queryPolicy: iam.ManagedPolicy;

  private readonly statements: iam.PolicyStatement[];

  /** Throws ConstructError, naming each prop at fault, when the props cannot be used. */
  constructor(scope: Construct, id: string, props: BedrockInvocationArchiveProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const plan = planArchive(props, stack);
    const rule = ruleOf(props.detectorProps ?? {});
    this.bucketName = plan.bucketName;
    this.prefix = plan.prefix;
    this.databaseName = plan.databaseName;
    this.tableName = plan.tableName;
    this.workGroupName = plan.workGroupName;

    this.database = new glue.CfnDatabase(this, "Database", {
      catalogId: stack.account,
      databaseInput: {
        name: plan.databaseName,
        description: "Bedrock model invocation logs delivered to S3 (bedrock-dos-detector)",
      },
    });
    this.table = buildTable(this, plan, this.database);

    this.resultsBucket = new s3.Bucket(this, "ResultsBucket", {
      encryption: props.resultsEncryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.resultsEncryptionKey,
      bucketKeyEnabled: props.resultsEncryptionKey !== undefined,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { expiration: plan.resultsExpiration, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(this.resultsBucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Holds only Athena query results, expiring after days; every query that writes them is an Athena API call recorded by CloudTrail.",
    });

    this.workGroup = new athena.CfnWorkGroup(this, "WorkGroup", {
      name: plan.workGroupName,
      description: "Queries over the Bedrock invocation log archive (bedrock-dos-detector)",
      state: "ENABLED",
      // The workgroup owns its saved queries and history: deleting the stack deletes them with it.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: plan.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/`,
          expectedBucketOwner: stack.account,
          encryptionConfiguration: props.resultsEncryptionKey
            ? { encryptionOption: "SSE_KMS", kmsKey: props.resultsEncryptionKey.keyArn }
            : { encryptionOption: "SSE_S3" },
        },
      },
    });

    this.savedQueries = athenaSavedQueries(rule, {
      database: plan.databaseName,
      table: plan.tableName,
    }).map(
      (q, i) =>
        new athena.CfnNamedQuery(this, `SavedQuery${i}`, {
          name: q.name,
          description: q.description,
          queryString: q.queryString,
          database: this.database.ref,
          workGroup: this.workGroup.ref,
        }),
    );

    this.statements = queryStatements(stack, plan, {
      resultsBucket: this.resultsBucket,
      archiveEncryptionKey: props.archiveEncryptionKey,
      resultsEncryptionKey: props.resultsEncryptionKey,
    });
    this.queryPolicy = new iam.ManagedPolicy(this, "QueryPolicy", {
      description: `Run queries in the Athena workgroup ${plan.workGroupName} over the Bedrock invocation log archive`,
      statements: this.statements,
    });
    acknowledgeWildcardResource(
      this.queryPolicy,
      archiveObjectsArn(plan),
      "Athena reads every delivery object under the archive's AWSLogs/ prefix; partition projection chooses which.",
    );
    acknowledgeWildcardResource(
      this.queryPolicy,
      this.resultsBucket.arnForObjects("*"),
      "Athena writes each query's results under a new key in the construct's own results bucket.",
    );
  }

  /**
   * Lets `grantee` run queries in this workgroup: the same statements as `queryPolicy`, added to its own
   * policy. Its findings under cdk-nag's IAM5 (the archive's and results' object wildcards) are the grantee's to
   * acknowledge, as `queryPolicy` does.
   */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    const grants = this.statements.map((s) =>
      iam.Grant.addToPrincipal({
        grantee,
        actions: s.actions,
        resourceArns: s.resources,
        conditions: s.conditions as Record<string, Record<string, unknown>>,
      }),
    );
    return grants.reduce((a, b) => a.combine(b));
  }
}

/** The rule of the saved queries: the rule's settings among the detector's props, validated like them. */
function ruleOf(detectorProps: BedrockDosDetectorProps): Rule {
  const all = propsToInput(detectorProps);
  const input: SettingsInput = {};
  for (const key of RULE_SETTINGS) input[key] = all[key];
  return withSettingsNamed("prop", () => ruleFrom(resolveSettings(RULE_SETTINGS, input, "prop")));
}

/** The Glue table: one string column per line, partitions computed by projection from the delivery layout. */
function buildTable(scope: Construct, plan: ArchivePlan, database: glue.CfnDatabase): glue.CfnTable {
  const c = ARCHIVE_COLUMNS;
  const location = { bucket: plan.bucketName, prefix: plan.prefix };
  return new glue.CfnTable(scope, "Table", {
    catalogId: Stack.of(scope).account,
    databaseName: database.ref,
    tableInput: {
      name: plan.tableName,
      description:
        "One row per line of Bedrock's S3 deliveries; partitions by account, Region and hour folder",
      tableType: "EXTERNAL_TABLE",
      parameters: {
        classification: "text",
        ...projectionParameters({ ...location, ...plan }),
      },
      partitionKeys: [c.account, c.region, c.datehour].map((name) => ({ name, type: "string" })),
      storageDescriptor: {
        location: tableLocation(location),
        columns: [{ name: c.line, type: "string" }],
        inputFormat: ARCHIVE_TABLE_FORMAT.inputFormat,
        outputFormat: ARCHIVE_TABLE_FORMAT.outputFormat,
        compressed: true,
        serdeInfo: {
          serializationLibrary: ARCHIVE_TABLE_FORMAT.serializationLibrary,
          parameters: {
            "field.delim": LINE_FIELD_DELIMITER,
            "serialization.format": LINE_FIELD_DELIMITER,
          },
        },
      },
    },
  });
}
