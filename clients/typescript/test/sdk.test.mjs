// The SDK against the real stack (scripts/sdk-test.sh): every namespace of the seeds, paging,
// typed errors, If-Match, idempotency keys and token providers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ApiProblem, Paginator, createClient } from "../dist/index.js";
import { baseUrl, freshTenant, mintToken, uniqueName } from "./helpers.mjs";

const tenant = freshTenant("main");
const token = mintToken({ tenant });
const client = createClient({ baseUrl, token });

async function problemOf(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiProblem, `expected an ApiProblem, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

// The grants and access requests below differ only in these few fields; the rest of each body is
// the same for all of them, so it is written once here.

/** `principal_id`'s grant of `entitlement_type` on `asset` (a person). */
function grantOn(asset, principal_id, entitlement_type) {
  return client.technology.entitlements.create({
    asset_id: asset.id,
    principal_id,
    principal_type: "person",
    entitlement_type,
  });
}

/** A request (by this file's user) for new `entitlement_type` access to `asset`. */
function requestAccess(asset, justification, entitlement_type) {
  return client.operations.accessRequests.create({
    system_id: asset.name,
    access_type: "new",
    justification,
    entitlement_type,
  });
}

describe("technology.technology", () => {
  test("create, get, update with the record's revision, delete", async () => {
    const assets = client.technology.technology;
    const created = await assets.create({ name: uniqueName("crud"), criticality: "high", tags: ["db"] });
    assert.equal(created.revision, 1);
    assert.equal(created.tenant_id, tenant);

    const got = await assets.get(created.id);
    assert.deepEqual(got, created);

    // The record's revision becomes If-Match.
    const updated = await assets.update(created, { display_name: "Main DB" });
    assert.equal(updated.revision, 2);
    assert.equal(updated.display_name, "Main DB");

    // The same (now stale) record again: 412, nothing written.
    const stale = await problemOf(assets.update(created, { display_name: "Lost update" }));
    assert.equal(stale.status, 412);
    assert.equal(stale.type, "/problems/precondition-failed");
    assert.equal((await assets.get(created.id)).display_name, "Main DB");

    // An explicit ifMatch, as a number.
    const again = await assets.update(created.id, { description: "x" }, { ifMatch: 2 });
    assert.equal(again.revision, 3);

    await assets.delete(again);
    const gone = await problemOf(assets.get(created.id));
    assert.equal(gone.status, 404);
    assert.equal((await assets.get(created.id, { include_deleted: true })).is_deleted, true);
  });

  test("list() iterates every page; .page() is one page; await is the first page", async () => {
    const tag = uniqueName("page");
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        (await client.technology.technology.create({ name: uniqueName("p"), tags: [tag], criticality: "critical" })).id,
      );
    }
    await client.technology.technology.create({ name: uniqueName("other"), tags: [tag], criticality: "low" });

    const list = client.technology.technology.list({ tag, criticality: "critical", limit: 2 });
    assert.ok(list instanceof Paginator);
    const seen = [];
    for await (const asset of list) seen.push(asset.id);
    assert.deepEqual(seen.sort(), [...made].sort());

    const first = await list.page();
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor);
    const second = await list.page(first.next_cursor);
    assert.equal(second.items.length, 2);
    assert.notDeepEqual(second.items, first.items);

    // (a cursor is opaque: two answers for the same page may carry different ones)
    const awaited = await client.technology.technology.list({ tag, criticality: "critical", limit: 2 });
    assert.deepEqual(awaited.items, first.items);
    assert.ok(awaited.next_cursor);

    let pages = 0;
    for await (const page of list.pages()) pages += page.items.length > 0 ? 1 : 0;
    assert.equal(pages, 3);
    assert.equal((await list.toArray()).length, 5);

    // Starting from a cursor.
    const rest = await client.technology.technology
      .list({ tag, criticality: "critical", limit: 2, cursor: first.next_cursor })
      .toArray();
    assert.equal(rest.length, 3);
  });

  test("errors are ApiProblem with the RFC 9457 document and the status", async () => {
    const bad = await problemOf(
      client.technology.technology.create({ name: "Not Kebab", criticality: "extreme" }),
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.problem.status, 400);
    assert.equal(bad.type, "/problems/validation-error");
    assert.deepEqual(bad.errors.map((e) => e.field).sort(), ["criticality", "name"]);
    assert.equal(bad.requestId, bad.headers.get("x-request-id"));
    assert.match(bad.message, /^400 /);

    const missing = await problemOf(client.technology.technology.get("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V"));
    assert.equal(missing.status, 404);
    assert.equal(missing.type, "/problems/not-found");

    const readOnly = createClient({ baseUrl, token: mintToken({ tenant, scopes: "technology:read" }) });
    const forbidden = await problemOf(readOnly.technology.technology.create({ name: uniqueName("ro") }));
    assert.equal(forbidden.status, 403);

    const anonymous = createClient({ baseUrl });
    assert.equal((await problemOf(anonymous.technology.technology.list().page())).status, 401);
  });

  // API.md §11: a retry with the key gets the kept answer, byte for byte, and writes nothing; the
  // key with another request is a 422.
  test("the same idempotency key replays the kept answer; another request with it is a 422", async () => {
    const name = uniqueName("idem");
    const tag = uniqueName("idem-tag");
    const key = `key-${name}`;
    const answers = [];
    const recording = createClient({
      baseUrl,
      token,
      fetch: async (request) => {
        const response = await fetch(request);
        const header = (h) => response.headers.get(h);
        answers.push({
          status: response.status,
          body: await response.clone().text(),
          replayed: header("idempotent-replayed"),
          requestId: header("x-request-id"),
          location: header("location"),
          etag: header("etag"),
        });
        return response;
      },
    });
    const assets = recording.technology.technology;

    const first = await assets.create({ name, tags: [tag] }, { idempotencyKey: key });
    // The same body (members in another order: bodies are compared as parsed JSON).
    const replay = await assets.create({ tags: [tag], name }, { idempotencyKey: key });
    assert.equal(replay.id, first.id);
    assert.deepEqual(replay, first);
    const [made, replayed] = answers;
    assert.equal(made.status, 201);
    assert.equal(made.replayed, null, "a first answer is not a replay");
    assert.equal(replayed.status, 201);
    assert.equal(replayed.replayed, "true");
    for (const part of ["body", "requestId", "location", "etag"]) {
      assert.equal(replayed[part], made[part], `${part} is replayed byte for byte`);
    }
    assert.deepEqual(
      (await client.technology.technology.list({ tag }).toArray()).map((a) => a.id),
      [first.id],
      "one record, however often the key is sent",
    );

    // The key with another body: 422, and still one record.
    const reused = await problemOf(
      assets.create({ name: uniqueName("idem-other"), tags: [tag] }, { idempotencyKey: key }),
    );
    assert.equal(reused.status, 422);
    assert.equal(reused.type, "/problems/idempotency-key-reused");
    assert.equal(reused.headers.get("idempotent-replayed"), null);
    assert.equal((await client.technology.technology.list({ tag }).toArray()).length, 1);

    // A kept 4xx replays too.
    const badKey = `key-${uniqueName("bad")}`;
    const bad = await problemOf(assets.create({ name: "Not Kebab" }, { idempotencyKey: badKey }));
    const again = await problemOf(assets.create({ name: "Not Kebab" }, { idempotencyKey: badKey }));
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("idempotent-replayed"), null);
    assert.equal(again.status, 400);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(again.problem, bad.problem);
  });

  test("writes carry an idempotency key: a fresh one per call by default", async () => {
    const first = await client.technology.technology.create({ name: uniqueName("idem") });
    const name = first.name;
    const keys = [];
    const spying = createClient({
      baseUrl,
      token,
      fetch: (request) => {
        keys.push(request.headers.get("idempotency-key"));
        return fetch(request);
      },
    });
    await spying.technology.technology.update(first, { description: "one" });
    await spying.technology.technology.get(first.id);
    await spying.technology.technology.update(first.id, { description: "two" }, { idempotencyKey: false });
    assert.equal(keys.length, 3);
    assert.match(keys[0], /^[0-9a-f-]{36}$/);
    assert.equal(keys[1], null, "a read carries no key");
    assert.equal(keys[2], null, "idempotencyKey: false sends none");
    // A name clash is an answer (409), not a failure to retry.
    assert.equal((await problemOf(spying.technology.technology.create({ name }))).status, 409);
  });

  test("the token may be an async provider, asked before every request (rotation)", async () => {
    const rotating = [
      mintToken({ tenant, sub: "rotated-1" }),
      mintToken({ tenant, sub: "rotated-2" }),
    ];
    let calls = 0;
    const rotatingClient = createClient({
      baseUrl,
      token: async () => rotating[calls++ % rotating.length],
    });
    const a = await rotatingClient.technology.technology.create({ name: uniqueName("rot") });
    const b = await rotatingClient.technology.technology.update(a, { description: "rotated" });
    assert.equal(calls, 2);
    assert.equal(a.created_by, "rotated-1");
    assert.equal(b.updated_by, "rotated-2");
  });

  test("history, verify and who has access", async () => {
    const asset = await client.technology.technology.create({ name: uniqueName("hist") });
    await client.technology.technology.update(asset, { description: "changed" });
    const events = await client.technology.technology.history(asset.id).toArray();
    assert.deepEqual(
      events.map((e) => e.action),
      ["created", "updated"],
    );
    const verdict = await client.technology.technology.verifyHistory(asset.id);
    assert.equal(verdict.valid, true);
    assert.deepEqual(await client.technology.technology.access(asset.id).toArray(), []);
  });
});

describe("technology.entitlements and accessModelMetadata.attributes", () => {
  test("create, get, list, update, metadata values, revoke", async () => {
    const asset = await client.technology.technology.create({ name: uniqueName("ent") });
    const key = `k${uniqueName("x").replace(/-/g, "")}`;
    const attribute = await client.accessModelMetadata.attributes.create({
      key,
      name: "Classification",
      type: "governance",
      values: [{ value: "secret", name: "Secret" }],
    });
    assert.equal((await client.accessModelMetadata.attributes.get(key)).id, attribute.id);
    const renamed = await client.accessModelMetadata.attributes.update(attribute, { name: "Data classification" });
    assert.equal(renamed.revision, 2);
    assert.ok((await client.accessModelMetadata.attributes.list({ q: "data classification" }).toArray()).some((a) => a.key === key));
    assert.equal((await client.accessModelMetadata.attributes.history(key).toArray()).length, 2);

    const ents = client.technology.entitlements;
    const grant = await grantOn(asset, "per_alice", "admin");
    assert.deepEqual(await ents.get(grant.id), grant);
    assert.deepEqual(
      (await ents.list({ asset_id: asset.id }).toArray()).map((e) => e.id),
      [grant.id],
    );
    const edited = await ents.update(grant, { description: "break-glass" });
    const tagged = await ents.addMetadata(edited, key, "secret");
    assert.equal(tagged.revision, edited.revision + 1);
    assert.ok(JSON.stringify(tagged.access_model_metadata).includes("secret"));
    const untagged = await ents.removeMetadata(tagged, key, "secret");
    assert.ok(!JSON.stringify(untagged.access_model_metadata ?? null).includes("secret"));
    const revoked = await ents.revoke(untagged, { reason: "left the team" });
    assert.equal(revoked.status, "revoked");
    assert.equal((await ents.verifyHistory(grant.id)).valid, true);
    assert.ok((await ents.history(grant.id).toArray()).length >= 5);
  });
});

describe("operations.accessRequests", () => {
  const approverToken = mintToken({ tenant, sub: "sdk-approver" });
  const approver = createClient({ baseUrl, token: approverToken });

  test("create → approve → provision → complete, and reject, update, delete", async () => {
    const asset = await client.technology.technology.create({ name: uniqueName("arq") });
    const requests = client.operations.accessRequests;
    const request = await requestAccess(asset, "on call", "deployer");
    assert.equal(request.status, "pending");
    assert.equal(request.asset_id, asset.id);
    const edited = await requests.update(request, { justification: "on call, week 12" });
    assert.equal(edited.revision, 2);

    // No self-approval.
    assert.equal((await problemOf(requests.approve(edited))).status, 403);
    const approved = await approver.operations.accessRequests.approve(edited, { comment: "ok" });
    assert.equal(approved.status, "approved");
    const provisioned = await approver.operations.accessRequests.provision(approved);
    assert.equal(provisioned.status, "provisioned");
    assert.match(provisioned.entitlement_id, /^ent_/);
    const completed = await requests.complete(provisioned);
    assert.equal(completed.status, "completed");
    const conflict = await problemOf(requests.complete(completed.id));
    assert.equal(conflict.status, 409);

    const other = await requestAccess(asset, "maybe", "viewer");
    const rejected = await approver.operations.accessRequests.reject(other.id, { comment: "no" });
    assert.equal(rejected.status, "rejected");

    const dropped = await requestAccess(asset, "typo", "viewer");
    await requests.delete(dropped);
    assert.equal((await problemOf(requests.get(dropped.id))).status, 404);

    const listed = await requests.list({ asset_id: asset.id }).toArray();
    assert.deepEqual(listed.map((r) => r.id).sort(), [request.id, other.id].sort());
    assert.equal((await requests.verifyHistory(request.id)).valid, true);
    assert.deepEqual(
      (await requests.history(request.id).toArray()).map((e) => e.action),
      ["created", "updated", "approved", "provisioned", "completed"],
    );
  });

  test("audit.events lists the tenant's feed", async () => {
    const events = await client.audit.events.list({ resource_type: "access_request", limit: 5 }).page();
    assert.ok(events.items.length > 0);
    assert.ok(events.items.every((e) => e.resource_type === "access_request"));
  });

  test("access: an AuthZEN evaluation reflects a grant at once, and its revoke", async () => {
    const asset = await client.technology.technology.create({ name: uniqueName("pdp") });
    const grant = await grantOn(asset, "carol", "read");
    const ask = {
      subject: { type: "person", id: "carol" },
      resource: { type: "technology_asset", id: asset.name },
      action: { name: "read" },
    };
    const yes = await client.access.evaluate(ask);
    assert.equal(yes.decision, true);
    assert.equal(yes.context.grants[0].entitlement_id, grant.id);
    await client.technology.entitlements.revoke(grant.id, {});
    const no = await client.access.evaluate(ask);
    assert.deepEqual([no.decision, no.context.reason], [false, "no_grant"]);
    const batch = await client.access.evaluations({ ...ask, evaluations: [{}, { action: { name: "admin" } }] });
    assert.deepEqual(batch.evaluations.map((d) => d.decision), [false, false]);
    const config = await client.access.configuration();
    assert.ok(config.access_evaluation_endpoint.endsWith("/api/v1/access/evaluation"));
  });

  test("raw: the typed openapi-fetch client underneath", async () => {
    const { data, response } = await client.raw.GET("/api/v1/technology", { params: { query: { limit: 1 } } });
    assert.equal(response.status, 200);
    assert.equal(data.items.length, 1);
  });
});
