/** Sends finding events to EventBridge (`PutEvents`). The only place that talks to EventBridge. */
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { FINDING_EVENT } from "../../config/names.js";
import { type BatchOutcome, sendInBatches } from "./batches.js";

/** PutEvents takes at most 10 entries per call. */
export const MAX_EVENTS_PER_CALL = 10;

/** One event per detail object, source and detail-type from config/names.ts; failures reported per entry. */
export async function putFindingEvents(
  client: EventBridgeClient,
  eventBusName: string,
  details: readonly object[],
  opts: { sleep(ms: number): Promise<void>; retries?: number },
): Promise<BatchOutcome> {
  return sendInBatches(
    details,
    MAX_EVENTS_PER_CALL,
    async (batch) => {
      const out = await client.send(
        new PutEventsCommand({
          Entries: batch.map((detail) => ({
            EventBusName: eventBusName,
            Source: FINDING_EVENT.source,
            DetailType: FINDING_EVENT.detailType,
            Detail: JSON.stringify(detail),
          })),
        }),
      );
      // Result entries are in request order; a failed one carries ErrorCode and ErrorMessage.
      return (out.Entries ?? []).flatMap((e, position) =>
        e.ErrorCode ? [{ position, code: e.ErrorCode, message: e.ErrorMessage ?? "" }] : [],
      );
    },
    opts,
  );
}
