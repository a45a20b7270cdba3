// The Technology API SDK. `schema.ts` is generated from openapi.yaml (`npm run generate`); this
// file only adds the namespaces of the seeds (`client.technology.technology.list()`, …) and the
// conveniences: paging iterators, typed errors, If-Match, idempotency keys, token providers,
// timeouts and retries (see http.ts).
//
// Adding a route after `npm run generate`: add a method to the namespace class it belongs to
// (or a new class, wired in `TechnologyApi`), calling `this.api.<METHOD>("<path>", …)`; the
// generated types check the path, the parameters and the body.

import createFetchClient, { type Client as FetchClient } from "openapi-fetch";

import { ApiProblem } from "./errors.js";
import { transport, type TokenSource } from "./http.js";
import { Paginator, type Page } from "./paginate.js";
import type { components, operations, paths } from "./schema.js";

export { ApiProblem, ApiTimeout, type FieldError, type Problem } from "./errors.js";
export { Paginator, type Page } from "./paginate.js";
export { retryAfterMs, type TokenSource } from "./http.js";
export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
export type TechnologyAsset = Schemas["TechnologyAsset"];
export type AssetCreate = Schemas["AssetCreate"];
export type AssetPatch = Schemas["AssetPatch"];
export type Entitlement = Schemas["Entitlement"];
export type EntitlementCreate = Schemas["EntitlementCreate"];
export type EntitlementPatch = Schemas["EntitlementPatch"];
export type RevokeBody = Schemas["RevokeBody"];
export type AccessRequest = Schemas["AccessRequest"];
export type AccessRequestCreate = Schemas["AccessRequestCreate"];
export type AccessRequestPatch = Schemas["AccessRequestPatch"];
export type DecisionBody = Schemas["DecisionBody"];
export type MetadataAttribute = Schemas["MetadataAttribute"];
export type MetadataAttributeCreate = Schemas["MetadataAttributeCreate"];
export type MetadataAttributePatch = Schemas["MetadataAttributePatch"];
export type HistoryEvent = Schemas["HistoryEvent"];
export type HistoryVerdict = Schemas["HistoryVerdict"];
export type AccessEvaluationRequest = Schemas["AccessEvaluationRequest"];
export type AccessEvaluationsRequest = Schemas["AccessEvaluationsRequest"];
export type AccessDecision = Schemas["AccessDecision"];
export type AccessDecisions = Schemas["AccessDecisions"];
export type SubjectSearchRequest = Schemas["SubjectSearchRequest"];
export type SubjectSearchResponse = Schemas["SubjectSearchResponse"];
export type ResourceSearchRequest = Schemas["ResourceSearchRequest"];
export type ResourceSearchResponse = Schemas["ResourceSearchResponse"];
export type ActionSearchRequest = Schemas["ActionSearchRequest"];
export type ActionSearchResponse = Schemas["ActionSearchResponse"];
export type AuthzenConfiguration = Schemas["AuthzenConfiguration"];

/** The query parameters of an operation (filters, `limit`, `cursor`, …). */
export type QueryOf<Op extends keyof operations> = NonNullable<
  operations[Op]["parameters"]["query"]
>;

