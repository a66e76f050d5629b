// Process entry point of the bundled CLI (dist/cli.mjs).
import { setFlagsFromString } from "node:v8";
import { EXIT } from "./errors.js";
import { main } from "./main.js";
import { startScanThreads } from "./scan-threads.js";

// The young generation keeps its first size (about 1 MB) instead of growing to 16 MB: a scan's garbage is
// short-lived, and a nursery that stays in the cache made one thread 5 to 10% faster and its peak RSS 15 to 20 MB
// smaller (docs/benchmarks.md). V8 reads the flag whenever it would grow the space, so setting it now is in time;
// Node.js 20 and 24 have it, and the CLI tests fail on stderr's "unrecognized flag" on a Node.js without it.
setFlagsFromString("--semi-space-growth-factor=1");

// `... | head` closes the pipe early (stdout, and stderr with 2>&1): nobody is reading, so the rest is dropped
// and the scan ends as it would have, without an error (the output was wanted only up to there).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") return;
    throw err;
  });
}

// A scan's worker threads load while the CLI does (scan-threads.ts). After the listeners above: each worker's
// output is piped into stdout and stderr, adding listeners of its own, and from the eleventh thread on Node.js
// would warn of a listener leak when ours came after them.
if (process.argv[2] === "scan") startScanThreads();

// Not a user mistake: a bug. Keep the stack so it can be reported.
const internalError = (err: unknown) => {
  process.stderr.write(
    `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(EXIT.internal);
};
process.on("uncaughtException", internalError);

main(process.argv).then((code) => {
  process.exitCode = code;
}, internalError);
