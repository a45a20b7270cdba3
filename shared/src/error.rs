//! `ApiError` and its one mapping to an RFC 9457 problem document.
//!
//! Every failure a handler can meet is one of these variants; `into_response` is the only place
//! that turns an error into a status code and a body. Internal details (DynamoDB messages, keys)
//! are logged, never written into a body.

use crate::domain::access_request::{Event, Refusal, Status};
use crate::domain::error::DomainError;
use crate::vocab::Closed;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// One bad input field, as listed in the problem document's `errors` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input that breaks a field rule; every bad field is named.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// Malformed request that is not about one field (invalid JSON, empty body, bad cursor).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Missing or invalid credentials. The reason is ours (never token contents) and safe to show.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (missing scope, self-approval, include_deleted without write).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Missing, deleted, or of another tenant/app: all look the same.
    #[error("not found")]
    NotFound,
    /// The path exists, the method does not; `allow` lists the path's methods (RFC 9110 `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    /// A rule of the current state refuses the write; `extra` becomes extension members.
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        extra: Map<String, Value>,
    },
    /// `If-Match` did not match the stored revision.
    #[error("precondition failed: current revision {current}")]
    PreconditionFailed { current: i64 },
    #[error("payload too large")]
    PayloadTooLarge,
    /// An `Idempotency-Key` sent before with another request (method, path, `If-Match`, body).
    #[error("idempotency key reused for another request")]
    IdempotencyKeyReused,
    /// Another request holds this `Idempotency-Key` and its answer cannot be read yet; also how
    /// a write learns that its key was taken (the edge then replays the kept answer).
    #[error("idempotency key taken")]
    IdempotencyKeyTaken,
    /// The record a write would store is over the store's item size limit; nothing was written.
    /// The text (for the log) names the store operation.
    #[error("record too large: {0}")]
    RecordTooLarge(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The store is unreachable, throttled or timed out; the client may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected store answer; logged, never described to the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    /// A conflict whose problem document also names the facts behind it (extension members).
    pub fn conflict_with<'a>(
        detail: impl Into<String>,
        members: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            extra: members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) | ApiError::RecordTooLarge(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict { .. } | ApiError::IdempotencyKeyTaken => 409,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::PreconditionFailed { .. } => 412,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// (problem type slug, title)
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Validation(_) => ("validation-error", "Validation failed"),
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge => ("payload-too-large", "Payload too large"),
            ApiError::IdempotencyKeyReused => (
                "idempotency-key-reused",
                "Idempotency key reused for another request",
            ),
            ApiError::IdempotencyKeyTaken => ("idempotency-key-in-use", "Idempotency key in use"),
            ApiError::RecordTooLarge(_) => ("record-too-large", "Record too large"),
            ApiError::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            ApiError::Unavailable(_) => ("service-unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal-error", "Internal server error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            ApiError::BadRequest(d) | ApiError::Unauthorized(d) | ApiError::Forbidden(d) => {
                d.clone()
            }
            ApiError::NotFound => "the resource does not exist".into(),
            ApiError::MethodNotAllowed { .. } => "this method is not supported on this path".into(),
            ApiError::Conflict { detail, .. } => detail.clone(),
            ApiError::PreconditionFailed { current } => {
                format!("If-Match does not match the current revision (\"{current}\")")
            }
            ApiError::PayloadTooLarge => "the request body is larger than 256 KiB".into(),
            ApiError::IdempotencyKeyReused => "this Idempotency-Key was sent before with another \
                method, path, If-Match or body; use a new key for a new request"
                .into(),
            ApiError::IdempotencyKeyTaken => "a request with this Idempotency-Key is still being \
                processed; retry later"
                .into(),
            ApiError::RecordTooLarge(_) => {
                "the record this write would store is too large; nothing was changed".into()
            }
            ApiError::UnsupportedMediaType => {
                "a request body must be sent as content-type application/json".into()
            }
            ApiError::Unavailable(_) => {
                "the data store is temporarily unavailable; retry later".into()
            }
            ApiError::Internal(_) => "an unexpected error occurred".into(),
        }
    }

    /// The problem document for this error. `request_id` is echoed in body and header.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        if status >= 500 {
            tracing::error!(request_id, error = %self, "request failed");
        } else {
            tracing::info!(request_id, status, error = %self, "request rejected");
        }
        let (slug, title) = self.kind();
        let mut body = Map::new();
        body.insert("type".into(), Value::String(format!("/problems/{slug}")));
        body.insert("title".into(), Value::String(title.into()));
        body.insert("status".into(), Value::from(status));
        body.insert("detail".into(), Value::String(self.detail()));
        body.insert("request_id".into(), Value::String(request_id.into()));
        match &self {
            ApiError::Validation(errors) => {
                body.insert(
                    "errors".into(),
                    serde_json::to_value(errors).unwrap_or(Value::Null),
                );
            }
            ApiError::Conflict { extra, .. } => {
                for (k, v) in extra {
                    body.insert(k.clone(), v.clone());
                }
            }
            _ => {}
        }
        let mut builder = Response::builder()
            .status(status)
            .header("content-type", "application/problem+json")
            .header("x-request-id", request_id);
        match self {
            ApiError::Unavailable(_) => builder = builder.header("retry-after", "1"),
            ApiError::Unauthorized(_) => {
                builder = builder.header("www-authenticate", "Bearer");
            }
            ApiError::MethodNotAllowed { allow } => {
                builder = builder.header("allow", allow.join(", "));
            }
            _ => {}
        }
        let text = Value::Object(body).to_string();
        builder
            .body(Body::Text(text))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Each refusal of the domain as the client sees it.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        use DomainError as D;
        let detail = e.to_string();
        match e {
            D::AssetNameTaken(name) => {
                ApiError::conflict_with(detail, [("name", Value::String(name))])
            }
            D::AttributeKeyTaken(key) => {
                ApiError::conflict_with(detail, [("key", Value::String(key))])
            }
            D::LiveGrantTaken {
                asset_id,
                principal_id,
                entitlement_type,
                ..
            } => ApiError::conflict_with(
                detail,
                [
                    ("asset_id", Value::String(asset_id)),
                    ("principal_id", Value::String(principal_id)),
                    ("entitlement_type", Value::String(entitlement_type)),
                ],
            ),
            D::UnknownAsset => ApiError::field("asset_id", "is not an asset of this tenant"),
            D::NoAssetNamed => ApiError::Validation(vec![
                FieldError::new("system_id", "names no asset of this tenant"),
                FieldError::new("asset_id", "is not an asset of this tenant"),
            ]),
            D::SystemIdNamesOtherAsset { asset_id, name } => ApiError::field(
                "system_id",
                format!("names another asset than asset_id {asset_id} (whose name is '{name}')"),
            ),
            D::CriticalNeedsExpiry => ApiError::field(
                "expires_at",
                "is required: the asset is critical, so access to it must expire",
            ),
            D::NotAnActiveEntitlement => ApiError::field(
                "entitlement_id",
                "is not an active entitlement of this tenant on the requested asset",
            ),
            D::PrivilegedCannotClear => ApiError::field(
                "expires_at",
                "cannot be cleared: the entitlement is privileged",
            ),
            D::EntitlementGone | D::PrivilegedKeepsExpiry | D::Contended(_) => {
                ApiError::conflict(detail)
            }
            D::NotTheOwner => ApiError::Forbidden(detail),
            D::AlreadyApproved(approver) => {
                ApiError::conflict_with(detail, [("approver_id", Value::String(approver))])
            }
            D::Transition(r) => transition_refused(r),
        }
    }
}

