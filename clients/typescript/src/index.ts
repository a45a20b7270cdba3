// The Technology API SDK. `schema.ts` is generated from openapi.yaml by every build (`npm run
// generate`, which `npm run build` runs first; it is not committed); this
// file only adds the namespaces of the seeds (`client.technology.technology.list()`, …) and the
// conveniences: paging iterators, typed errors, If-Match, idempotency keys, token providers,
// timeouts and retries (see http.ts).
//
// Adding a route after `npm run generate`: add a method to the namespace class it belongs to
// (or a new class, wired in `TechnologyApi`), calling `this.read`, `this.write` or `this.pages`
// with the route's path (checked against the document's) and typed with the generated
// parameter, body and answer types.

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

// openapi-fetch's types check a call's path, parameters and body against the document only
// where the path is a literal at the call; here one call serves every route, so it goes through
// `Loose`, and each method declares the schema types its route takes and answers.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** What a call sends besides its method, path and headers. */
interface Call {
  path?: Record<string, string>;
  query?: unknown;
  body?: unknown;
}

/** The calls of a namespace: reads, writes and paged reads of the document's paths. */
class Routes {
  constructor(private readonly api: Raw) {}

  /** A call that writes nothing: no Idempotency-Key (the transport retries it regardless). */
  protected read<T>(method: Method, path: keyof paths, call: Call, options?: CallOptions) {
    return unwrap<T>(this.send(method, path, call, readHeaders(options), options?.signal));
  }

  /** A write: an Idempotency-Key, and If-Match from `options` or the record `ref`. */
  protected write<T>(
    method: Method,
    path: keyof paths,
    call: Call,
    options?: WriteOptions,
    ref?: Ref | KeyRef,
  ) {
    return unwrap<T>(this.send(method, path, call, writeHeaders(options, ref), options?.signal));
  }

  /** Every page of a GET, from the query's `cursor` on. */
  protected pages<T>(path: keyof paths, call: Call, options?: CallOptions): Paginator<T> {
    const { cursor: start, ...rest } = (call.query ?? {}) as { cursor?: string };
    return new Paginator<T>((cursor) => {
      const query = cursor === undefined ? { ...rest } : { ...rest, cursor };
      const page = { ...call, query };
      return unwrap<Page<T>>(this.send("GET", path, page, readHeaders(options), options?.signal));
    }, start);
  }

  private send(
    method: Method,
    path: keyof paths,
    { path: params, query, body }: Call,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<FetchResult> {
    const api: Loose = this.api;
    return api[method](path, { params: { path: params, query }, body, headers, signal });
  }
}

/**
 * A kind of record the document names its operations after: `list<Name>s`, `get<Name>`,
 * `get<Name>History` and `verify<Name>History`.
 */
type KindName = {
  [Op in keyof operations]: Op extends `verify${infer Name}History` ? Name : never;
}[keyof operations];

/** The query parameters of the operation `Op` names. */
type QueryOfOp<Op extends string> = QueryOf<Extract<Op, keyof operations>>;

/**
 * The routes every kind of record has: its collection, one record, and its history. `R` is how
 * a record is named in its paths: a `Ref` for `{id}`, a `KeyRef` for `{key}`.
 */
class Records<T, Create, Patch, Name extends KindName, R extends Ref | KeyRef = Ref> extends Routes {
  constructor(
    api: Raw,
    private readonly collection: keyof paths,
    private readonly param: "id" | "key" = "id",
  ) {
    super(api);
  }

  /** Every record matching the filters (iterate), or one page (`.page()` / `await`). */
  list(query?: QueryOfOp<`list${Name}s`>, options?: CallOptions): Paginator<T> {
    return this.pages(this.collection, { query }, options);
  }

  get(ref: R, query?: QueryOfOp<`get${Name}`>, options?: CallOptions): Promise<T> {
    return this.read("GET", this.one(), { path: this.named(ref), query }, options);
  }

  create(body: Create, options?: WriteOptions): Promise<T> {
    return this.write("POST", this.collection, { body }, options);
  }

  /** A merge patch (`null` clears a field). Pass the record to send its `revision` as If-Match. */
  update(ref: R, patch: Patch, options?: WriteOptions): Promise<T> {
    return this.write("PATCH", this.one(), { path: this.named(ref), body: patch }, options, ref);
  }

  /** The record's history, oldest first. */
  history(
    ref: R,
    query?: QueryOfOp<`get${Name}History`>,
    options?: CallOptions,
  ): Paginator<HistoryEvent> {
    return this.pages(this.one("/history"), { path: this.named(ref), query }, options);
  }

  verifyHistory(
    ref: R,
    query?: QueryOfOp<`verify${Name}History`>,
    options?: CallOptions,
  ): Promise<HistoryVerdict> {
    const path = this.one("/history/verify");
    return this.read("GET", path, { path: this.named(ref), query }, options);
  }

  /** The path of one record, or of `below` it. */
  protected one(below = ""): keyof paths {
    return `${this.collection}/{${this.param}}${below}` as keyof paths;
  }

