//! The HTTP edge: request ids, bodies (content type, size, JSON), query and path parameters,
//! ETag / If-Match, and success responses. Error responses come from `error.rs`.

use crate::error::{ApiError, ApiResult, FieldError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The request id `serve` settled on, kept with the request so every later reader (the
/// caller's history events) names the same one as the response and the logs.
#[derive(Debug, Clone)]
struct RequestId(String);

/// The Lambda request id when running on Lambda, else API Gateway's, else a fresh ULID (made
/// once per request by `serve`).
pub fn request_id(req: &Request) -> String {
    if let Some(RequestId(id)) = req.extensions().get::<RequestId>() {
        return id.clone();
    }
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty()) {
            return id.to_string();
        }
    }
    ulid::Ulid::generate().to_string()
}

/// Whose request id a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestIds {
    /// Ours (the Lambda's, API Gateway's, or a fresh ULID), whatever the client sent (§1).
    Own,
    /// A client's valid `X-Request-ID` when it sent one, as AuthZEN requires of a PDP (API.md
    /// §9); ours otherwise. The log line carries both.
    EchoClient,
}

/// A client's `X-Request-ID` fit to echo: 1–128 visible ASCII characters; anything else is
/// ignored (never an error: the id is the client's correlation aid, not input).
pub fn client_request_id(req: &Request) -> Option<String> {
    let value = req.headers().get("x-request-id")?.as_bytes();
    let fits = (1..=128).contains(&value.len()) && value.iter().all(|b| (0x21..=0x7e).contains(b));
    fits.then(|| String::from_utf8_lossy(value).into_owned())
}

/// Runs one handler: its request context on every line it logs (`logging::in_request`), the
/// error mapping, the `x-request-id` header on every response, and the request's one log line,
/// which carries its metrics (`metrics.rs`).
pub async fn serve<F, Fut>(function: &'static str, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = ApiResult<Response<Body>>>,
{
    serve_with(function, RequestIds::Own, req, handler).await
}

/// `serve`, answering with the request id `ids` picks.
pub async fn serve_with<F, Fut>(
    function: &'static str,
    ids: RequestIds,
    mut req: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = ApiResult<Response<Body>>>,
{
    let started = std::time::Instant::now();
    let own_id = request_id(&req);
    let client_id = match ids {
        RequestIds::Own => None,
        RequestIds::EchoClient => client_request_id(&req),
    };
    let request_id = client_id.clone().unwrap_or_else(|| own_id.clone());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let context = Arc::new(crate::logging::RequestContext {
        function,
        request_id,
        own_request_id: client_id.map(|_| own_id),
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
    });
    let request_id = context.request_id.as_str();
    // Boxed: a handler's future is large in a debug build, and each wrapper would move it
    // across the stack again. An error becomes its answer inside the request, so the line it
    // logs names the request.
    let work = Box::pin(async move {
        match handler(req).await {
            Ok(resp) => resp,
            Err(err) => err.into_response(request_id),
        }
    });
    let work = crate::store::counter::as_function(function, work);
    let (mut resp, measured) =
        crate::logging::in_request(context.clone(), crate::metrics::measure(work)).await;
    // A replayed answer (API.md §11) already names the request that was processed.
    if !resp.headers().contains_key("x-request-id") {
        if let Ok(v) = http::HeaderValue::from_str(request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
    }
    if crate::metrics::enabled() {
        let line = crate::metrics::request_line(&crate::metrics::RequestLine {
            request: &context,
            tenant: measured.tenant.as_deref(),
            status: resp.status().as_u16(),
            latency: started.elapsed(),
            usage: measured.usage,
            at: crate::time::Timestamp::now(),
        });
        crate::metrics::log_line(&line);
    }
    resp
}

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b.as_slice(),
        _ => &[],
    }
}

fn check_content_type(req: &Request, merge_patch_ok: bool) -> ApiResult<()> {
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (merge_patch_ok && essence == "application/merge-patch+json")
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

fn parse_object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("invalid JSON: {e}"))),
    }
}

/// The JSON object body of a create or PATCH (required: an empty body is 400).
pub fn json_object(req: &Request, merge_patch_ok: bool) -> ApiResult<Map<String, Value>> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("a JSON body is required".into()));
    }
    check_content_type(req, merge_patch_ok)?;
    parse_object(bytes)
}