fn transition_refused(r: Refusal) -> ApiError {
    let from = r.from.as_str();
    let to = match r.event {
        Event::Approve => Status::Approved,
        Event::Reject => Status::Rejected,
        Event::Provision => Status::Provisioned,
        Event::Complete => Status::Completed,
        Event::Edit | Event::Delete => {
            let verb = if r.event == Event::Edit {
                "edited"
            } else {
                "deleted"
            };
            return ApiError::conflict(format!(
                "the request is {from}; only pending requests can be {verb}"
            ));
        }
    };
    ApiError::conflict_with(
        format!("the request is {from}; it cannot become {to}"),
        [("current_status", Value::String(from.into()))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(resp: &Response<Body>) -> Value {
        match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => panic!("expected text body"),
        }
    }

    #[test]
    fn validation_lists_every_field() {
        let err = ApiError::Validation(vec![
            FieldError::new("name", "is required"),
            FieldError::new("url", "must be http or https"),
        ]);
        let resp = err.into_response("req-1");
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body = body_json(&resp);
        assert_eq!(body["type"], "/problems/validation-error");
        assert_eq!(body["request_id"], "req-1");
        assert_eq!(body["errors"][0]["field"], "name");
        assert_eq!(body["errors"][1]["field"], "url");
    }

    #[test]
    fn internal_errors_say_nothing() {
        let resp = ApiError::Internal("ddb said: table T#x#AST broke".into()).into_response("r");
        assert_eq!(resp.status(), 500);
        let text = body_json(&resp).to_string();
        assert!(!text.contains("T#x"));
        assert!(!text.contains("ddb"));
    }

    #[test]
    fn unavailable_has_retry_after() {
        let resp = ApiError::Unavailable("throttled".into()).into_response("r");
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert!(!body_json(&resp).to_string().contains("throttled"));
    }

    #[test]
    fn record_too_large_is_a_400_that_names_no_store_operation() {
        let resp =
            ApiError::RecordTooLarge("PutItem: ValidationException".into()).into_response("r");
        assert_eq!(resp.status(), 400);
        let body = body_json(&resp);
        assert_eq!(body["type"], "/problems/record-too-large");
        assert_eq!(body["title"], "Record too large");
        assert!(!body.to_string().contains("PutItem"));
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let resp = ApiError::MethodNotAllowed {
            allow: vec!["GET".into(), "POST".into()],
        }
        .into_response("r");
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET, POST");
    }

    #[test]
    fn conflict_extra_members_are_top_level() {
        let mut extra = Map::new();
        extra.insert("live_entitlements".into(), Value::from(3));
        let resp = ApiError::Conflict {
            detail: "asset has 3 live entitlements".into(),
            extra,
        }
        .into_response("r");
        let body = body_json(&resp);
        assert_eq!(body["status"], 409);
        assert_eq!(body["live_entitlements"], 3);
    }
}
