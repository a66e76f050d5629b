/** The AWS SDK's errors for the mistakes a user can fix, in one line (never a stack trace). */

/** Network failures that say the service cannot be reached. */
const UNREACHABLE = ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "EAI_AGAIN"];

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * True for what the SDK throws on a call (a service's answer, missing credentials or Region, a network
 * failure), as opposed to a bug.
 */
export function isAwsError(err: unknown): boolean {
  const e = err as SdkErrorShape | null;
  if (!(err instanceof Error) || e === null) return false;
  return (
    e.$metadata !== undefined ||
    e.name === "CredentialsProviderError" ||
    e.name === "TokenProviderError" ||
    /Region is missing/i.test(e.message ?? "") ||
    UNREACHABLE.includes(e.code ?? "")
  );
}

/**
 * An SDK error in words: `service` names the service ("S3"), `permissions` what the credentials need, and
 * `special` answers a service's own error names first.
 */
export function describeAwsError(
  err: unknown,
  service: { name: string; permissions: string; special?: (name: string) => string | undefined },
): string {
  const e = err as SdkErrorShape;
  const name = e.Code ?? e.name ?? "";
  const status = e.$metadata?.httpStatusCode;
  const hint = "(set AWS_PROFILE, or run `aws configure` or `aws sso login`)";
  if (/Could not load credentials from any providers/i.test(e.message ?? ""))
    return `no AWS credentials found ${hint}`;
  if (name === "CredentialsProviderError" || name === "TokenProviderError") {
    // A named profile that is missing, an expired SSO session: the SDK's own words say which.
    return `AWS credentials: ${(e.message ?? "").split("\n")[0]} ${hint}`;
  }
  if (/Region is missing/i.test(e.message ?? "")) return "no AWS region configured (set AWS_REGION)";
  const own = service.special?.(name);
  if (own !== undefined) return own;
  if (name === "ExpiredToken" || name === "ExpiredTokenException") return "the AWS credentials have expired";
  if (
    status === 403 ||
    name === "AccessDenied" ||
    name === "AccessDeniedException" ||
    name === "InvalidAccessKeyId" ||
    name === "SignatureDoesNotMatch" ||
    name === "UnrecognizedClientException"
  ) {
    return `access denied (${name || "403"}): the credentials need ${service.permissions}`;
  }
  const code = e.code ?? "";
  if (UNREACHABLE.includes(code)) return `cannot reach ${service.name} (${code})`;
  const message = (e.message ?? String(err)).split("\n")[0] ?? "";
  return name && !message.includes(name) ? `${name}: ${message}` : message;
}
