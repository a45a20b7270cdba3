// The transport under openapi-fetch: the token on every attempt, a timeout per attempt, and
// retries on 503 (honouring Retry-After) and on timeouts / network errors — for a write only when
// it carries an Idempotency-Key, since a write that timed out may have happened.

import { ApiTimeout } from "./errors.js";

/** A bearer token, or something that gives one (called before every attempt: rotate freely). */
export type TokenSource = string | (() => string | Promise<string>);

export interface TransportOptions {
  token?: TokenSource;
  /** Per attempt, in milliseconds (default 30 000). */
  timeoutMs: number;
  /** Extra attempts after the first (default 2). */
  retries: number;
  /** A Retry-After longer than this is not waited for: the 503 is returned (default 30 000). */
  maxRetryDelayMs: number;
  fetch: (input: Request) => Promise<Response>;
  sleep?: (ms: number) => Promise<void>;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP-date); undefined when absent. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function transport(options: TransportOptions): (request: Request) => Promise<Response> {
  const sleep = options.sleep ?? defaultSleep;
  return async (request: Request): Promise<Response> => {
    const retryable = SAFE.has(request.method) || request.headers.has("idempotency-key");
    const attempts = retryable ? options.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts;
      const copy = request.clone();
      const token = await resolveToken(options.token);
      if (token !== undefined && !copy.headers.has("authorization")) {
        copy.headers.set("authorization", `Bearer ${token}`);
      }
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      const abortFromCaller = () => controller.abort();
      request.signal?.addEventListener("abort", abortFromCaller, { once: true });
      let response: Response;
      try {
        response = await options.fetch(new Request(copy, { signal: controller.signal }));
      } catch (error) {
        if (request.signal?.aborted) throw error;
        if (last) {
          if (timedOut) throw new ApiTimeout(request.method, request.url, options.timeoutMs, attempt);
          throw error;
        }
        await sleep(backoff(attempt));
        continue;
      } finally {
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", abortFromCaller);
      }
      if (response.status !== 503 || last) return response;
      const wait = retryAfterMs(response.headers.get("retry-after")) ?? backoff(attempt);
      if (wait > options.maxRetryDelayMs) return response;
      await response.body?.cancel();
      await sleep(wait);
    }
  };
}

async function resolveToken(token: TokenSource | undefined): Promise<string | undefined> {
  if (token === undefined) return undefined;
  return typeof token === "string" ? token : await token();
}

function backoff(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 4000);
}
