/**
 * Principals: who a request came from, with the session taken off. Role sessions rotate constantly (a build id,
 * an instance id, a Lambda invocation), so the session is evidence, never an identity: detections that work
 * per principal, suppression and escalation all use this, and findings still show sessions.
 */

/** IAM and STS principal ARNs: the only identity values an alert shows as they are. */
export const PRINCIPAL_ARN = /^arn:aws[\w-]*:(iam|sts)::\d+:[\w+=,.@/-]{1,512}$/;

/** The principal of a record whose identity is missing, not a principal ARN, or ambiguous. */
export const UNKNOWN_PRINCIPAL = "(unknown)";

/** `arn:aws:sts::A:assumed-role/ROLE/SESSION`: role and session names hold no `/`. */
export const ASSUMED_ROLE_SESSION = /^(arn:aws[\w-]*:sts::\d+:assumed-role\/[^/]+)\/[^/]+$/;

/** An STS assumed-role ARN without its session; any other text as it is. */
export const withoutSession = (arn: string): string => ASSUMED_ROLE_SESSION.exec(arn)?.[1] ?? arn;

/**
 * The principal of an identity ARN: an STS assumed-role ARN without its session, any other IAM/STS principal
 * ARN as it is, anything else (missing, free text, an engine's "ambiguous" label) `(unknown)`.
 */
export function principalOf(identityArn: string | null): string {
  if (identityArn === null || !PRINCIPAL_ARN.test(identityArn)) return UNKNOWN_PRINCIPAL;
  return withoutSession(identityArn);
}
