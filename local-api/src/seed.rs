//! `local-api seed-events` (`make events`): the records that events/*.json name, created with
//! exactly those ids, so every sample event answers as its function would in production
//! (`technology-get` 200, `entitlements-list` one item, …) instead of 404 or an empty page.
//!
//! Each record is made by its own create function's handler (its validation, history event and
//! guards), fed the create event's request with a body of its own: the ids are the events'
//! fixed ones (a pinned id generator), and the names differ from the create events' bodies, so
//! `technology-create` and the other create events still answer 201 (once: names are unique).
//! A record that is already there is left alone, so seeding twice changes nothing.

use functions::routes;
use lambda_http::Body;
use serde_json::{json, Value};
use shared::envelope::IdGenerator;
use shared::state::State;

/// The ids the sample events name.
pub const ASSET: &str = "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V";
pub const ENTITLEMENT: &str = "ent_01JD3QA1B2C3D4E5F6G7H8J9K0";
pub const ACCESS_REQUEST: &str = "arq_01JD3QB7Y6X5W4V3T2S1R0Q9P8";
pub const PRINCIPAL: &str = "per_01JD3QA1B2C3D4E5F6G7H8J9KM";
/// Who asked for the seeded access request (the events' caller is `dev-user`, of `dev-tenant`).
pub const REQUESTER: &str = "dev-requester";
const TENANT: &str = "dev-tenant";

/// A sample event by function name (the create events are the seeds' request templates).
pub fn event(function: &str) -> Option<&'static str> {
    Some(match function {
        "technology-create" => include_str!("../../events/technology-create.json"),
        "technology-get" => include_str!("../../events/technology-get.json"),
        "entitlements-create" => include_str!("../../events/entitlements-create.json"),
        "entitlements-get" => include_str!("../../events/entitlements-get.json"),
        "access-requests-create" => include_str!("../../events/access-requests-create.json"),
        "access-requests-get" => include_str!("../../events/access-requests-get.json"),
        "metadata-attributes-create" => {
            include_str!("../../events/metadata-attributes-create.json")
        }
        "metadata-attributes-get" => include_str!("../../events/metadata-attributes-get.json"),
        _ => return None,
    })
}

struct Seed {
    /// What is seeded, for the report.
    what: &'static str,
    /// The get function and the id (or key) it reads: the seed is skipped when it answers 200.
    get: (&'static str, &'static str),
    create: &'static str,
    body: Value,
    /// Another caller than the events' `dev-user` (its token minted here): the events approve
    /// the seeded request as `dev-user`, and no one approves their own request.
    as_sub: Option<&'static str>,
}

fn seeds() -> Vec<Seed> {
    vec![
        Seed {
            what: "technology asset payments-gateway",
            get: ("technology-get", ASSET),
            create: "technology-create",
            body: json!({
                "name": "payments-gateway", "display_name": "Payments Gateway", "hosting": "cloud",
                "cloud_provider": "aws", "criticality": "high",
            }),
            as_sub: None,
        },
        Seed {
            what: "metadata attribute iscPrivacy",
            get: ("metadata-attributes-get", "iscPrivacy"),
            create: "metadata-attributes-create",
            body: json!({
                "key": "iscPrivacy", "name": "Privacy", "type": "governance",
                "description": "How sensitive the data behind the entitlement is",
                "multiselect": false, "object_types": ["entitlement"],
                "values": [
                    {"value": "public", "name": "Public"},
                    {"value": "internal", "name": "Internal"},
                    {"value": "confidential", "name": "Confidential"},
                ],
            }),
            as_sub: None,
        },
        Seed {
            what: "metadata attribute iscFederalClassifications",
            get: ("metadata-attributes-get", "iscFederalClassifications"),
            create: "metadata-attributes-create",
            body: json!({
                "key": "iscFederalClassifications", "name": "Federal classifications",
                "type": "governance", "multiselect": true, "object_types": ["entitlement"],
                "values": [
                    {"value": "secret", "name": "Secret"},
                    {"value": "top-secret", "name": "Top secret"},
                ],
            }),
            as_sub: None,
        },
        Seed {
            what: "entitlement (reader of payments-gateway)",
            get: ("entitlements-get", ENTITLEMENT),
            create: "entitlements-create",
            body: json!({
                "asset_id": ASSET, "principal_id": PRINCIPAL, "principal_type": "person",
                "entitlement_type": "reader", "expires_at": "2029-12-31T23:59:59Z",
                "description": "Read access to the payments gateway",
            }),
            as_sub: None,
        },
        Seed {
            what: "access request (pending, reader of payments-gateway)",
            get: ("access-requests-get", ACCESS_REQUEST),
            create: "access-requests-create",
            body: json!({
                "system_id": "payments-gateway", "access_type": "new",
                "justification": "Incident reviews need read access",
                "entitlement_type": "reader", "expires_at": "2027-06-30T00:00:00Z",
            }),
            as_sub: Some(REQUESTER),
        },
    ]
}

