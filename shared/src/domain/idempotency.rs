//! Idempotency keys (API.md §11), as plain values: the key's syntax, a request's fingerprint,
//! which answers are kept, and the kept answer itself (a snapshot of a response that replays
//! byte for byte). The store keeps them (`store::idempotency`); the edge decides
//! (`crate::idempotency`).

use crate::error::ApiError;
use crate::time::Timestamp;
use lambda_http::{Body, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request header, and the header a replayed answer carries.
pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// How long a key and its answer are kept.
pub const KEPT_FOR_SECS: i64 = 24 * 60 * 60;

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The header's raw value as the key: 1–255 visible ASCII characters (no Structured Field
/// parsing, so `"abc"` and `abc` are two keys). `None`: no header.
pub fn parse_key(raw: Option<&[u8]>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let fits =
        (1..=MAX_KEY_LEN).contains(&raw.len()) && raw.iter().all(|b| (0x21..=0x7e).contains(b));
    if !fits {
        return Err(ApiError::field(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        ));
    }
    Ok(Some(String::from_utf8_lossy(raw).into_owned()))
}

/// What makes two requests the same request: method, path, `If-Match` and the body compared
/// after JSON parsing (member order and number spelling do not matter: RFC 8785 form), as a
/// SHA-256 hex digest. `body` is `None` for an empty body.
pub fn fingerprint(
    method: &str,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Result<String, ApiError> {
    let request = serde_json::json!({
        "method": method,
        "path": path,
        "if_match": if_match,
        "body": body,
    });
    super::history::digest_of(&request)
}

/// Whether an answer with this status is kept for its key (§11): every answer given once the
/// caller was authenticated and the body parsed, except the ones a retry should not inherit
/// (a 413 or 415 says the body never got in; a 5xx, that the store failed).
pub fn keeps(error: Option<&ApiError>, status: u16) -> bool {
    match error {
        // Unparsable JSON, a body that is not an object, an empty body: the body never parsed.
        Some(ApiError::BadRequest(_)) => false,
        Some(ApiError::Unauthorized(_) | ApiError::Forbidden(_)) => false,
        _ => matches!(status, 200..=299 | 400 | 404 | 409 | 412 | 422),
    }
}

/// A kept answer: what a replay sends, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The body's text; empty for a 204.
    #[serde(default)]
    pub body: String,
    /// The `x-request-id` of the request that was processed.
    pub request_id: String,
}

fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Kept {
    /// The snapshot of a response (its status, the headers §11 names, its body).
    pub fn of(resp: &Response<Body>, request_id: &str) -> Kept {
        let body = match resp.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        Kept {
            status: resp.status().as_u16(),
            content_type: header(resp, "content-type"),
            location: header(resp, "location"),
            etag: header(resp, "etag"),
            body,
            request_id: request_id.to_string(),
        }
    }

    /// The response this snapshot was taken of; a replay also says so (`idempotent-replayed`).
    pub fn response(&self, replayed: bool) -> Result<Response<Body>, ApiError> {
        let mut b = Response::builder()
            .status(self.status)
            .header("x-request-id", &self.request_id);
        for (name, value) in [
            ("content-type", &self.content_type),
            ("location", &self.location),
            ("etag", &self.etag),
        ] {
            if let Some(v) = value {
                b = b.header(name, v);
            }
        }
        if replayed {
            b = b.header(REPLAYED, "true");
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Text(self.body.clone())
        };
        b.body(body).map_err(|e| ApiError::Internal(e.to_string()))
    }
}

/// How a route answers a write that succeeded, known before the write is sent so its answer
/// can ride in the write's transaction. The same `http` builders as the handlers' answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// 201 with the record, its `Location` (`<collection>/<id>`) and ETag.
    Created { collection: &'static str },
    /// 200 with the record and its ETag.
    Record,
    /// 204.
    NoContent,
}

impl Success {
    /// The route's answer: a POST to a collection creates, a DELETE of a record (one path
    /// parameter) answers 204, and every other write answers with the record.
    pub fn of_route(method: &str, path: &'static str) -> Success {
        let params = path.matches('{').count();
        match (method, params) {
            ("POST", 0) => Success::Created { collection: path },
            ("DELETE", 1) => Success::NoContent,
            _ => Success::Record,
        }
    }

    /// The answer to a write that leaves `body` (the record as answered) at `revision`.
    pub fn kept<T: Serialize>(
        &self,
        body: &T,
        location_id: &str,
        revision: i64,
        request_id: &str,
    ) -> Result<Kept, ApiError> {
        let resp = match self {
            Success::Created { collection } => {
                crate::http::created(body, &format!("{collection}/{location_id}"), revision)?
            }
            Success::Record => crate::http::ok_record(body, revision)?,
            Success::NoContent => crate::http::no_content()?,
        };
        Ok(Kept::of(&resp, request_id))
    }
}

/// A key as stored: whose request it answered, and until when it counts.
#[derive(Debug, Clone)]
pub struct Stored {
    pub fingerprint: String,
    pub kept: Kept,
    /// Seconds since the epoch (the TTL attribute).
    pub purge_at: i64,
}

impl Stored {
    /// A key past its 24 h is absent, whether or not TTL has deleted it yet (TTL lags).
    pub fn live_at(&self, now: &Timestamp) -> bool {
        self.purge_at > now.unix_millis() / 1000
    }
}

/// When a key kept at `now` stops counting.
pub fn purge_at(now: &Timestamp) -> i64 {
    now.unix_millis() / 1000 + KEPT_FOR_SECS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_syntax() {
        let refused = |bad: &[u8]| match parse_key(Some(bad)) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "Idempotency-Key"),
            other => panic!("{bad:?}: {other:?}"),
        };
        assert_eq!(parse_key(None).unwrap(), None);
        // Every byte on its own: printable ASCII but the space is a key, nothing else is.
        for byte in 0..=u8::MAX {
            if (0x21..=0x7e).contains(&byte) {
                let key = parse_key(Some(&[byte])).unwrap();
                assert_eq!(key.as_deref().map(str::as_bytes), Some(&[byte][..]));
            } else {
                refused(&[byte]);
            }
        }
        assert_eq!(
            parse_key(Some(b"\"quoted\"")).unwrap().as_deref(),
            Some("\"quoted\"")
        );
        assert!(parse_key(Some(&vec![b'k'; MAX_KEY_LEN])).unwrap().is_some());
        for bad in [
            &b""[..],
            b"a b",
            b"tab\t",
            b"\xc3\xa9",
            &vec![b'k'; MAX_KEY_LEN + 1],
        ] {
            refused(bad);
        }
    }

    #[test]
    fn fingerprints_compare_parsed_bodies() {
        let a = fingerprint("POST", "/x", None, Some(&json!({"a": 1, "b": [1.0, "x"]}))).unwrap();
        let b: Value = serde_json::from_str(r#"{ "b": [1, "x"], "a": 1.0 }"#).unwrap();
        assert_eq!(a, fingerprint("POST", "/x", None, Some(&b)).unwrap());
        assert_ne!(a, fingerprint("PATCH", "/x", None, Some(&b)).unwrap());
        assert_ne!(a, fingerprint("POST", "/y", None, Some(&b)).unwrap());
        assert_ne!(
            a,
            fingerprint("POST", "/x", Some("\"1\""), Some(&b)).unwrap()
        );
        assert_ne!(
            a,
            fingerprint("POST", "/x", None, Some(&json!({"a": 2}))).unwrap()
        );
        assert_ne!(
            fingerprint("POST", "/x", None, None).unwrap(),
            fingerprint("POST", "/x", None, Some(&json!({}))).unwrap()
        );
    }

    #[test]
    fn which_answers_are_kept() {
        for status in [200, 201, 204, 400, 404, 409, 412, 422] {
            assert!(keeps(None, status), "{status}");
        }
        for status in [401, 403, 405, 413, 415, 500, 503] {
            assert!(!keeps(None, status), "{status}");
        }
        assert!(keeps(Some(&ApiError::field("name", "is required")), 400));
        assert!(!keeps(
            Some(&ApiError::BadRequest("invalid JSON".into())),
            400
        ));
        assert!(!keeps(Some(&ApiError::Forbidden("no".into())), 403));
    }

    #[test]
    fn a_snapshot_replays_its_response() {
        let resp = Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .header("location", "/api/v1/technology/tech_1")
            .header("etag", "\"1\"")
            .header("x-request-id", "req-1")
            .body(Body::Text("{\"id\":\"tech_1\"}".into()))
            .unwrap();
        let kept = Kept::of(&resp, "req-1");
        let text = serde_json::to_string(&kept).unwrap();
        let back: Kept = serde_json::from_str(&text).unwrap();
        assert_eq!(back, kept);
        let replay = back.response(true).unwrap();
        assert_eq!(replay.status(), 201);
        for name in ["content-type", "location", "etag", "x-request-id"] {
            assert_eq!(replay.headers()[name], resp.headers()[name], "{name}");
        }
        assert_eq!(replay.headers()[REPLAYED], "true");
        assert_eq!(replay.body(), resp.body());
        let empty = Kept::of(
            &Response::builder().status(204).body(Body::Empty).unwrap(),
            "r",
        );
        assert_eq!(empty.response(false).unwrap().body(), &Body::Empty);
        assert!(empty
            .response(false)
            .unwrap()
            .headers()
            .get(REPLAYED)
            .is_none());
    }

    #[test]
    fn routes_answer_by_their_shape() {
        assert_eq!(
            Success::of_route("POST", "/api/v1/technology"),
            Success::Created {
                collection: "/api/v1/technology"
            }
        );
        assert_eq!(
            Success::of_route("PATCH", "/api/v1/technology/{id}"),
            Success::Record
        );
        assert_eq!(
            Success::of_route("DELETE", "/api/v1/technology/{id}"),
            Success::NoContent
        );
        assert_eq!(
            Success::of_route("POST", "/api/v1/entitlements/{id}/revoke"),
            Success::Record
        );
        assert_eq!(
            Success::of_route(
                "DELETE",
                "/api/v1/entitlements/{id}/metadata/{attributeKey}/{attributeValue}"
            ),
            Success::Record
        );
    }

    #[test]
    fn a_key_counts_for_24_hours() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let stored = |purge_at| Stored {
            fingerprint: String::new(),
            kept: Kept::of(&Response::new(Body::Empty), "r"),
            purge_at,
        };
        assert!(stored(purge_at(&now)).live_at(&now.plus_seconds(KEPT_FOR_SECS - 1)));
        assert!(!stored(purge_at(&now)).live_at(&now.plus_seconds(KEPT_FOR_SECS)));
    }
}
