// Process entry point of the bundled CLI (dist/cli.mjs).
import { EXIT } from "./errors.js";
import { main } from "./main.js";
import { startScanThreads } from "./scan-threads.js";

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
