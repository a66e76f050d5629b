/**
 * The archive's props: where Bedrock's S3 deliveries are and how Athena may read them. The detector takes the
 * same props as its `archive` prop; the standalone construct adds the rule its saved queries hunt with.
 */
import type { Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as s3 from "aws-cdk-lib/aws-s3";

/** Bedrock's S3 delivery archive, and the Athena workgroup, database and table over it. */
export interface InvocationArchiveOptions {
  /** The bucket Bedrock delivers invocation logs to. Give this or `bucketName`. @default - `bucketName` */
  readonly bucket?: s3.IBucket;
  /** The name of the bucket Bedrock delivers to (any account). Give this or `bucket`. @default - `bucket` */
  readonly bucketName?: string;
  /**
   * The key prefix Bedrock's logging configuration writes under, before `AWSLogs/`: empty or ending in `/`.
   *
   * @default ""
   */
  readonly prefix?: string;
  /**
   * Accounts whose deliveries the table reads (12 digits each; partition projection enumerates them). At most
   * 1000.
   *
   * @default - the stack's account
   */
  readonly accountIds?: string[];
  /** Regions whose deliveries the table reads. At most 50. @default - the stack's Region */
  readonly regions?: string[];
  /**
   * The first day (`YYYY-MM-DD`, UTC) deliveries can exist: partition projection never lists hours before it.
   *
   * @default "2023-09-28" (Amazon Bedrock's general availability)
   */
  readonly startDate?: string;
  /** Glue database name (lowercase letters, digits, `_`); unique per account and Region. @default "bedrock_invocation_archive" */
  readonly databaseName?: string;
  /** Glue table name (lowercase letters, digits, `_`). @default "invocations" */
  readonly tableName?: string;
  /** Athena workgroup name (letters, digits, `. _ -`); unique per account and Region. @default "bedrock-invocation-archive" */
  readonly workGroupName?: string;
  /**
   * The workgroup cancels any query that scans more than this many bytes (at least 10 MB). The default,
   * 1 TB, bills at most about 5 USD per query: a 31-day hunt over an archive of 2 TB per 90 days (about
   * 700 GB) fits, a query that forgot its `datehour` bounds on a larger archive stops.
   *
   * @default 1099511627776 (1 TB)
   */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Query results (which can hold log text) are deleted after this long. At least 1 day. @default Duration.days(7) */
  readonly resultsExpiration?: Duration;
  /**
   * Customer-managed key for the results bucket and the workgroup's results (SSE-KMS). Grantees of
   * `grantQuery` may use it to encrypt and decrypt.
   *
   * @default - S3-managed keys (SSE-S3)
   */
  readonly resultsEncryptionKey?: kms.IKey;
  /** The key the archive's objects are encrypted with, if SSE-KMS: `grantQuery` allows `kms:Decrypt` on it. @default - none (SSE-S3) */
  readonly archiveEncryptionKey?: kms.IKey;
}
