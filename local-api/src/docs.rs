//! `/docs`: an interactive reference of openapi.yaml (Swagger UI), only in `make dev`.
//!
//! Swagger UI's files come from `SWAGGER_UI_DIR` (swagger-ui-dist, installed from the npm
//! registry by `scripts/install-tools.sh swagger-ui`; the scripts set the variable), so nothing
//! is loaded from a CDN: the page's Content-Security-Policy allows this origin only. The document
//! is the repository's openapi.yaml, compiled in, with `servers` pointing at the address the page
//! was loaded from; the page is configured with a freshly minted development token (as `make dev`
//! prints it: tenant dev-tenant, user dev-user, every scope), so "Try it out" works at once.
//!
//! No token is needed for anything under `/docs`, and nothing under `/api/v1` is touched.

use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;

use crate::cli::TokenOptions;

/// The contract, as in the repository (local-api is rebuilt when it changes).
const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// The Swagger UI files the page uses, with their content types.
const ASSETS: &[(&str, &str)] = &[
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("favicon-32x32.png", "image/png"),
];

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Technology API — explorer (make dev)</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"#;

/// Answers a request under `/docs`; `None` for every other path (the API's routes).
pub fn route(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response<Full<Bytes>>> {
    if path != "/docs" && !path.starts_with("/docs/") {
        return None;
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET under /docs\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(response);
    }
    let response = match path {
        "/docs" | "/docs/" | "/docs/index.html" => match assets_dir() {
            Ok(_) => ok("text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
            Err(message) => text(StatusCode::SERVICE_UNAVAILABLE, &message),
        },
        "/docs/openapi.yaml" => ok(
            "application/yaml; charset=utf-8",
            local_document(&origin(headers)).into_bytes(),
        ),
        "/docs/init.js" => ok(
            "text/javascript; charset=utf-8",
            init_script(dev_token().as_deref()).into_bytes(),
        ),
        _ => match path.strip_prefix("/docs/assets/") {
            Some(name) => asset(name),
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    Some(response)
}

fn assets_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::var_os("SWAGGER_UI_DIR")
        .filter(|dir| !dir.is_empty())
        .ok_or("SWAGGER_UI_DIR is not set: `make dev` sets it (after scripts/install-tools.sh swagger-ui)\n")?;
    let dir = std::path::PathBuf::from(dir);
    if dir.join("swagger-ui-bundle.js").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no Swagger UI in SWAGGER_UI_DIR={}: run scripts/install-tools.sh swagger-ui\n",
            dir.display()
        ))
    }
}

fn asset(name: &str) -> Response<Full<Bytes>> {
    // Only the listed files: no path from the request ever reaches the file system.
    let Some((file, content_type)) = ASSETS.iter().find(|(file, _)| *file == name) else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    match assets_dir().and_then(|dir| {
        std::fs::read(dir.join(file)).map_err(|e| format!("cannot read {file}: {e}\n"))
    }) {
        Ok(bytes) => {
            let mut response = ok(content_type, bytes);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            response
        }
        Err(message) => text(StatusCode::SERVICE_UNAVAILABLE, &message),
    }
}

/// `http://<host>` of the request when its Host is a plain host[:port], else the loopback.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host.len() <= 255
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// openapi.yaml with its `servers` replaced by this local API alone.
pub fn local_document(origin: &str) -> String {
    let servers = format!(
        "servers:\n  - url: {origin}\n    description: This local API (`make dev`), with the development token.\n"
    );
    let Some(start) = OPENAPI_YAML.find("\nservers:\n").map(|i| i + 1) else {
        return OPENAPI_YAML.to_owned();
    };
    let body = &OPENAPI_YAML[start + "servers:\n".len()..];
    // The block ends at the next top-level key (a line that starts with neither space nor '#').
    let mut end = OPENAPI_YAML.len();
    let mut offset = start + "servers:\n".len();
    for line in body.split_inclusive('\n') {
        if !line.starts_with([' ', '#', '\n']) {
            end = offset;
            break;
        }
        offset += line.len();
    }
    let document = format!(
        "{}{servers}{}",
        &OPENAPI_YAML[..start],
        &OPENAPI_YAML[end..]
    );
    without_query_examples(&document)
}

