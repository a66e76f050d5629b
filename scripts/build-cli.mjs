// Bundles the CLI into one ESM file (dist/cli.mjs) so that `npm ci` leaves a runnable `bedrock-dos-detector`.
import { build } from "esbuild";

await build({
  // The parallel scanner's worker is found next to the bundle (cli/parallel-scan.ts).
  entryPoints: [
    { in: "cli/bin.ts", out: "cli" },
    { in: "cli/scan-worker.ts", out: "scan-worker" },
  ],
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  // Loaded from node_modules only when an s3:// path is scanned: bundled, every start would parse it.
  external: ["@aws-sdk/client-s3"],
  logLevel: "warning",
});