export interface ClientOptions {
  /** Where the API is: `http://127.0.0.1:3000` for `make dev` (the default). No `/api/v1`. */
  baseUrl?: string;
  /** A bearer token, or a function returning one (sync or async), asked before every request. */
  token?: TokenSource;
  /** Per attempt, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /**
   * Extra attempts after a 503, a timeout or a network error (default 2). Reads always; writes
   * only with an Idempotency-Key (every write has one unless `idempotencyKey: false`).
   */
  retries?: number;
  /** A `Retry-After` longer than this is not waited for (default 30 000 ms). */
  maxRetryDelayMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** A fetch to use instead of `globalThis.fetch`. */
  fetch?: (input: Request) => Promise<Response>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

export interface WriteOptions extends CallOptions {
  /**
   * The Idempotency-Key of this logical call: retries of the call reuse it, so the write happens
   * at most once. Default: a fresh random key per call. `false`: none (then a failed attempt is
   * never retried).
   */
  idempotencyKey?: string | false;
  /**
   * `If-Match`: the revision the write expects (`3`, `"3"` or `'"3"'`); a mismatch → 412. Passing
   * a record instead of an id sets it from the record's `revision`.
   */
  ifMatch?: number | string;
}

/** A record or its id. A record's `revision` becomes `If-Match`. */
export type Ref = string | { id: string; revision?: number };
/** An attribute or its key. */
export type KeyRef = string | { key: string; revision?: number };

/** The seeds' client: `client.technology.technology.list()`, `client.operations.accessRequests…`. */
export class TechnologyApi {
  /** The typed openapi-fetch client underneath, for any route (`client.raw.GET("/api/v1/…")`). */
  readonly raw: FetchClient<paths>;
  readonly technology: {
    readonly technology: TechnologyAssets;
    readonly entitlements: Entitlements;
  };
  readonly operations: { readonly accessRequests: AccessRequests };
  readonly accessModelMetadata: { readonly attributes: MetadataAttributes };
  readonly audit: { readonly events: AuditEvents };
  /** Access decisions (OpenID AuthZEN 1.0 over the tenant's grants). */
  readonly access: Access;

  constructor(options: ClientOptions = {}) {
    const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
    this.raw = createFetchClient<paths>({
      baseUrl: (options.baseUrl ?? "http://127.0.0.1:3000").replace(/\/+$/, ""),
      headers: options.headers,
      fetch: transport({
        token: options.token,
        timeoutMs: options.timeoutMs ?? 30_000,
        retries: options.retries ?? 2,
        maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
        fetch: baseFetch,
      }),
    });
    this.technology = {
      technology: new TechnologyAssets(this.raw),
      entitlements: new Entitlements(this.raw),
    };
    this.operations = { accessRequests: new AccessRequests(this.raw) };
    this.accessModelMetadata = { attributes: new MetadataAttributes(this.raw) };
    this.audit = { events: new AuditEvents(this.raw) };
    this.access = new Access(this.raw);
  }
}

/** `createClient({ baseUrl, token })`: the same as `new TechnologyApi(...)`. */
export function createClient(options: ClientOptions = {}): TechnologyApi {
  return new TechnologyApi(options);
}

// ---- helpers -------------------------------------------------------------------------------

type Raw = FetchClient<paths>;

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The body of a 2xx answer; an `ApiProblem` for anything else. */
async function unwrap<T>(call: Promise<FetchResult>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw await ApiProblem.from(response, error);
  return data as T;
}

function idOf(ref: Ref): string {
  return typeof ref === "string" ? ref : ref.id;
}
function keyOf(ref: KeyRef): string {
  return typeof ref === "string" ? ref : ref.key;
}

function readHeaders(options: CallOptions | undefined): Record<string, string> {
  return { ...options?.headers };
}

function writeHeaders(
  options: WriteOptions | undefined,
  ref?: Ref | KeyRef,
): Record<string, string> {
  const headers: Record<string, string> = { ...options?.headers };
  if (options?.idempotencyKey !== false) {
    headers["Idempotency-Key"] = options?.idempotencyKey ?? crypto.randomUUID();
  }
  const revision =
    options?.ifMatch ?? (typeof ref === "object" && ref !== null ? ref.revision : undefined);
  if (revision !== undefined) {
    const text = String(revision);
    headers["If-Match"] = /^\d+$/.test(text) ? `"${text}"` : text;
  }
  return headers;
}

function paginate<T>(
  query: { cursor?: string } | undefined,
  fetchPage: (query: Record<string, unknown>) => Promise<FetchResult>,
): Paginator<T> {
  const { cursor: start, ...rest } = query ?? {};
  return new Paginator<T>(
    (cursor) =>
      unwrap<Page<T>>(fetchPage(cursor === undefined ? { ...rest } : { ...rest, cursor })),
    start,
  );
}

// openapi-fetch's types check each call's path, parameters and body against the document; the
// results are narrowed by `unwrap` to the schema type each method declares.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

// ---- /api/v1/technology ----------------------------------------------------------------------

export class TechnologyAssets {
  constructor(private readonly api: Raw) {}

