// The seeds' SDK example (seed 000), verbatim, against the running stack.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiProblem, createClient } from "../dist/index.js";
import { baseUrl, freshTenant, mintToken } from "./helpers.mjs";

const client = createClient({ baseUrl, token: mintToken({ tenant: freshTenant("seed") }) });

// Seed 000's lines stand here once, exactly as the seed has them, for whichever `client` is passed:
// the first test runs them on the live stack, the second reads the body they send (`seedBody`) so
// that "the seed plus a name" cannot drift from the seed.
async function seed000(client) {
  // ---- seed 000, verbatim ----
  // list — returns only your records; add filters/search:
  const listed = await client.technology.technology.list()
  // create:
  const created = client.technology.technology.create({
  id: "rec_01HXEXAMPLE",
  tenant_id: "example tenant_id",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  app_id: "example app_id",
  created_by: "rec_01HXEXAMPLE",
  })
  // ---- end of seed 000 ----
  return { listed, created };
}

/** The body seed 000's `create` sends, taken by running its lines against a stub that keeps it. */
async function seedBody() {
  let body;
  const stub = { technology: { technology: { list: async () => undefined, create: (sent) => (body = sent) } } };
  await seed000(stub);
  return body;
}

test("seed 000's example runs verbatim", async () => {
  const { listed, created } = await seed000(client);

  // `await list()` is the first page: only this tenant's records (none yet).
  assert.deepEqual(listed, { items: [], next_cursor: null });
  // The seed's body holds only server-owned envelope fields, which the API ignores (API.md §2);
  // `name` is required (§3), so the API names exactly that field and nothing else.
  await assert.rejects(created, (error) => {
    assert.ok(error instanceof ApiProblem);
    assert.equal(error.status, 400);
    assert.equal(error.type, "/problems/validation-error");
    assert.deepEqual(
      error.errors.map((e) => e.field),
      ["name"],
    );
    return true;
  });
});

test("the seed's example with a name creates the asset, and list() sees it", async () => {
  const asset = await client.technology.technology.create({ ...(await seedBody()), name: "seed-example" });
  assert.match(asset.id, /^ast_/);
  assert.notEqual(asset.tenant_id, "example tenant_id");
  assert.equal(asset.app_id, null);
  assert.equal(asset.created_by, "sdk-user");
  const page = await client.technology.technology.list();
  assert.deepEqual(
    page.items.map((a) => a.id),
    [asset.id],
  );
});
