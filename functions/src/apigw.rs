//! The request API Gateway (HTTP API, payload v2, `$default` stage) hands a function, built from
//! a plain HTTP request: `local-api` and the end-to-end tests both build theirs here, so the
//! handlers see what they see on AWS. Query parameters are parsed from the raw query string as
//! `lambda_http` parses a v2 event's (form-urlencoded: repeated keys kept, percent- and
//! `+`-decoded; API Gateway's own comma-joined `queryStringParameters` are ignored). Path
//! parameters are set by `routes::dispatch`, as API Gateway sets them from its route.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HOST, USER_AGENT};
use http::{HeaderMap, Method, Uri, Version};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

/// The parts of an HTTP request the conversion needs.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The client's address (`requestContext.http.sourceIp`).
    pub peer: IpAddr,
}

/// API Gateway's body: empty, text when it is UTF-8, binary otherwise.
pub fn body(bytes: Vec<u8>) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Body::Text(text),
        Err(not_utf8) => Body::Binary(not_utf8.into_bytes()),
    }
}

/// The request as API Gateway would pass it on, with `request_id` as its request id.
pub fn request(incoming: Incoming, request_id: &str) -> Request {
    let Incoming {
        method,
        uri,
        headers,
        body: bytes,
        peer,
    } = incoming;
    let path = uri.path().to_owned();
    // Infallible: form-urlencoded parsing accepts anything.
    let query: QueryMap = uri.query().unwrap_or_default().parse().unwrap_or_default();

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
    context.http.source_ip = Some(peer.to_string());
    context.http.user_agent = headers
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
        .map(str::to_owned);

    let mut request = http::Request::new(body(bytes));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    request
        .with_raw_http_path(path)
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderValue, CONTENT_TYPE};
    use std::collections::BTreeMap;

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
            peer: "127.0.0.1".parse().unwrap(),
        }
    }

    #[test]
    fn bodies_are_empty_text_or_binary() {
        assert_eq!(body(vec![]), Body::Empty);
        assert_eq!(body(b"{}".to_vec()), Body::Text("{}".into()));
        assert_eq!(body(vec![0xff, 0xfe]), Body::Binary(vec![0xff, 0xfe]));
    }

    #[test]
    fn request_looks_like_api_gateway_v2() {
        let request = request(
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
        let request = request(incoming(Method::GET, "/api/v1/technology", b""), "id");
        assert!(request.query_string_parameters_ref().is_none());
        assert_eq!(request.body(), &Body::Empty);
    }

    /// What a handler reads of a request: everything but the transport.
    #[derive(Debug, PartialEq)]
    struct View {
        method: Method,
        path: String,
        query: BTreeMap<String, Vec<String>>,
        path_params: BTreeMap<String, Vec<String>>,
        headers: HeaderMap,
        body: Body,
        request_id: Option<String>,
        context_method: Method,
        context_path: Option<String>,
        stage: Option<String>,
        source_ip: Option<String>,
        user_agent: Option<String>,
    }

    fn params(map: Option<&QueryMap>) -> BTreeMap<String, Vec<String>> {
        map.map(|m| {
            m.iter()
                .map(|(k, _)| (k.to_owned(), m.all(k).unwrap_or_default()))
                .map(|(k, v)| (k, v.into_iter().map(str::to_owned).collect()))
                .collect()
        })
        .unwrap_or_default()
    }

    fn view(req: &Request) -> View {
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            panic!("expected an API Gateway v2 request context");
        };
        View {
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            query: params(req.query_string_parameters_ref()),
            path_params: params(req.path_parameters_ref()),
            headers: req.headers().clone(),
            body: req.body().clone(),
            request_id: ctx.request_id.clone(),
            context_method: ctx.http.method.clone(),
            context_path: ctx.http.path.clone(),
            stage: ctx.stage.clone(),
            source_ip: ctx.http.source_ip.clone(),
            user_agent: ctx.http.user_agent.clone(),
        }
    }

    /// The same request as API Gateway delivers it (a v2 event, converted by `lambda_http`
    /// exactly as on Lambda) and as built here: the handlers see the same thing. API Gateway
    /// joins repeated keys with commas in `queryStringParameters`; `lambda_http` reads
    /// `rawQueryString` instead, and so does this builder.
    #[test]
    fn the_handlers_see_what_lambda_http_makes_of_a_v2_event() {
        let raw_query = "limit=5&tag=a&tag=b&q=web%20server+x&name=caf%C3%A9&empty=";
        let path = "/api/v1/access-model-metadata/attributes/region";
        let body = r#"{"name":"Région"}"#;
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "PATCH /api/v1/access-model-metadata/attributes/{key}",
            "rawPath": path,
            "rawQueryString": raw_query,
            "headers": {
                "authorization": "Bearer abc",
                "content-type": "application/merge-patch+json",
                "if-match": "\"3\"",
                "host": "127.0.0.1",
                "user-agent": "curl/8",
            },
            "queryStringParameters": {
                "limit": "5", "tag": "a,b", "q": "web server x", "name": "café", "empty": ""
            },
            "pathParameters": {"key": "region"},
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "local",
                "domainName": "127.0.0.1",
                "http": {
                    "method": "PATCH",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "curl/8",
                },
                "requestId": "req-1",
                "routeKey": "PATCH /api/v1/access-model-metadata/attributes/{key}",
                "stage": "$default",
                "time": "02/Dec/2026:00:00:00 +0000",
                "timeEpoch": 1_796_169_600_000_i64,
            },
            "body": body,
            "isBase64Encoded": false,
        });
        let from_lambda = lambda_http::request::from_str(&event.to_string()).unwrap();

        let mut headers = HeaderMap::new();
        for (name, value) in event["headers"].as_object().unwrap() {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.insert(name, value.as_str().unwrap().parse().unwrap());
        }
        let built = request(
            Incoming {
                method: Method::PATCH,
                uri: format!("{path}?{raw_query}").parse().unwrap(),
                headers,
                body: body.as_bytes().to_vec(),
                peer: "127.0.0.1".parse().unwrap(),
            },
            "req-1",
        );
        let template = "/api/v1/access-model-metadata/attributes/{key}";
        let built = built.with_path_parameters(crate::routes::matches(template, path).unwrap());

        assert_eq!(view(&built), view(&from_lambda));
        assert_eq!(view(&built).query["tag"], ["a", "b"]);
        assert_eq!(view(&built).query["q"], ["web server x"]);
    }
}