/// `function`'s sample event as the request its handler gets, with `body` when given and the
/// path's one parameter replaced by `id` when given.
fn request(
    function: &str,
    body: Option<&Value>,
    id: Option<&str>,
) -> Result<lambda_http::Request, String> {
    let text = event(function).ok_or_else(|| format!("no sample event for {function}"))?;
    let mut ev: Value =
        serde_json::from_str(text).map_err(|e| format!("events/{function}.json: {e}"))?;
    if let Some(body) = body {
        ev["body"] = Value::String(body.to_string());
    }
    if let Some(id) = id {
        let params = ev["pathParameters"]
            .as_object_mut()
            .ok_or("no path parameter")?;
        let (name, old) = params
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .ok_or("no path parameter")?;
        let old = old.as_str().unwrap_or_default().to_owned();
        params.insert(name, Value::String(id.to_owned()));
        let path = ev["rawPath"].as_str().unwrap_or_default().replace(&old, id);
        ev["rawPath"] = Value::String(path.clone());
        ev["requestContext"]["http"]["path"] = Value::String(path);
    }
    lambda_http::request::from_str(&ev.to_string())
        .map_err(|e| format!("events/{function}.json: {e}"))
}

/// Runs `function`'s handler on `req`: its status and body text.
pub async fn invoke(
    state: &State,
    function: &str,
    req: lambda_http::Request,
) -> Result<(u16, String), String> {
    let route = routes::by_function(function).ok_or_else(|| format!("no function {function}"))?;
    let resp = (route.handler)(state, req).await;
    let body = match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    };
    Ok((resp.status().as_u16(), body))
}

/// A token of `sub` in the events' tenant, signed as the stack verifies (JWT_HS256_SECRET).
fn token(state: &State, sub: &str) -> Result<String, String> {
    let auth = &state.config.auth;
    let secret = auth
        .hs256_secret
        .as_deref()
        .ok_or("JWT_HS256_SECRET is not set")?;
    let spec = shared::auth::TokenSpec {
        sub: sub.into(),
        tenant_id: TENANT.into(),
        app_id: None,
        scopes: vec![
            "access-requests:read".into(),
            "access-requests:write".into(),
        ],
        ttl_seconds: 600,
    };
    shared::auth::mint_hs256(secret, &auth.issuer, &auth.audience, &spec).map_err(|e| e.to_string())
}

