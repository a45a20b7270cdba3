//! A handler's `lambda_http` response as the bytes on the wire, and the problem documents
//! local-api answers itself. Requests are built by `functions::apigw`, as the tests build theirs.

use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;
use http_body_util::Full;
use hyper::body::Bytes;
use lambda_http::Body;

/// The handler's response as bytes on the wire.
pub fn hyper_response(response: lambda_http::Response<Body>) -> http::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(binary) => Bytes::from(binary),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    http::Response::from_parts(parts, Full::new(bytes))
}

/// A problem document for what local-api itself answers (the handlers answer everything else).
pub fn problem(status: StatusCode, detail: &str, request_id: &str) -> http::Response<Full<Bytes>> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "request_id": request_id,
    });
    let mut response = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn responses_keep_status_headers_and_body() {
        for (body, expected) in [
            (Body::Empty, Bytes::new()),
            (
                Body::Text("{\"a\":1}".into()),
                Bytes::from_static(b"{\"a\":1}"),
            ),
            (Body::Binary(vec![0, 1, 2]), Bytes::from_static(&[0, 1, 2])),
        ] {
            let response = http::Response::builder()
                .status(StatusCode::CREATED)
                .header("location", "/api/v1/technology/ast_1")
                .body(body)
                .unwrap();
            let converted = hyper_response(response);
            assert_eq!(converted.status(), StatusCode::CREATED);
            assert_eq!(converted.headers()["location"], "/api/v1/technology/ast_1");
            let bytes = converted.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(bytes, expected);
        }
    }

    #[tokio::test]
    async fn problems_carry_the_request_id() {
        let response = problem(StatusCode::BAD_REQUEST, "bad body", "req-1");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-request-id"], "req-1");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["status"], 400);
        assert_eq!(json["request_id"], "req-1");
    }
}
