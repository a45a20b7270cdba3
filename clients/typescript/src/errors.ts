import type { components } from "./schema.js";

/** The RFC 9457 problem document every error of the API carries (openapi.yaml `Problem`). */
export type Problem = components["schemas"]["Problem"];
export type FieldError = components["schemas"]["FieldError"];

/**
 * Thrown for every non-2xx answer: `status`, the problem document (`problem`), and the response's
 * headers. `problem` is the parsed body when it is one; otherwise a minimal document built from
 * the status (e.g. a proxy's HTML error page).
 */
export class ApiProblem extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly headers: Headers;

  constructor(status: number, problem: Problem, headers: Headers) {
    super(`${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ""}`);
    this.name = "ApiProblem";
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }

  /** The problem type, e.g. `/problems/validation-error`. */
  get type(): string {
    return this.problem.type;
  }
  get title(): string {
    return this.problem.title;
  }
  get detail(): string {
    return this.problem.detail;
  }
  /** The `x-request-id` of the answer (also in the logs). */
  get requestId(): string {
    return this.problem.request_id ?? this.headers.get("x-request-id") ?? "";
  }
  /** On a validation error, every bad field. */
  get errors(): FieldError[] {
    return this.problem.errors ?? [];
  }
  /** Seconds to wait, from `Retry-After` (on 503). */
  get retryAfter(): number | undefined {
    const value = this.headers.get("retry-after");
    return value !== null && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
  }

  static async from(response: Response, body: unknown): Promise<ApiProblem> {
    const problem = isProblem(body)
      ? body
      : ({
          type: "about:blank",
          title: response.statusText || `HTTP ${response.status}`,
          status: response.status,
          detail: typeof body === "string" ? body.slice(0, 500) : "",
          request_id: response.headers.get("x-request-id") ?? "",
        } as unknown as Problem);
    return new ApiProblem(response.status, problem, response.headers);
  }
}

/** Thrown when the last attempt of a call did not answer within the timeout. */
export class ApiTimeout extends Error {
  readonly method: string;
  readonly url: string;
  readonly timeoutMs: number;
  readonly attempts: number;

  constructor(method: string, url: string, timeoutMs: number, attempts: number) {
    super(`${method} ${url}: no answer within ${timeoutMs} ms (${attempts} attempt(s))`);
    this.name = "ApiTimeout";
    this.method = method;
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { status?: unknown }).status === "number" &&
    typeof (body as { title?: unknown }).title === "string"
  );
}
