// Process entry point of the bundled CLI (dist/cli.mjs).
import { main } from "./main.js";

process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  // `... | head` closes the pipe early: not an error worth a stack trace.
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

// Not a user mistake: a bug. Keep the stack so it can be reported.
const internalError = (err: unknown) => {
  process.stderr.write(
    `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(70); // EX_SOFTWARE: distinct from 1 (findings) and 2 (usage)
};
process.on("uncaughtException", internalError);

main(process.argv).then((code) => {
  process.exitCode = code;
}, internalError);
