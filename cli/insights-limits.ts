/** The `insights` command's limits and defaults, apart from the command so that the help loads no AWS SDK. */
import { PERIOD_QUERY_CONCURRENCY } from "../lambda/period-query.js";

/** Days queried at once by default: the scheduled Lambda's catch-up concurrency. */
export const DEFAULT_HUNT_CONCURRENCY = PERIOD_QUERY_CONCURRENCY;
/** Logs Insights runs up to 100 queries at once per account (30 in older quotas): more only wait and retry. */
export const MAX_HUNT_CONCURRENCY = 100;
/** Above this many GB stored in the log groups the command asks for --max-stored-gb: 0.50 USD at list price. */
export const DEFAULT_MAX_STORED_GB = 100;