/// The optional JSON object body of an action route (`/revoke`, `/approve`, …).
pub fn optional_json_object(req: &Request) -> ApiResult<Map<String, Value>> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    check_content_type(req, false)?;
    parse_object(bytes)
}

/// The record a write names (its path parameter) and the revision its `If-Match` expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    /// `None`: no `If-Match` (or `*`), any revision.
    pub expected: Option<i64>,
}

impl Target {
    /// `If-Match` against the revision read: a mismatch is 412.
    pub fn check(&self, current: i64) -> ApiResult<()> {
        match self.expected {
            Some(rev) if rev != current => Err(ApiError::PreconditionFailed { current }),
            _ => Ok(()),
        }
    }

    /// `If-Match` after a write's plan was checked: a body that is invalid at any revision is a
    /// 400 before a stale revision is a 412 (validation is decided before state); any other
    /// outcome of the plan (a 409, or the change) comes after the precondition.
    pub fn check_after<T>(&self, planned: ApiResult<T>, current: i64) -> ApiResult<T> {
        match planned {
            Err(e @ (ApiError::Validation(_) | ApiError::BadRequest(_))) => Err(e),
            planned => {
                self.check(current)?;
                planned
            }
        }
    }
}

/// The record named by path parameter `param`, at the revision of `If-Match`.
pub fn target(req: &Request, param: &str) -> ApiResult<Target> {
    Ok(Target {
        id: path_param(req, param)?,
        expected: if_match(req)?,
    })
}

/// What a PATCH of one record reads, in the order its errors are reported.
pub struct Patch {
    pub target: Target,
    /// The merge-patch document.
    pub body: Map<String, Value>,
}

/// The PATCH of the record named by path parameter `param`.
pub fn patch(req: &Request, param: &str) -> ApiResult<Patch> {
    let id = path_param(req, param)?;
    let body = json_object(req, true)?;
    Ok(Patch {
        target: Target {
            id,
            expected: if_match(req)?,
        },
        body,
    })
}

/// A path parameter set by API Gateway (or the local router).
pub fn path_param(req: &Request, name: &str) -> ApiResult<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_string)
        .ok_or(ApiError::NotFound)
}

/// Query parameters, each allowed once; unknown names are a 400 so a typo never widens a list.
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(req: &Request, allowed: &[&str]) -> ApiResult<Query> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        if let Some(params) = req.query_string_parameters_ref() {
            let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
            names.sort();
            names.dedup();
            for name in names {
                let values = params.all(name).unwrap_or_default();
                if !allowed.contains(&name) {
                    errors.push(FieldError::new(name, "unknown query parameter"));
                } else if values.len() > 1 {
                    errors.push(FieldError::new(name, "may be given only once"));
                } else if let Some(v) = values.first() {
                    out.insert(name.to_string(), v.to_string());
                }
            }
        }
        if errors.is_empty() {
            Ok(Query(out))
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `true`/`false`, absent = false.
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::field(name, "must be true or false")),
        }
    }
}

/// `If-Match` values [`if_match`] refuses with a 400: one list for its unit test and the
/// end-to-end tests, so both hold the parser to the same cases. Revision 1 is what a new record
/// has: a lenient parser would turn these into a matching precondition, not a 412.
pub const MALFORMED_IF_MATCH: &[&[u8]] = &[
    b"",
    b" ",
    b"garbage",
    b"\"abc\"",
    b"\"1",
    b"1\"",
    b"\"\"",
    b"W/1",
    b"W/",
    b"-1",
    b"+1",
    b"\"1\", \"2\"",
    b"**",
    b"\xff",
];

/// `If-Match` as the revision a write expects: `"3"`, `W/"3"` or bare `3`; `*` or no header means
/// any. Anything else (also an empty header) is a 400 naming `If-Match`: a precondition the
/// client meant to set must never silently turn into none. A well-formed tag that cannot be a
/// revision (`"0"`, more digits than fit) is kept as revision 0, which never matches (412).
pub fn if_match(req: &Request) -> ApiResult<Option<i64>> {
    let Some(raw) = req.headers().get(http::header::IF_MATCH) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::field(
            "If-Match",
            "must be \"<revision>\", W/\"<revision>\", bare digits or *",
        )
    };
    let text = raw.to_str().map_err(|_| invalid())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let digits = match text.strip_prefix("W/").unwrap_or(text).strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').ok_or_else(invalid)?,
        None if text.starts_with("W/") => return Err(invalid()),
        None => text,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    Ok(Some(digits.parse::<i64>().unwrap_or(0)))
}

