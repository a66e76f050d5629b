/** Imports findings into Security Hub (`BatchImportFindings`). The only place that talks to Security Hub. */
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  type SecurityHubClient,
} from "@aws-sdk/client-securityhub";
import { type BatchOutcome, sendInBatches } from "./batches.js";

/** BatchImportFindings takes at most 100 findings per call. */
export const MAX_FINDINGS_PER_CALL = 100;

/** Imports (creates or updates, by `Id`) the findings; failures reported per finding. */
export async function importFindings(
  client: SecurityHubClient,
  findings: readonly AwsSecurityFinding[],
  opts: { sleep(ms: number): Promise<void>; retries?: number },
): Promise<BatchOutcome> {
  return sendInBatches(
    findings,
    MAX_FINDINGS_PER_CALL,
    async (batch) => {
      const out = await client.send(new BatchImportFindingsCommand({ Findings: [...batch] }));
      // Failures name the finding by Id, not by position.
      const position = new Map(batch.map((f, i) => [f.Id, i]));
      return (out.FailedFindings ?? []).map((f) => ({
        position: position.get(f.Id) ?? -1,
        code: f.ErrorCode ?? "Unknown",
        message: f.ErrorMessage ?? "",
      }));
    },
    opts,
  );
}
