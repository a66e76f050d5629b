/** The committed WebAssembly (cli/record-scan-wasm.ts) is the compiled wasm/record-scan.ts, byte for byte. */
import { describe, expect, it } from "vitest";
import { RECORD_SCAN_WASM } from "../../cli/record-scan-wasm.js";
// @ts-expect-error: a plain .mjs build script without type declarations
import { compileRecordScan } from "../../scripts/build-wasm.mjs";

describe("the embedded WebAssembly", () => {
  it("is what wasm/record-scan.ts compiles to (run `npm run build:wasm` after changing it)", async () => {
    const bytes: Buffer = await compileRecordScan();
    expect(bytes.toString("base64") === RECORD_SCAN_WASM).toBe(true);
  }, 60_000);
});
