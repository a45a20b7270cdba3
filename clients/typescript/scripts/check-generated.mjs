// Fails when src/schema.ts is not what `npm run generate` makes of ../../openapi.yaml now: the
// SDK's types can never drift from the document.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "sdk-schema-"));
try {
  const fresh = join(dir, "schema.ts");
  execFileSync(
    process.execPath,
    [join(root, "node_modules/openapi-typescript/bin/cli.js"), join(root, "../../openapi.yaml"), "--output", fresh],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (readFileSync(fresh, "utf8") !== readFileSync(join(root, "src/schema.ts"), "utf8")) {
    console.error(
      "clients/typescript/src/schema.ts is out of date with openapi.yaml: run `make sdk` " +
        "(or `npm run generate` in clients/typescript) and commit the result",
    );
    process.exit(1);
  }
  console.log("src/schema.ts matches openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