  /** Every asset matching the filters (iterate), or one page (`.page()` / `await`). */
  list(
    query?: QueryOf<"listTechnologyAssets">,
    options?: CallOptions,
  ): Paginator<TechnologyAsset> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/technology", {
        params: { query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  get(
    id: Ref,
    query?: QueryOf<"getTechnologyAsset">,
    options?: CallOptions,
  ): Promise<TechnologyAsset> {
    return unwrap(
      this.api.GET("/api/v1/technology/{id}", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  create(body: AssetCreate, options?: WriteOptions): Promise<TechnologyAsset> {
    return unwrap(
      this.api.POST("/api/v1/technology", {
        // openapi-fetch's Writable<> of the schema's anyOf (cloud_provider only with a cloud)
        // loses the `null` branch; the parameter's type is the document's.
        body: body as Loose,
        headers: writeHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  /** A merge patch (`null` clears a field). Pass the record to send its `revision` as If-Match. */
  update(id: Ref, patch: AssetPatch, options?: WriteOptions): Promise<TechnologyAsset> {
    return unwrap(
      this.api.PATCH("/api/v1/technology/{id}", {
        params: { path: { id: idOf(id) } },
        body: patch,
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  /** Soft delete (refused with 409 while live entitlements remain). */
  async delete(id: Ref, options?: WriteOptions): Promise<void> {
    await unwrap(
      this.api.DELETE("/api/v1/technology/{id}", {
        params: { path: { id: idOf(id) } },
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  /** The asset's history, oldest first. */
  history(
    id: Ref,
    query?: QueryOf<"getTechnologyAssetHistory">,
    options?: CallOptions,
  ): Paginator<HistoryEvent> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/technology/{id}/history", {
        params: { path: { id: idOf(id) }, query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  verifyHistory(
    id: Ref,
    query?: QueryOf<"verifyTechnologyAssetHistory">,
    options?: CallOptions,
  ): Promise<HistoryVerdict> {
    return unwrap(
      this.api.GET("/api/v1/technology/{id}/history/verify", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  /** Who had access to the asset (now, or `at` a past instant). */
  access(
    id: Ref,
    query?: QueryOf<"getTechnologyAssetAccess">,
    options?: CallOptions,
  ): Paginator<Entitlement> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/technology/{id}/access", {
        params: { path: { id: idOf(id) }, query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }
}

// ---- /api/v1/entitlements --------------------------------------------------------------------

export class Entitlements {
  constructor(private readonly api: Raw) {}

  list(query?: QueryOf<"listEntitlements">, options?: CallOptions): Paginator<Entitlement> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/entitlements", {
        params: { query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  get(id: Ref, query?: QueryOf<"getEntitlement">, options?: CallOptions): Promise<Entitlement> {
    return unwrap(
      this.api.GET("/api/v1/entitlements/{id}", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  create(body: EntitlementCreate, options?: WriteOptions): Promise<Entitlement> {
    return unwrap(
      this.api.POST("/api/v1/entitlements", {
        body,
        headers: writeHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  update(id: Ref, patch: EntitlementPatch, options?: WriteOptions): Promise<Entitlement> {
    return unwrap(
      this.api.PATCH("/api/v1/entitlements/{id}", {
        params: { path: { id: idOf(id) } },
        body: patch,
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  revoke(id: Ref, body: RevokeBody = {}, options?: WriteOptions): Promise<Entitlement> {
    return unwrap(
      this.api.POST("/api/v1/entitlements/{id}/revoke", {
        params: { path: { id: idOf(id) } },
        body,
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  /** Adds a catalog attribute's value to the entitlement's access-model metadata. */
  addMetadata(
    id: Ref,
    attributeKey: string,
    attributeValue: string,
    options?: WriteOptions,
  ): Promise<Entitlement> {
    return unwrap(
      this.api.POST(
        "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}",
        {
          params: { path: { id: idOf(id), attributeKey, attributeValue } },
          headers: writeHeaders(options, id),
          signal: options?.signal,
        },
      ),
    );
  }

  removeMetadata(
    id: Ref,
    attributeKey: string,
    attributeValue: string,
    options?: WriteOptions,
  ): Promise<Entitlement> {
    return unwrap(
      this.api.DELETE(
        "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}",
        {
          params: { path: { id: idOf(id), attributeKey, attributeValue } },
          headers: writeHeaders(options, id),
          signal: options?.signal,
        },
      ),
    );
  }

  history(
    id: Ref,
    query?: QueryOf<"getEntitlementHistory">,
    options?: CallOptions,
  ): Paginator<HistoryEvent> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/entitlements/{id}/history", {
        params: { path: { id: idOf(id) }, query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  verifyHistory(
    id: Ref,
    query?: QueryOf<"verifyEntitlementHistory">,
    options?: CallOptions,
  ): Promise<HistoryVerdict> {
    return unwrap(
      this.api.GET("/api/v1/entitlements/{id}/history/verify", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }
}

// ---- /api/v1/operations/access-requests ------------------------------------------------------

export class AccessRequests {
  constructor(private readonly api: Raw) {}

  list(query?: QueryOf<"listAccessRequests">, options?: CallOptions): Paginator<AccessRequest> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/operations/access-requests", {
        params: { query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  get(id: Ref, query?: QueryOf<"getAccessRequest">, options?: CallOptions): Promise<AccessRequest> {
    return unwrap(
      this.api.GET("/api/v1/operations/access-requests/{id}", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  create(body: AccessRequestCreate, options?: WriteOptions): Promise<AccessRequest> {
    return unwrap(
      this.api.POST("/api/v1/operations/access-requests", {
        body,
        headers: writeHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  update(id: Ref, patch: AccessRequestPatch, options?: WriteOptions): Promise<AccessRequest> {
    return unwrap(
      this.api.PATCH("/api/v1/operations/access-requests/{id}", {
        params: { path: { id: idOf(id) } },
        body: patch,
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  async delete(id: Ref, options?: WriteOptions): Promise<void> {
    await unwrap(
      this.api.DELETE("/api/v1/operations/access-requests/{id}", {
        params: { path: { id: idOf(id) } },
        headers: writeHeaders(options, id),
        signal: options?.signal,
      }),
    );
  }

  approve(id: Ref, body: DecisionBody = {}, options?: WriteOptions): Promise<AccessRequest> {
    return this.decide("approve", id, body, options);
  }

  reject(id: Ref, body: DecisionBody = {}, options?: WriteOptions): Promise<AccessRequest> {
    return this.decide("reject", id, body, options);
  }

  /** Provisions an approved request (creates its entitlement). */
  provision(id: Ref, body: DecisionBody = {}, options?: WriteOptions): Promise<AccessRequest> {
    return this.decide("provision", id, body, options);
  }

  /** `provisioned → completed`: `PATCH {"status": "completed"}`. */
  complete(id: Ref, options?: WriteOptions): Promise<AccessRequest> {
    return this.update(id, { status: "completed" } as AccessRequestPatch, options);
  }

  history(
    id: Ref,
    query?: QueryOf<"getAccessRequestHistory">,
    options?: CallOptions,
  ): Paginator<HistoryEvent> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/operations/access-requests/{id}/history", {
        params: { path: { id: idOf(id) }, query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  verifyHistory(
    id: Ref,
    query?: QueryOf<"verifyAccessRequestHistory">,
    options?: CallOptions,
  ): Promise<HistoryVerdict> {
    return unwrap(
      this.api.GET("/api/v1/operations/access-requests/{id}/history/verify", {
        params: { path: { id: idOf(id) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  private decide(
    action: "approve" | "reject" | "provision",
    id: Ref,
    body: DecisionBody,
    options?: WriteOptions,
  ): Promise<AccessRequest> {
    const init = {
      params: { path: { id: idOf(id) } },
      body,
      headers: writeHeaders(options, id),
      signal: options?.signal,
    };
    switch (action) {
      case "approve":
        return unwrap(this.api.POST("/api/v1/operations/access-requests/{id}/approve", init));
      case "reject":
        return unwrap(this.api.POST("/api/v1/operations/access-requests/{id}/reject", init));
      case "provision":
        return unwrap(this.api.POST("/api/v1/operations/access-requests/{id}/provision", init));
    }
  }
}

// ---- /api/v1/access-model-metadata/attributes ------------------------------------------------

export class MetadataAttributes {
  constructor(private readonly api: Raw) {}

  list(
    query?: QueryOf<"listMetadataAttributes">,
    options?: CallOptions,
  ): Paginator<MetadataAttribute> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/access-model-metadata/attributes", {
        params: { query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  get(
    key: KeyRef,
    query?: QueryOf<"getMetadataAttribute">,
    options?: CallOptions,
  ): Promise<MetadataAttribute> {
    return unwrap(
      this.api.GET("/api/v1/access-model-metadata/attributes/{key}", {
        params: { path: { key: keyOf(key) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  create(body: MetadataAttributeCreate, options?: WriteOptions): Promise<MetadataAttribute> {
    return unwrap(
      this.api.POST("/api/v1/access-model-metadata/attributes", {
        body,
        headers: writeHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  update(
    key: KeyRef,
    patch: MetadataAttributePatch,
    options?: WriteOptions,
  ): Promise<MetadataAttribute> {
    return unwrap(
      this.api.PATCH("/api/v1/access-model-metadata/attributes/{key}", {
        params: { path: { key: keyOf(key) } },
        body: patch,
        headers: writeHeaders(options, key),
        signal: options?.signal,
      }),
    );
  }

  history(
    key: KeyRef,
    query?: QueryOf<"getMetadataAttributeHistory">,
    options?: CallOptions,
  ): Paginator<HistoryEvent> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/access-model-metadata/attributes/{key}/history", {
        params: { path: { key: keyOf(key) }, query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  verifyHistory(
    key: KeyRef,
    query?: QueryOf<"verifyMetadataAttributeHistory">,
    options?: CallOptions,
  ): Promise<HistoryVerdict> {
    return unwrap(
      this.api.GET("/api/v1/access-model-metadata/attributes/{key}/history/verify", {
        params: { path: { key: keyOf(key) }, query },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }
}

// ---- /api/v1/audit-events --------------------------------------------------------------------

export class AuditEvents {
  constructor(private readonly api: Raw) {}

  /** The tenant's audit feed, newest first. */
  list(query?: QueryOf<"listAuditEvents">, options?: CallOptions): Paginator<HistoryEvent> {
    return paginate(query, (q) =>
      this.api.GET("/api/v1/audit-events", {
        params: { query: q as Loose },
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }
}

// ---- /api/v1/access (AuthZEN) ------------------------------------------------------------------

/**
 * Read-only decisions: no idempotency key (AuthZEN routes ignore it), retried like reads.
 * `client.access.evaluate({subject, resource, action})` → `{decision, context}`.
 */
export class Access {
  constructor(private readonly api: Raw) {}

  evaluate(body: AccessEvaluationRequest, options?: CallOptions): Promise<AccessDecision> {
    return unwrap(
      this.api.POST("/api/v1/access/evaluation", {
        body,
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  /** A batch: `{"evaluations": [...]}` in request order (or one decision for an empty batch). */
  evaluations(
    body: AccessEvaluationsRequest,
    options?: CallOptions,
  ): Promise<AccessDecisions | AccessDecision> {
    return unwrap(
      this.api.POST("/api/v1/access/evaluations", {
        body,
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  searchSubject(body: SubjectSearchRequest, options?: CallOptions): Promise<SubjectSearchResponse> {
    return unwrap(
      this.api.POST("/api/v1/access/search/subject", {
        body,
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  searchResource(
    body: ResourceSearchRequest,
    options?: CallOptions,
  ): Promise<ResourceSearchResponse> {
    return unwrap(
      this.api.POST("/api/v1/access/search/resource", {
        body,
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  searchAction(body: ActionSearchRequest, options?: CallOptions): Promise<ActionSearchResponse> {
    return unwrap(
      this.api.POST("/api/v1/access/search/action", {
        body,
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }

  /** The PDP metadata document (no token needed). */
  configuration(options?: CallOptions): Promise<AuthzenConfiguration> {
    return unwrap(
      this.api.GET("/.well-known/authzen-configuration", {
        headers: readHeaders(options),
        signal: options?.signal,
      }),
    );
  }
}
