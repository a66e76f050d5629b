/**
 * The detector's state table: the alert ledger (one item per alerted account) and the stored slices (each
 * schedule period's matching requests, as compressed parts). On demand, encrypted, point-in-time recovery,
 * items expiring through TTL.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import { STATE } from "../config/names.js";

export function buildStateTable(scope: Construct): dynamodb.Table {
  return new dynamodb.Table(scope, "StateTable", {
    partitionKey: { name: STATE.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: STATE.sortKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: STATE.ttlAttribute,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Derived state: losing it costs one catch-up (a lookback's worth of queries) and at most one repeat alert.
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