fn json_response(status: u16) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
}

fn with_body<T: Serialize>(
    builder: http::response::Builder,
    value: &T,
) -> ApiResult<Response<Body>> {
    let text = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    builder
        .body(Body::Text(text))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

/// 200 with a record and its ETag.
pub fn ok_record<T: Serialize>(record: &T, revision: i64) -> ApiResult<Response<Body>> {
    let b = json_response(200).header("etag", etag(revision));
    with_body(b, record)
}

/// 201 with a record, its `Location` and ETag.
pub fn created<T: Serialize>(
    record: &T,
    location: &str,
    revision: i64,
) -> ApiResult<Response<Body>> {
    let b = json_response(201)
        .header("location", location)
        .header("etag", etag(revision));
    with_body(b, record)
}

/// 200 with any JSON document (lists).
pub fn ok_json<T: Serialize>(value: &T) -> ApiResult<Response<Body>> {
    let b = json_response(200);
    with_body(b, value)
}

/// A page of a list route: `{"items": [...], "next_cursor": "…" | null}`, serialized straight
/// from the records (never through a `serde_json::Value` of the whole page).
pub fn ok_page<T: Serialize>(items: &[T], next_cursor: Option<&str>) -> ApiResult<Response<Body>> {
    #[derive(Serialize)]
    struct Page<'a, T> {
        items: &'a [T],
        next_cursor: Option<&'a str>,
    }
    ok_json(&Page { items, next_cursor })
}

pub fn no_content() -> ApiResult<Response<Body>> {
    Response::builder()
        .status(204)
        .body(Body::Empty)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ct: Option<&str>, body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Text(body.into())
        };
        b.body(body).unwrap()
    }

    #[test]
    fn content_type_rules() {
        assert!(json_object(&req(Some("application/json"), "{}"), false).is_ok());
        assert!(json_object(&req(Some("application/json; charset=utf-8"), "{}"), false).is_ok());
        assert!(matches!(
            json_object(&req(Some("text/plain"), "{}"), false),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            json_object(&req(None, "{}"), false),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            json_object(&req(Some("application/merge-patch+json"), "{}"), false),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(json_object(&req(Some("application/merge-patch+json"), "{}"), true).is_ok());
    }

    #[test]
    fn empty_body_rules() {
        assert!(matches!(
            json_object(&req(Some("application/json"), ""), false),
            Err(ApiError::BadRequest(_))
        ));
        assert!(optional_json_object(&req(None, "")).unwrap().is_empty());
    }

    #[test]
    fn oversize_and_invalid_bodies() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            json_object(&req(Some("application/json"), &big), false),
            Err(ApiError::PayloadTooLarge)
        ));
        assert!(matches!(
            json_object(&req(Some("application/json"), "{"), false),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            json_object(&req(Some("application/json"), "[]"), false),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn if_match_forms() {
        let mk = |v: &str| {
            http::Request::builder()
                .header("if-match", v)
                .body(Body::Empty)
                .unwrap()
        };
        assert_eq!(if_match(&mk("\"3\"")).unwrap(), Some(3));
        assert_eq!(if_match(&mk("3")).unwrap(), Some(3));
        assert_eq!(if_match(&mk("W/\"3\"")).unwrap(), Some(3));
        assert_eq!(if_match(&mk("*")).unwrap(), None);
        // Well-formed but never a revision: a precondition that fails (412), not a 400.
        assert_eq!(if_match(&mk("\"0\"")).unwrap(), Some(0));
        assert_eq!(if_match(&mk("99999999999999999999")).unwrap(), Some(0));
        let none = http::Request::builder().body(Body::Empty).unwrap();
        assert_eq!(if_match(&none).unwrap(), None);
    }

    #[test]
    fn malformed_if_match_is_a_400_naming_it() {
        let mk = |v: &[u8]| {
            http::Request::builder()
                .header("if-match", http::HeaderValue::from_bytes(v).unwrap())
                .body(Body::Empty)
                .unwrap()
        };
        for bad in MALFORMED_IF_MATCH {
            match if_match(&mk(bad)) {
                Err(ApiError::Validation(errors)) => {
                    assert_eq!(errors.len(), 1, "{bad:?}");
                    assert_eq!(errors[0].field, "If-Match", "{bad:?}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
