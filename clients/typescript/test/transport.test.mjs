// Retries, Retry-After and timeouts, against a tiny server that answers what each test scripts
// (the real stack does not answer 503 on demand).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, beforeEach, test } from "node:test";

import { ApiProblem, ApiTimeout, createClient, retryAfterMs } from "../dist/index.js";

let server;
let url;
let script = [];
let seen = [];

const page = JSON.stringify({ items: [], next_cursor: null });
const unavailable = (retryAfter) => ({
  status: 503,
  headers: { "content-type": "application/problem+json", ...(retryAfter ? { "retry-after": retryAfter } : {}) },
  body: JSON.stringify({
    type: "/problems/service-unavailable",
    title: "Service Unavailable",
    status: 503,
    detail: "try again",
    request_id: "req-503",
  }),
});
const ok = (body = page, status = 200) => ({ status, headers: { "content-type": "application/json" }, body });

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      seen.push({ method: request.method, headers: request.headers, body, at: Date.now() });
      const step = script.shift() ?? ok();
      if (step.hang) return; // never answers
      response.writeHead(step.status, step.headers);
      response.end(step.body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  script = [];
  seen = [];
});

test("a read is retried after a 503, waiting Retry-After", async () => {
  script = [unavailable("1"), ok()];
  const client = createClient({ baseUrl: url, token: "t" });
  const page = await client.technology.technology.list().page();
  assert.deepEqual(page, { items: [], next_cursor: null });
  assert.equal(seen.length, 2);
  assert.ok(seen[1].at - seen[0].at >= 950, `waited ${seen[1].at - seen[0].at} ms`);
  assert.equal(seen[1].headers.authorization, "Bearer t");
});

test("a write is retried with the same Idempotency-Key and body", async () => {
  script = [unavailable("0"), unavailable("0"), ok(JSON.stringify({ id: "ast_1" }), 201)];
  const client = createClient({ baseUrl: url, token: "t" });
  const created = await client.technology.technology.create({ name: "x" });
  assert.deepEqual(created, { id: "ast_1" });
  assert.equal(seen.length, 3);
  const keys = new Set(seen.map((s) => s.headers["idempotency-key"]));
  assert.equal(keys.size, 1);
  assert.ok([...keys][0]);
  assert.ok(seen.every((s) => s.body === '{"name":"x"}'));
});

test("a write without an idempotency key is never retried", async () => {
  script = [unavailable("0"), ok()];
  const client = createClient({ baseUrl: url, token: "t" });
  const error = await client.technology.technology
    .create({ name: "x" }, { idempotencyKey: false })
    .catch((e) => e);
  assert.ok(error instanceof ApiProblem);
  assert.equal(error.status, 503);
  assert.equal(error.retryAfter, 0);
  assert.equal(error.requestId, "req-503");
  assert.equal(seen.length, 1);
});

test("retries stop after `retries`, and a Retry-After over the cap is not waited for", async () => {
  script = [unavailable("0"), unavailable("0"), unavailable("0"), ok()];
  const client = createClient({ baseUrl: url, retries: 1 });
  assert.equal((await client.technology.technology.list().page().catch((e) => e)).status, 503);
  assert.equal(seen.length, 2);

  script = [unavailable("120"), ok()];
  seen = [];
  const impatient = createClient({ baseUrl: url, maxRetryDelayMs: 5_000 });
  const error = await impatient.technology.technology.list().page().catch((e) => e);
  assert.equal(error.status, 503);
  assert.equal(error.retryAfter, 120);
  assert.equal(seen.length, 1);
});

test("a timed-out read is retried; the last timeout is an ApiTimeout", async () => {
  script = [{ hang: true }, ok()];
  const client = createClient({ baseUrl: url, timeoutMs: 200 });
  assert.deepEqual(await client.technology.technology.list().page(), { items: [], next_cursor: null });
  assert.equal(seen.length, 2);

  script = [{ hang: true }, { hang: true }];
  seen = [];
  const once = createClient({ baseUrl: url, timeoutMs: 200, retries: 1 });
  const error = await once.technology.technology.get("ast_1").catch((e) => e);
  assert.ok(error instanceof ApiTimeout, String(error));
  assert.equal(error.attempts, 2);
  assert.equal(seen.length, 2);
});

test("a timed-out write with a key is retried with that key; without one it is not", async () => {
  script = [{ hang: true }, ok(JSON.stringify({ id: "ast_2" }), 201)];
  const client = createClient({ baseUrl: url, timeoutMs: 200 });
  assert.deepEqual(await client.technology.technology.create({ name: "y" }, { idempotencyKey: "k-1" }), {
    id: "ast_2",
  });
  assert.deepEqual(
    seen.map((s) => s.headers["idempotency-key"]),
    ["k-1", "k-1"],
  );

  script = [{ hang: true }, ok()];
  seen = [];
  const error = await client.technology.technology
    .create({ name: "y" }, { idempotencyKey: false })
    .catch((e) => e);
  assert.ok(error instanceof ApiTimeout);
  assert.equal(seen.length, 1);
});

test("an error that is not a problem document still becomes an ApiProblem", async () => {
  script = [{ status: 502, headers: { "content-type": "text/html" }, body: "<h1>Bad gateway</h1>" }];
  const error = await createClient({ baseUrl: url }).technology.technology.list().page().catch((e) => e);
  assert.ok(error instanceof ApiProblem);
  assert.equal(error.status, 502);
  assert.equal(error.problem.status, 502);
});

test("Retry-After: seconds or an HTTP date", () => {
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(null), undefined);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(retryAfterMs("soon"), undefined);
});
