/**
 * Model keys: a record's `modelId` without an ARN prefix and a cross-region inference prefix, so that
 * `arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku...` and `us.anthropic.claude-3-haiku...`
 * are the same model for prices and per-model thresholds alike.
 */

/** Cross-region inference profile prefixes (`us.anthropic...`). */
export const CROSS_REGION_PREFIXES = ["us", "eu", "apac", "us-gov", "ca", "jp", "au", "global"] as const;

const CROSS_REGION = new RegExp(`^(?:${CROSS_REGION_PREFIXES.join("|")})\\.`);

/** `arn:...:foundation-model/us.anthropic.claude...` and `us.anthropic.claude...` to `anthropic.claude...`. */
export function modelKeyOf(modelId: string): string {
  return modelId.slice(modelId.lastIndexOf("/") + 1).replace(CROSS_REGION, "");
}