/// The document without the `example`/`examples` of its query parameters (`components:
/// parameters:`): Swagger UI fills them into "Try it out", so a list would run filtered by made-up
/// values; the filters start empty instead. Path parameters keep theirs.
fn without_query_examples(document: &str) -> String {
    let mut out = String::with_capacity(document.len());
    let mut entry: Vec<&str> = Vec::new();
    let mut in_section = false;
    let mut seen_components = false;
    let flush = |entry: &mut Vec<&str>, out: &mut String| {
        let query = entry
            .iter()
            .any(|line| line.trim_end() == "      in: query");
        let mut skipping = false;
        for line in entry.drain(..) {
            if query {
                if skipping && line.starts_with("       ") {
                    continue;
                }
                skipping = line.starts_with("      examples:");
                if skipping || line.starts_with("      example:") {
                    continue;
                }
            }
            out.push_str(line);
        }
    };
    for line in document.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if line.trim().is_empty() {
            if in_section {
                entry.push(line);
            } else {
                out.push_str(line);
            }
            continue;
        }
        if in_section && indent < 4 {
            flush(&mut entry, &mut out);
            in_section = false;
        }
        if in_section {
            if indent == 4 {
                flush(&mut entry, &mut out);
            }
            entry.push(line);
            continue;
        }
        if line.trim_end() == "components:" && indent == 0 {
            seen_components = true;
        } else if seen_components && line.trim_end() == "  parameters:" {
            in_section = true;
        }
        out.push_str(line);
    }
    flush(&mut entry, &mut out);
    out
}

fn dev_token() -> Option<String> {
    crate::token::mint(&TokenOptions::default()).ok()
}

/// The page's configuration: the local document, "Try it out" on, the token preauthorized.
pub fn init_script(token: Option<&str>) -> String {
    let token = serde_json::to_string(&token).unwrap_or_else(|_| "null".into());
    format!(
        r##"// Generated by local-api for /docs (make dev).
window.addEventListener("load", function () {{
  var token = {token};
  var ui = SwaggerUIBundle({{
    url: "/docs/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: function () {{
      if (token) ui.preauthorizeApiKey("bearerAuth", token);
    }}
  }});
  window.ui = ui;
}});
"##
    )
}

fn ok(content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = ok("text/plain; charset=utf-8", message.as_bytes().to_vec());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response<Full<Bytes>>> {
        route(&Method::GET, path, &HeaderMap::new())
    }

    #[test]
    fn only_docs_paths_are_answered() {
        assert!(get("/api/v1/technology").is_none());
        assert!(get("/docsx").is_none());
        assert!(get("/").is_none());
        assert!(get("/docs/openapi.yaml").is_some());
        let post = route(&Method::POST, "/docs", &HeaderMap::new()).unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn assets_are_only_the_listed_files() {
        for path in [
            "/docs/assets/../../Cargo.toml",
            "/docs/assets/index.html",
            "/docs/assets/",
            "/docs/nope",
        ] {
            assert_eq!(get(path).unwrap().status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn the_document_points_at_the_local_api_only() {
        let doc = local_document("http://127.0.0.1:4123");
        assert!(doc.contains("servers:\n  - url: http://127.0.0.1:4123\n"));
        assert!(!doc.contains("execute-api"));
        assert!(doc.starts_with("openapi: 3.1.0\n"));
        assert!(doc.contains("\npaths:\n"));
        assert_eq!(doc.matches("\nservers:\n").count(), 1);
    }

    #[test]
    fn query_parameters_lose_their_examples_and_nothing_else_changes() {
        let doc = local_document("http://127.0.0.1:4123");
        let vendor = doc.find("\n    VendorFilter:\n").unwrap();
        let next = vendor
            + 1
            + doc[vendor + 1..]
                .find("\n    CriticalityFilter:\n")
                .unwrap();
        assert!(
            !doc[vendor..next].contains("example"),
            "{}",
            &doc[vendor..next]
        );
        assert!(doc[vendor..next].contains("in: query"));
        let path = doc.find("\n    AssetIdPath:\n").unwrap();
        assert!(doc[path..path + 600].contains("      example: ast_"));
        // Only example lines went away (and their count is the query parameters').
        let stripped = without_query_examples(OPENAPI_YAML);
        let mut kept = stripped.lines().peekable();
        let mut removed = 0;
        for line in OPENAPI_YAML.lines() {
            if kept.peek() == Some(&line) {
                kept.next();
            } else {
                assert!(
                    line.starts_with("      example") || line.starts_with("        "),
                    "{line:?} removed"
                );
                removed += 1;
            }
        }
        assert!(kept.next().is_none());
        assert!(removed > 10);
    }

    #[test]
    fn a_strange_host_falls_back_to_the_loopback() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("evil\"/x"));
        assert_eq!(origin(&headers), "http://127.0.0.1");
        headers.insert(header::HOST, HeaderValue::from_static("localhost:3000"));
        assert_eq!(origin(&headers), "http://localhost:3000");
    }

    #[test]
    fn the_token_is_embedded_as_a_json_string() {
        assert!(init_script(Some("a.b.c")).contains("var token = \"a.b.c\";"));
        assert!(init_script(None).contains("var token = null;"));
    }
}