/// Creates every seed that is missing; one line per seed on stderr.
pub async fn seed(state: &mut State) -> Result<(), String> {
    for seed in seeds() {
        let (get, id) = seed.get;
        let (status, _) = invoke(state, get, request(get, None, Some(id))?).await?;
        if status == 200 {
            eprintln!("local-api: {} ({id}) is already there", seed.what);
            continue;
        }
        let mut req = request(seed.create, Some(&seed.body), None)?;
        if let Some(sub) = seed.as_sub {
            let bearer = format!("Bearer {}", token(state, sub)?);
            let value = http::HeaderValue::from_str(&bearer).map_err(|e| e.to_string())?;
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
        }
        // The create gets the event's fixed id (attribute keys are in the body).
        state.store.ids = IdGenerator::pinned(vec![id.to_owned()]);
        let created = invoke(state, seed.create, req).await;
        state.store.ids = IdGenerator::default();
        let (status, body) = created?;
        if status != 201 {
            return Err(format!(
                "{}: {} answered {status}: {body}",
                seed.what, seed.create
            ));
        }
        eprintln!("local-api: seeded {} ({id})", seed.what);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::{DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER};

    /// The order README "Invoking one function as Lambda runs it" gives, with each answer: after
    /// `make events`, every sample event answers as shipped, once each in this order.
    pub const ORDER: &[(&str, u16)] = &[
        ("technology-list", 200),
        ("technology-get", 200),
        ("technology-update", 200),
        ("technology-history", 200),
        ("technology-history-verify", 200),
        ("technology-access", 200),
        ("technology-create", 201),
        ("metadata-attributes-list", 200),
        ("metadata-attributes-get", 200),
        ("metadata-attributes-update", 200),
        ("metadata-attributes-history", 200),
        ("metadata-attributes-history-verify", 200),
        ("metadata-attributes-create", 201),
        ("entitlements-list", 200),
        ("entitlements-get", 200),
        ("entitlements-update", 200),
        ("entitlements-metadata-add", 200),
        ("entitlements-metadata-remove", 200),
        ("entitlements-history", 200),
        ("entitlements-history-verify", 200),
        ("entitlements-create", 201),
        ("access-requests-list", 200),
        ("access-requests-get", 200),
        ("access-requests-update", 200),
        ("access-requests-history", 200),
        ("access-requests-history-verify", 200),
        ("access-requests-create", 201),
        ("access-requests-approve", 200),
        ("access-requests-provision", 200),
        // Approved and provisioned: reject (of a pending request) is the other way, a conflict
        // now, and so is delete (only a pending request is withdrawn).
        ("access-requests-reject", 409),
        ("access-requests-delete", 409),
        ("audit-events-list", 200),
        ("access-evaluation", 200),
        ("access-evaluations", 200),
        ("access-search-subject", 200),
        ("access-search-resource", 200),
        ("access-search-action", 200),
        ("authzen-configuration", 200),
        ("entitlements-revoke", 200),
        // The entitlements entitlements-create and access-requests-provision made are live.
        ("technology-delete", 409),
    ];

    #[tokio::test]
    async fn every_sample_event_answers_after_seeding() {
        // The events' tokens are signed with the development defaults.
        let auth = crate::e2e_tests::hs256_auth(DEV_HS256_SECRET, DEV_ISSUER, DEV_AUDIENCE);
        // As `make dev` sets it: only on Lambda does the function take API Gateway's domain.
        let public_base_url = Some("http://127.0.0.1:3000".into());
        let Some(mut state) =
            crate::e2e_tests::local_state("local-api-seed", auth, public_base_url).await
        else {
            return;
        };
        seed(&mut state).await.unwrap();
        seed(&mut state).await.unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
        let mut named: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".json")
                    .to_owned()
            })
            .filter(|n| n != "expiry-sweep")
            .collect();
        named.sort();
        let mut listed: Vec<String> = ORDER.iter().map(|(f, _)| f.to_string()).collect();
        listed.sort();
        assert_eq!(named, listed, "ORDER lists every HTTP event in events/");
        let mut wrong = Vec::new();
        for (function, want) in ORDER {
            let text = std::fs::read_to_string(format!("{dir}/{function}.json")).unwrap();
            let req = lambda_http::request::from_str(&text).unwrap();
            let (status, body) = invoke(&state, function, req).await.unwrap();
            eprintln!("{function}: {status} {}", &body[..body.len().min(300)]);
            if status != *want {
                wrong.push(format!("{function}: {status} (want {want}): {body}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
