/**
 * cdk-nag acknowledgements, each on the exact resource it is about. Finding ids spell references as cdk-nag
 * does (`<LogicalId.Arn>`, `<AWS::Region>`), so an acknowledgement covers that one finding and nothing else.
 */
import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** The reason `grantPublish` on a KMS-encrypted topic needs `kms:GenerateDataKey*`. */
export const GENERATE_DATA_KEY_REASON =
  "Added by grantPublish for the topic's own key: SNS needs a data key per publish.";

/** Acknowledges findings on a construct's child (a role's DefaultPolicy, say) when that child exists. */
export function acknowledgeOnChild(
  parent: IConstruct,
  childId: string,
  ...acks: { id: string; reason: string }[]
): void {
  const child = parent.node.tryFindChild(childId);
  if (child) Validations.of(child).acknowledge(...acks);
}

/** Acknowledges AwsSolutions-IAM5 for one wildcard resource on one policy. */
export function acknowledgeWildcardResource(policy: IConstruct, resource: string, reason: string): void {
  const flat = flattenReference(Stack.of(policy).resolve(resource));
  Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
}

function flattenReference(node: unknown): string {
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  if (typeof node === "object" && node !== null) {
    const o = node as Record<string, unknown>;
    const join = o["Fn::Join"];
    if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
      return join[1].map(flattenReference).join(join[0]);
    }
    const getAtt = o["Fn::GetAtt"];
    if (Array.isArray(getAtt)) return `<${getAtt.map(flattenReference).join(".")}>`;
    if ("Ref" in o) return `<${flattenReference(o.Ref)}>`;
  }
  return JSON.stringify(node);
}
