//! The route table and the edge every handler runs behind. A handler module declares its route
//! (`ROUTE`, built by [`route!`]: function name, method, path, scope, handler), the one place its
//! function's name is written; its binary names that route, so only that handler is linked in.
//! API Gateway routes each path to its function in production; [`dispatch`] does the same for
//! the local server and the end-to-end tests.

use crate::{access, access_requests, entitlements, history, metadata_attributes, technology};
use http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::auth::{Caller, Scope};
use shared::error::{ApiError, ApiResult};
use shared::state::State;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
/// A handler behind the edge: `shared::http::serve` (its log lines' request context, request
/// id, error mapping, the request counter's function) around authentication and the handler.
pub type Handler = for<'a> fn(&'a State, Request) -> HandlerFuture<'a>;

/// How a route authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// A bearer token with this scope: the handler is
    /// `async fn(&State, &Caller, Request) -> ApiResult<Response>`.
    Token(Scope),
    /// None (public metadata): the handler is `async fn(&State, Request) -> ApiResult<Response>`.
    Public,
}

/// A route's parts are all `'static` and `Copy`, so a handler module's `ROUTE` is a plain const
/// and `ROUTE.function` can name the function in other consts (`iam.rs`).
#[derive(Clone, Copy)]
pub struct Route {
    /// The function (binary) name: its logs, its IAM actions (`iam.rs`), its request counts.
    pub function: &'static str,
    pub method: &'static Method,
    /// API Gateway style template, e.g. `/api/v1/technology/{id}`.
    pub path: &'static str,
    pub auth: Auth,
    pub handler: Handler,
}

impl Route {
    /// This route's path with its one parameter set to `id`: where a record lives (`Location`).
    pub fn location(&self, id: &str) -> String {
        match (self.path.find('{'), self.path.rfind('}')) {
            (Some(open), Some(close)) if open < close => {
                format!("{}{id}{}", &self.path[..open], &self.path[close + 1..])
            }
            _ => self.path.to_string(),
        }
    }
}

/// The caller of a request on a token route: a verified bearer token that carries `scope`.
pub async fn authenticate(state: &State, req: &Request, scope: Scope) -> ApiResult<Caller> {
    let caller = state.caller(req).await?;
    caller.require(scope)?;
    Ok(caller)
}

/// `route!("technology-get", GET "/api/v1/technology/{id}", TechnologyRead, handle)`: the
/// [`Route`] of function `technology-get`, whose handler runs behind `shared::http::serve` once
/// [`authenticate`] has found a caller with `Scope::TechnologyRead`.
/// `route!(public "name", GET "/path", handle)`: one whose handler runs with no authentication.
/// `route!(authzen …)` and `route!(public authzen …)`: the same, answering with a client's
/// `X-Request-ID` when it sent a valid one (the AuthZEN routes, API.md §9).
macro_rules! route {
    // One arm builds every route: `$auth` is its `Auth`, and `$serve` (with `$state` and `$req`
    // bound) what runs behind `serve_with` once the request is parsed.
    (@route $ids:ident, $function:literal, $method:ident $path:literal, $auth:expr,
        |$state:ident, $req:ident| $serve:expr) => {
        $crate::routes::Route {
            function: $function,
            method: &::http::Method::$method,
            path: $path,
            auth: $auth,
            handler: {
                fn edge(
                    $state: &::shared::state::State,
                    req: ::lambda_http::Request,
                ) -> $crate::routes::HandlerFuture<'_> {
                    Box::pin(::shared::http::serve_with(
                        $function,
                        ::shared::http::RequestIds::$ids,
                        req,
                        move |$req| $serve,
                    ))
                }
                edge
            },
        }
    };
    (@token $ids:ident, $function:literal, $method:ident $path:literal, $scope:ident, $handle:path) => {
        $crate::routes::route!(@route $ids, $function, $method $path,
            $crate::routes::Auth::Token(::shared::auth::Scope::$scope),
            |state, req| async move {
                let scope = ::shared::auth::Scope::$scope;
                let caller = $crate::routes::authenticate(state, &req, scope).await?;
                $handle(state, &caller, req).await
            })
    };
    // A token route whose writes keep their answers under an `Idempotency-Key` (API.md §11).
    (@keyed $function:literal, $method:ident $path:literal, $scope:ident, $handle:path) => {
        $crate::routes::route!(@route Own, $function, $method $path,
            $crate::routes::Auth::Token(::shared::auth::Scope::$scope),
            |state, req| async move {
                let scope = ::shared::auth::Scope::$scope;
                let caller = $crate::routes::authenticate(state, &req, scope).await?;
                let success = ::shared::domain::idempotency::Success::of_route(
                    stringify!($method),
                    $path,
                );
                ::shared::idempotency::serve(state, &caller, req, success, |req| {
                    $handle(state, &caller, req)
                })
                .await
            })
    };
    (@public $ids:ident, $function:literal, $method:ident $path:literal, $handle:path) => {
        $crate::routes::route!(@route $ids, $function, $method $path, $crate::routes::Auth::Public,
            |state, req| $handle(state, req))
    };
    (public authzen $function:literal, $method:ident $path:literal, $handle:path) => {
        $crate::routes::route!(@public EchoClient, $function, $method $path, $handle)
    };
    (public $function:literal, $method:ident $path:literal, $handle:path) => {
        $crate::routes::route!(@public Own, $function, $method $path, $handle)
    };
    (authzen $function:literal, $method:ident $path:literal, $scope:ident, $handle:path) => {
        $crate::routes::route!(@token EchoClient, $function, $method $path, $scope, $handle)
    };
    ($function:literal, $method:ident $path:literal, $scope:ident, $handle:path) => {
        $crate::routes::route!(@keyed $function, $method $path, $scope, $handle)
    };
}
pub(crate) use route;

