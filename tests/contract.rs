//! The route table, the OpenAPI document, the binaries and the sample events describe the same
//! API: a route added in one place and forgotten in another fails here.

use functions::routes::{routes, Auth};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn openapi() -> serde_norway::Value {
    let text = std::fs::read_to_string(root().join("openapi.yaml")).expect("openapi.yaml");
    serde_norway::from_str(&text).expect("openapi.yaml parses")
}

fn route_table() -> BTreeSet<(String, String)> {
    routes()
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), r.path.to_string()))
        .collect()
}

#[test]
fn openapi_lists_exactly_the_routes() {
    let doc = openapi();
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, ops) in paths {
        let path = path.as_str().expect("path key");
        for (method, _) in ops.as_mapping().expect("operations") {
            let method = method.as_str().expect("method");
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                documented.insert((method.to_string(), path.to_string()));
            }
        }
    }
    assert_eq!(documented, route_table());
}

/// Each operation names the function that serves it (`x-lambda-function`) and the one scope it
/// needs (`security`), as the route table does: a client reading the document is told what the
/// code enforces.
#[test]
fn openapi_names_each_routes_function_and_scope() {
    let doc = openapi();
    let mut documented = BTreeMap::new();
    for (path, ops) in doc["paths"].as_mapping().expect("paths") {
        for (method, op) in ops.as_mapping().expect("operations") {
            let Some(method) = method.as_str() else {
                continue;
            };
            if !["get", "post", "put", "patch", "delete"].contains(&method) {
                continue;
            }
            let function = op["x-lambda-function"].as_str().map(String::from);
            let scopes: Option<Vec<String>> = op["security"].as_sequence().map(|reqs| {
                reqs.iter()
                    .flat_map(|r| r["bearerAuth"].as_sequence().cloned().unwrap_or_default())
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            });
            let key = (method.to_string(), path.as_str().expect("path").to_string());
            documented.insert(key, (function, scopes));
        }
    }
    let expected: BTreeMap<_, _> = routes()
        .iter()
        .map(|r| {
            let scopes = match r.auth {
                Auth::Token(scope) => Some(vec![scope.as_str().to_string()]),
                Auth::Public => Some(vec![]),
            };
            let key = (r.method.as_str().to_lowercase(), r.path.to_string());
            (key, (Some(r.function.to_string()), scopes))
        })
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn every_function_has_a_binary_and_an_event() {
    let bins: BTreeSet<String> = std::fs::read_dir(root().join("functions/src/bin"))
        .expect("bin dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(String::from)
        })
        .collect();
    let functions: BTreeSet<String> = routes().iter().map(|r| r.function.to_string()).collect();
    let api_bins: BTreeSet<String> = bins
        .iter()
        .filter(|b| b.as_str() != "expiry-sweep")
        .cloned()
        .collect();
    assert_eq!(api_bins, functions);
    for bin in &bins {
        let event = root().join(format!("events/{bin}.json"));
        let text = std::fs::read_to_string(&event)
            .unwrap_or_else(|_| panic!("missing {}", event.display()));
        serde_json::from_str::<serde_json::Value>(&text).expect("event is JSON");
    }
}

#[test]
fn template_declares_every_binary() {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    for route in routes() {
        // `sam build` runs the Makefile's `build-<LogicalId>`, which copies the binary whose
        // CamelCase name + `Function` is the LogicalId (scripts/check-template.sh asks make).
        let camel: String = route
            .function
            .split('-')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        let declared = format!(
            "\n  {camel}Function:\n    Type: AWS::Serverless::Function\n    Metadata:\n      \
             BuildMethod: makefile\n    Properties:\n      FunctionName: !Sub ${{AWS::StackName}}-{}\n",
            route.function
        );
        assert!(
            text.contains(&declared),
            "template.yaml has no {camel}Function built (BuildMethod: makefile) from binary {}",
            route.function
        );
    }
}
