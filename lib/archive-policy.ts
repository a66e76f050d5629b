/**
 * What running queries in the archive's workgroup needs, and nothing more: Athena on the workgroup, Glue on the
 * table's catalog, database and table, S3 reads under the archive's `AWSLogs/` prefix, S3 reads and writes on
 * the results bucket, and KMS on the keys given. The archive's managed policy and grantQuery share these.
 */
import { Aws, type Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { ArchivePlan } from "./archive-plan.js";

const archiveBucketArn = (plan: ArchivePlan) => `arn:${Aws.PARTITION}:s3:::${plan.bucketName}`;
/** The delivery objects: everything under the prefix's `AWSLogs/`. */
export const archiveObjectsArn = (plan: ArchivePlan) => `${archiveBucketArn(plan)}/${plan.prefix}AWSLogs/*`;

/** What running queries in the workgroup needs, and nothing more. */
export function queryStatements(
  stack: Stack,
  plan: ArchivePlan,
  where: {
    readonly resultsBucket: s3.IBucket;
    readonly archiveEncryptionKey?: kms.IKey;
    readonly resultsEncryptionKey?: kms.IKey;
  },
): iam.PolicyStatement[] {
  const statement = (
    sid: string,
    actions: string[],
    resources: string[],
    conditions?: Record<string, Record<string, unknown>>,
  ) => new iam.PolicyStatement({ sid, actions, resources, conditions });
  const statements = [
    statement(
      "RunQueriesInWorkGroup",
      [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
        "athena:GetWorkGroup",
        // The console lists and opens the saved queries.
        "athena:ListNamedQueries",
        "athena:BatchGetNamedQuery",
        "athena:GetNamedQuery",
      ],
      [stack.formatArn({ service: "athena", resource: "workgroup", resourceName: plan.workGroupName })],
    ),
    statement(
      "ReadTableDefinition",
      ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
      [
        stack.formatArn({ service: "glue", resource: "catalog" }),
        stack.formatArn({ service: "glue", resource: "database", resourceName: plan.databaseName }),
        stack.formatArn({
          service: "glue",
          resource: "table",
          resourceName: `${plan.databaseName}/${plan.tableName}`,
        }),
      ],
    ),
    statement("ReadArchiveObjects", ["s3:GetObject"], [archiveObjectsArn(plan)]),
    statement("ListArchiveDeliveries", ["s3:ListBucket"], [archiveBucketArn(plan)], {
      StringLike: { "s3:prefix": [`${plan.prefix}AWSLogs/*`] },
    }),
    statement(
      "LocateBuckets",
      ["s3:GetBucketLocation"],
      [archiveBucketArn(plan), where.resultsBucket.bucketArn],
    ),
    statement(
      "ListResults",
      ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
      [where.resultsBucket.bucketArn],
    ),
    statement(
      "ReadWriteResults",
      ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      [where.resultsBucket.arnForObjects("*")],
    ),
  ];
  if (where.archiveEncryptionKey) {
    statements.push(statement("DecryptArchive", ["kms:Decrypt"], [where.archiveEncryptionKey.keyArn]));
  }
  if (where.resultsEncryptionKey) {
    statements.push(
      statement(
        "EncryptDecryptResults",
        ["kms:Decrypt", "kms:GenerateDataKey"],
        [where.resultsEncryptionKey.keyArn],
      ),
    );
  }
  return statements;
}