/// Every route, in the order `Allow` lists a path's methods.
pub fn routes() -> Vec<Route> {
    vec![
        technology::list::ROUTE,
        technology::create::ROUTE,
        technology::get::ROUTE,
        technology::update::ROUTE,
        technology::delete::ROUTE,
        entitlements::list::ROUTE,
        entitlements::create::ROUTE,
        entitlements::get::ROUTE,
        entitlements::update::ROUTE,
        entitlements::revoke::ROUTE,
        entitlements::metadata::ADD,
        entitlements::metadata::REMOVE,
        access_requests::list::ROUTE,
        access_requests::create::ROUTE,
        access_requests::get::ROUTE,
        access_requests::update::ROUTE,
        access_requests::delete::ROUTE,
        access_requests::decide::APPROVE,
        access_requests::decide::REJECT,
        access_requests::provision::ROUTE,
        metadata_attributes::list::ROUTE,
        metadata_attributes::create::ROUTE,
        metadata_attributes::get::ROUTE,
        metadata_attributes::update::ROUTE,
        history::TECHNOLOGY,
        history::TECHNOLOGY_VERIFY,
        history::TECHNOLOGY_ACCESS,
        history::ENTITLEMENTS,
        history::ENTITLEMENTS_VERIFY,
        history::ACCESS_REQUESTS,
        history::ACCESS_REQUESTS_VERIFY,
        history::METADATA_ATTRIBUTES,
        history::METADATA_ATTRIBUTES_VERIFY,
        history::AUDIT_EVENTS,
        access::EVALUATION,
        access::EVALUATIONS,
        access::SEARCH_SUBJECT,
        access::SEARCH_RESOURCE,
        access::SEARCH_ACTION,
        access::CONFIGURATION,
    ]
}

/// The route of `function`, for tests and tools that start from a name (a binary names its route
/// directly, so that it links no other handler).
pub fn by_function(function: &str) -> Option<Route> {
    routes().into_iter().find(|r| r.function == function)
}

/// Path parameters when `path` fits `template` (`{name}` matches one non-empty segment).
pub(crate) fn matches(template: &str, path: &str) -> Option<HashMap<String, String>> {
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
    fn a_location_fills_the_one_parameter() {
        assert_eq!(
            technology::get::ROUTE.location("ast_1"),
            "/api/v1/technology/ast_1"
        );
        assert_eq!(
            access_requests::decide::APPROVE.location("arq_1"),
            "/api/v1/operations/access-requests/arq_1/approve"
        );
    }

    async fn answer_204(_: &State, _: Request) -> ApiResult<Response<Body>> {
        shared::http::no_content()
    }

    const PUBLIC: Route = route!(public "test-public", GET "/public", answer_204);

    async fn offline_state() -> State {
        let config = shared::config::Config {
            table_name: "unused".into(),
            dynamodb_endpoint: Some("http://127.0.0.1:9".into()),
            dynamodb_trust: shared::config::TrustStore::Amazon,
            auth: shared::config::AuthConfig {
                hs256_secret: Some(shared::config::DEV_HS256_SECRET.into()),
                jwks_url: None,
                issuer: shared::config::DEV_ISSUER.into(),
                audience: shared::config::DEV_AUDIENCE.into(),
            },
            cursor_secret: vec![7; 32],
            public_base_url: None,
        };
        let db = shared::store::client(&config, None).await;
        State::with_client(config, db).unwrap()
    }

    fn get(path: &str) -> Request {
        let incoming = crate::apigw::Incoming {
            method: Method::GET,
            uri: path.parse().unwrap(),
            headers: http::HeaderMap::new(),
            body: vec![],
            peer: std::net::Ipv4Addr::LOCALHOST.into(),
        };
        crate::apigw::request(incoming, "req-1")
    }

    /// The edge, without a store: a token route refuses a request without a token before its
    /// handler runs, a public one runs its handler; both answer with the request id.
    #[tokio::test]
    async fn the_edge_authenticates_by_the_routes_auth_mode() {
        let state = offline_state().await;
        let route = technology::get::ROUTE;
        assert_eq!(route.auth, Auth::Token(Scope::TechnologyRead));
        let refused = (route.handler)(&state, get("/api/v1/technology/ast_1")).await;
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["x-request-id"], "req-1");

        assert_eq!(PUBLIC.auth, Auth::Public);
        let answered = (PUBLIC.handler)(&state, get("/public")).await;
        assert_eq!(answered.status(), 204);
        assert_eq!(answered.headers()["x-request-id"], "req-1");
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
