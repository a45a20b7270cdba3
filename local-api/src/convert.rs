//! HTTP request ⇄ the `lambda_http` request/response an API Gateway HTTP API (payload v2) gives a
//! function. Kept free of I/O so it can be tested on its own.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use http_body_util::Full;
use hyper::body::Bytes;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

/// The parts of an incoming HTTP request the conversion needs.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub peer: SocketAddr,
}

/// API Gateway's body: empty, text when it is UTF-8, binary otherwise.
pub fn lambda_body(bytes: Vec<u8>) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Body::Text(text),
        Err(not_utf8) => Body::Binary(not_utf8.into_bytes()),
    }
}

/// The request as API Gateway (HTTP API, `$default` stage, a catch-all route) would pass it on.
pub fn lambda_request(incoming: Incoming, request_id: &str) -> lambda_http::Request {
    let Incoming {
        method,
        uri,
        headers,
        body,
        peer,
    } = incoming;
    let path = uri.path().to_owned();
    let raw_query = uri.query().unwrap_or_default();
    // Infallible: form-urlencoded parsing accepts anything.
    let query: QueryMap = raw_query.parse().unwrap_or_default();

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.request_id = Some(request_id.to_owned());
    context.route_key = Some("$default".to_owned());
    context.stage = Some("$default".to_owned());
    context.apiid = Some("local".to_owned());
    context.account_id = Some("anonymous".to_owned());
    context.domain_name = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .map(|host| host.split(':').next().unwrap_or(host).to_owned());
    context.time_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    context.http.method = method.clone();
    context.http.path = Some(path.clone());
    context.http.protocol = Some("HTTP/1.1".to_owned());
    context.http.source_ip = Some(peer.ip().to_string());
    context.http.user_agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
        .map(str::to_owned);

    let mut request = http::Request::new(lambda_body(body));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
        .with_raw_http_path(path)
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

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

    fn incoming(method: Method, uri: &str, body: &[u8]) -> Incoming {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:3000"));
        headers.insert(USER_AGENT, HeaderValue::from_static("curl/8"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Incoming {
            method,
            uri: uri.parse().unwrap(),
            headers,
            body: body.to_vec(),
            peer: "127.0.0.1:50000".parse().unwrap(),
        }
    }

    #[test]
    fn bodies_are_empty_text_or_binary() {
        assert_eq!(lambda_body(vec![]), Body::Empty);
        assert_eq!(lambda_body(b"{}".to_vec()), Body::Text("{}".into()));
        assert_eq!(
            lambda_body(vec![0xff, 0xfe]),
            Body::Binary(vec![0xff, 0xfe])
        );
    }

    #[test]
    fn request_looks_like_api_gateway_v2() {
        let request = lambda_request(
            incoming(
                Method::POST,
                "/api/v1/technology?limit=5&status=active&tag=a&tag=b&q=web%20server",
                br#"{"name":"x"}"#,
            ),
            "01JD3Q9Z8X4K2M7N5P6R8S0T1V",
        );
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().path(), "/api/v1/technology");
        assert_eq!(request.raw_http_path(), "/api/v1/technology");
        assert_eq!(request.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(request.body(), &Body::Text(r#"{"name":"x"}"#.into()));

        let query = request
            .query_string_parameters_ref()
            .expect("query parameters");
        assert_eq!(query.first("limit"), Some("5"));
        assert_eq!(query.first("status"), Some("active"));
        assert_eq!(query.all("tag"), Some(vec!["a", "b"]));
        assert_eq!(query.first("q"), Some("web server"));

        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("expected an API Gateway v2 request context");
        };
        assert_eq!(
            context.request_id.as_deref(),
            Some("01JD3Q9Z8X4K2M7N5P6R8S0T1V")
        );
        assert_eq!(context.http.method, Method::POST);
        assert_eq!(context.http.path.as_deref(), Some("/api/v1/technology"));
        assert_eq!(context.http.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(context.http.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(context.stage.as_deref(), Some("$default"));
        assert_eq!(context.domain_name.as_deref(), Some("127.0.0.1"));
        assert!(context.time_epoch > 0);
    }

    #[test]
    fn no_query_means_no_parameters() {
        let request = lambda_request(incoming(Method::GET, "/api/v1/technology", b""), "id");
        assert!(request.query_string_parameters_ref().is_none());
        assert_eq!(request.body(), &Body::Empty);
    }

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
