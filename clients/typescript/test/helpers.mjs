// Shared by the tests: where the stack is (scripts/sdk-test.sh starts it and sets these), and
// tokens for a tenant of each test's own so that lists hold exactly what the test made.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export const baseUrl = process.env.TECHNOLOGY_API_URL ?? "http://127.0.0.1:3000";

/** A development token from `local-api token` (every scope unless `scopes`). */
export function mintToken({ sub = "sdk-user", tenant, scopes, ttl } = {}) {
  const bin = process.env.LOCAL_API;
  if (!bin) throw new Error("LOCAL_API is not set: run the tests with scripts/sdk-test.sh (make test)");
  const args = ["token", "--sub", sub, "--tenant", tenant];
  if (scopes !== undefined) args.push("--scopes", scopes);
  if (ttl !== undefined) args.push("--ttl", String(ttl));
  return execFileSync(bin, args, { encoding: "utf8" }).trim();
}

/** A tenant nobody else uses. */
export function freshTenant(label) {
  return `sdk-${label}-${randomBytes(4).toString("hex")}`;
}

export function uniqueName(label) {
  return `${label}-${randomBytes(4).toString("hex")}`;
}
