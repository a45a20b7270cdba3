//! The route table: method, path template, function (binary) name and handler. API Gateway
//! routes each path to its own function in production; `dispatch` does the same for the local
//! server and the end-to-end tests.

use crate::{access_requests, entitlements, metadata_attributes, technology};
use http::Method;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::error::ApiError;
use shared::state::State;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
pub type Handler = for<'a> fn(&'a State, Request) -> HandlerFuture<'a>;

pub struct Route {
    pub method: Method,
    /// API Gateway style template, e.g. `/api/v1/technology/{id}`.
    pub path: &'static str,
    pub function: &'static str,
    pub handler: Handler,
}

/// Boxes an `async fn(&State, Request) -> Response<Body>` into a route handler.
macro_rules! handler {
    ($f:path) => {{
        fn h(state: &State, req: Request) -> HandlerFuture<'_> {
            Box::pin($f(state, req))
        }
        h as Handler
    }};
}

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/technology",
            function: "technology-list",
            handler: handler!(technology::list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/technology",
            function: "technology-create",
            handler: handler!(technology::create),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/technology/{id}",
            function: "technology-get",
            handler: handler!(technology::get),
        },
        Route {
            method: Method::PATCH,
            path: "/api/v1/technology/{id}",
            function: "technology-update",
            handler: handler!(technology::update),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/technology/{id}",
            function: "technology-delete",
            handler: handler!(technology::delete),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/entitlements",
            function: "entitlements-list",
            handler: handler!(entitlements::list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/entitlements",
            function: "entitlements-create",
            handler: handler!(entitlements::create),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/entitlements/{id}",
            function: "entitlements-get",
            handler: handler!(entitlements::get),
        },
        Route {
            method: Method::PATCH,
            path: "/api/v1/entitlements/{id}",
            function: "entitlements-update",
            handler: handler!(entitlements::update),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/entitlements/{id}/revoke",
            function: "entitlements-revoke",
            handler: handler!(entitlements::revoke),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}",
            function: "entitlements-metadata-add",
            handler: handler!(entitlements::metadata_add),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/entitlements/{id}/access-model-metadata/{attributeKey}/values/{attributeValue}",
            function: "entitlements-metadata-remove",
            handler: handler!(entitlements::metadata_remove),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/operations/access-requests",
            function: "access-requests-list",
            handler: handler!(access_requests::list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/operations/access-requests",
            function: "access-requests-create",
            handler: handler!(access_requests::create),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/operations/access-requests/{id}",
            function: "access-requests-get",
            handler: handler!(access_requests::get),
        },
        Route {
            method: Method::PATCH,
            path: "/api/v1/operations/access-requests/{id}",
            function: "access-requests-update",
            handler: handler!(access_requests::update),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/operations/access-requests/{id}",
            function: "access-requests-delete",
            handler: handler!(access_requests::delete),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/operations/access-requests/{id}/approve",
            function: "access-requests-approve",
            handler: handler!(access_requests::approve),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/operations/access-requests/{id}/reject",
            function: "access-requests-reject",
            handler: handler!(access_requests::reject),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/operations/access-requests/{id}/provision",
            function: "access-requests-provision",
            handler: handler!(access_requests::provision),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/access-model-metadata/attributes",
            function: "metadata-attributes-list",
            handler: handler!(metadata_attributes::list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/access-model-metadata/attributes",
            function: "metadata-attributes-create",
            handler: handler!(metadata_attributes::create),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/access-model-metadata/attributes/{key}",
            function: "metadata-attributes-get",
            handler: handler!(metadata_attributes::get),
        },
        Route {
            method: Method::PATCH,
            path: "/api/v1/access-model-metadata/attributes/{key}",
            function: "metadata-attributes-update",
            handler: handler!(metadata_attributes::update),
        },
    ]
}

pub fn by_function(function: &str) -> Option<Route> {
    routes().into_iter().find(|r| r.function == function)
}

/// Path parameters when `path` fits `template` (`{name}` matches one non-empty segment).
fn matches(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.insert(name.to_string(), ps.to_string());
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The request API Gateway (HTTP API, payload v2) would hand a function: query parameters parsed
/// into the request's extensions and a request context with a fresh request id. The local server
/// and the end-to-end tests both build requests here.
pub fn apigw_request(
    method: Method,
    uri: &str,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> Result<Request, http::Error> {
    let uri: http::Uri = uri.parse()?;
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url_pairs(uri.query().unwrap_or("")) {
        query.entry(k).or_default().push(v);
    }
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some(ulid::Ulid::generate().to_string());
    ctx.http.method = method.clone();
    ctx.http.path = Some(uri.path().to_string());
    ctx.stage = Some("$default".into());
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    Ok(builder
        .body(body)?
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(ctx)))
}

/// `application/x-www-form-urlencoded` pairs, as API Gateway decodes a raw query string.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Routes a request as API Gateway would: path parameters set, then the function's handler. A
/// known path with another method is a 405 whose `Allow` lists the path's methods.
pub async fn dispatch(state: &State, req: Request) -> Response<Body> {
    let path = req.uri().path().to_string();
    let mut allow = Vec::new();
    for route in routes() {
        if let Some(params) = matches(route.path, &path) {
            if route.method == req.method() {
                let req = req.with_path_parameters(params);
                return (route.handler)(state, req).await;
            }
            allow.push(route.method.to_string());
        }
    }
    let err = if allow.is_empty() {
        ApiError::NotFound
    } else {
        ApiError::MethodNotAllowed { allow }
    };
    shared::http::serve("router", req, |_| async move { Err(err) }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments() {
        assert_eq!(
            matches("/api/v1/technology", "/api/v1/technology"),
            Some(HashMap::new())
        );
        let p = matches("/api/v1/technology/{id}", "/api/v1/technology/ast_1").unwrap();
        assert_eq!(p["id"], "ast_1");
        assert!(matches("/api/v1/technology/{id}", "/api/v1/technology/").is_none());
        assert!(matches("/api/v1/technology/{id}", "/api/v1/technology/a/b").is_none());
        assert!(matches("/api/v1/technology", "/api/v1/technology/x").is_none());
    }

    #[test]
    fn function_names_are_unique() {
        let mut names: Vec<_> = routes().iter().map(|r| r.function).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
