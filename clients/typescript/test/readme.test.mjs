// The README's example block, run as written (its import pointed at the build) on the live stack.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import { createClient } from "../dist/index.js";
import { baseUrl, freshTenant, mintToken } from "./helpers.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("the README's example creates the asset", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = readme.match(/<!-- sdk-example[^>]*-->\n```js\n([\s\S]*?)```/);
  assert.ok(block, "README.md has no sdk-example block");
  const code = block[1]
    .replace('from "@technology-api/client"', `from ${JSON.stringify(pathToFileURL(join(root, "dist/index.js")).href)}`)
    .replace('"http://127.0.0.1:3000"', JSON.stringify(baseUrl));
  const dir = mkdtempSync(join(root, "test/.readme-"));
  const token = mintToken({ tenant: freshTenant("readme") });
  const previous = process.env.TOKEN;
  try {
    process.env.TOKEN = token;
    writeFileSync(join(dir, "example.mjs"), code);
    await import(pathToFileURL(join(dir, "example.mjs")).href);
  } finally {
    if (previous === undefined) delete process.env.TOKEN;
    else process.env.TOKEN = previous;
    rmSync(dir, { recursive: true, force: true });
  }
  const names = (await createClient({ baseUrl, token }).technology.technology.list().toArray()).map((a) => a.name);
  assert.deepEqual(names, ["postgres-main"]);
});