  /** The path parameter naming `ref`. */
  protected named(ref: R): Record<string, string> {
    const name = this.param === "id" ? idOf(ref as Ref) : keyOf(ref as KeyRef);
    return { [this.param]: name };
  }
}

/** Records a DELETE soft-deletes. */
class DeletableRecords<T, Create, Patch, Name extends KindName> extends Records<
  T,
  Create,
  Patch,
  Name
> {
  async delete(id: Ref, options?: WriteOptions): Promise<void> {
    await this.write("DELETE", this.one(), { path: this.named(id) }, options, id);
  }
}

// ---- /api/v1/technology ----------------------------------------------------------------------

export class TechnologyAssets extends DeletableRecords<
  TechnologyAsset,
  AssetCreate,
  AssetPatch,
  "TechnologyAsset"
> {
  constructor(api: Raw) {
    super(api, "/api/v1/technology");
  }

  /** Who had access to the asset (now, or `at` a past instant). */
  access(
    id: Ref,
    query?: QueryOf<"getTechnologyAssetAccess">,
    options?: CallOptions,
  ): Paginator<Entitlement> {
    return this.pages(this.one("/access"), { path: this.named(id), query }, options);
  }
}

// ---- /api/v1/entitlements --------------------------------------------------------------------

export class Entitlements extends Records<
  Entitlement,
  EntitlementCreate,
  EntitlementPatch,
  "Entitlement"
> {
  constructor(api: Raw) {
    super(api, "/api/v1/entitlements");
  }

  revoke(id: Ref, body: RevokeBody = {}, options?: WriteOptions): Promise<Entitlement> {
    return this.write("POST", this.one("/revoke"), { path: this.named(id), body }, options, id);
  }

  /** Adds a catalog attribute's value to the entitlement's access-model metadata. */
  addMetadata(
    id: Ref,
    attributeKey: string,
    attributeValue: string,
    options?: WriteOptions,
  ): Promise<Entitlement> {
    return this.metadata("POST", id, attributeKey, attributeValue, options);
  }

  removeMetadata(
    id: Ref,
    attributeKey: string,
    attributeValue: string,
    options?: WriteOptions,
  ): Promise<Entitlement> {
    return this.metadata("DELETE", id, attributeKey, attributeValue, options);
  }

  private metadata(
    method: "POST" | "DELETE",
    id: Ref,
    attributeKey: string,
    attributeValue: string,
    options?: WriteOptions,
  ): Promise<Entitlement> {
    const path = this.one("/access-model-metadata/{attributeKey}/values/{attributeValue}");
    const named = { ...this.named(id), attributeKey, attributeValue };
    return this.write(method, path, { path: named }, options, id);
  }
}

// ---- /api/v1/operations/access-requests ------------------------------------------------------

export class AccessRequests extends DeletableRecords<
  AccessRequest,
  AccessRequestCreate,
  AccessRequestPatch,
  "AccessRequest"
> {
  constructor(api: Raw) {
    super(api, "/api/v1/operations/access-requests");
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

  private decide(
    action: "approve" | "reject" | "provision",
    id: Ref,
    body: DecisionBody,
    options?: WriteOptions,
  ): Promise<AccessRequest> {
    return this.write("POST", this.one(`/${action}`), { path: this.named(id), body }, options, id);
  }
}

// ---- /api/v1/access-model-metadata/attributes ------------------------------------------------

export class MetadataAttributes extends Records<
  MetadataAttribute,
  MetadataAttributeCreate,
  MetadataAttributePatch,
  "MetadataAttribute",
  KeyRef
> {
  constructor(api: Raw) {
    super(api, "/api/v1/access-model-metadata/attributes", "key");
  }
}

// ---- /api/v1/audit-events --------------------------------------------------------------------

export class AuditEvents extends Routes {
  /** The tenant's audit feed, newest first. */
  list(query?: QueryOf<"listAuditEvents">, options?: CallOptions): Paginator<HistoryEvent> {
    return this.pages("/api/v1/audit-events", { query }, options);
  }
}

// ---- /api/v1/access (AuthZEN) ------------------------------------------------------------------

/**
 * Read-only decisions: no idempotency key (AuthZEN routes ignore it), retried like reads.
 * `client.access.evaluate({subject, resource, action})` → `{decision, context}`.
 */
export class Access extends Routes {
  evaluate(body: AccessEvaluationRequest, options?: CallOptions): Promise<AccessDecision> {
    return this.read("POST", "/api/v1/access/evaluation", { body }, options);
  }

  /** A batch: `{"evaluations": [...]}` in request order (or one decision for an empty batch). */
  evaluations(
    body: AccessEvaluationsRequest,
    options?: CallOptions,
  ): Promise<AccessDecisions | AccessDecision> {
    return this.read("POST", "/api/v1/access/evaluations", { body }, options);
  }

  searchSubject(body: SubjectSearchRequest, options?: CallOptions): Promise<SubjectSearchResponse> {
    return this.read("POST", "/api/v1/access/search/subject", { body }, options);
  }

  searchResource(
    body: ResourceSearchRequest,
    options?: CallOptions,
  ): Promise<ResourceSearchResponse> {
    return this.read("POST", "/api/v1/access/search/resource", { body }, options);
  }

  searchAction(body: ActionSearchRequest, options?: CallOptions): Promise<ActionSearchResponse> {
    return this.read("POST", "/api/v1/access/search/action", { body }, options);
  }

  /** The PDP metadata document (no token needed). */
  configuration(options?: CallOptions): Promise<AuthzenConfiguration> {
    return this.read("GET", "/.well-known/authzen-configuration", {}, options);
  }
}
