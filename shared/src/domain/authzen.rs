//! The bodies of the AuthZEN routes (API.md §9) parsed into questions.
//!
//! AuthZEN's rule, not §1's: unknown members anywhere are ignored (a standard client may send
//! more than we read), but a known member that is malformed makes the whole request a 400
//! naming it by its path (`evaluations[3].subject.type`), also inside a batch.

use super::decision::Semantic;
use super::entitlement::PrincipalType;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::vocab::Closed;
use serde_json::{Map, Value};

/// The one resource type this PDP knows.
pub const RESOURCE_TYPE: &str = "technology_asset";
/// At most this many evaluations in a batch, and groups per subject.
pub const MAX_EVALUATIONS: usize = 100;
pub const MAX_GROUPS: usize = 100;
/// `page.limit` of a search: 1..=100, default 50 (as §5 lists).
pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub principal_type: PrincipalType,
    pub id: String,
    /// `properties.groups`: groups whose grants count for the subject.
    pub groups: Vec<String>,
}

/// An asset as a client names it: by `ast_` id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetRef {
    Id(String),
    Name(String),
    /// Neither a well-formed id nor a possible name: names nothing, costs no read.
    Nothing,
}

impl AssetRef {
    pub fn of(text: &str) -> AssetRef {
        if crate::envelope::is_id(text, super::asset::ID_PREFIX) {
            AssetRef::Id(text.to_string())
        } else if super::asset::is_valid_name(text) {
            AssetRef::Name(text.to_string())
        } else {
            AssetRef::Nothing
        }
    }
}

/// One question: may `subject` do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub subject: Subject,
    pub resource: AssetRef,
    pub action: String,
}

/// An `/evaluations` request: its questions in order and how to answer them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub items: Vec<Evaluation>,
    pub semantic: Semantic,
    /// No (or an empty) `evaluations`: one question of the top-level members, answered as
    /// `/evaluation` answers.
    pub single: bool,
}

/// The errors of one request, collected so every bad member is named at once.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish<T>(self, value: Option<T>) -> ApiResult<T> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ if self.0.is_empty() => Err(ApiError::BadRequest("unreadable request".into())),
            _ => Err(ApiError::Validation(self.0)),
        }
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

/// A member that must be an object when present.
fn object<'a>(
    v: Option<&'a Value>,
    path: &str,
    errors: &mut Errors,
) -> Option<&'a Map<String, Value>> {
    match v {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            errors.push(path, "must be an object");
            None
        }
    }
}

/// A non-empty string member; `None` (and an error) when absent or malformed.
fn text(m: &Map<String, Value>, path: &str, member: &str, errors: &mut Errors) -> Option<String> {
    match m.get(member) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        None | Some(Value::Null) => {
            errors.push(join(path, member), "is required");
            None
        }
        Some(_) => {
            errors.push(join(path, member), "must be a non-empty string");
            None
        }
    }
}

/// A required object member (`is required` when absent).
fn required<'a>(
    v: Option<&'a Value>,
    path: &str,
    errors: &mut Errors,
) -> Option<&'a Map<String, Value>> {
    if v.is_none() || v == Some(&Value::Null) {
        errors.push(path, "is required");
        return None;
    }
    object(v, path, errors)
}

fn subject_type(m: &Map<String, Value>, path: &str, errors: &mut Errors) -> Option<PrincipalType> {
    let t = text(m, path, "type", errors)?;
    let parsed = PrincipalType::parse(&t);
    if parsed.is_none() {
        errors.push(join(path, "type"), "must be person or group");
    }
    parsed
}

fn groups(m: &Map<String, Value>, path: &str, errors: &mut Errors) -> Vec<String> {
    let path = join(path, "properties");
    let Some(props) = object(m.get("properties"), &path, errors) else {
        return Vec::new();
    };
    let path = join(&path, "groups");
    match props.get("groups") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() > MAX_GROUPS => {
            errors.push(path, "at most 100 groups");
            Vec::new()
        }
        Some(Value::Array(list)) => {
            let ids: Vec<String> = list
                .iter()
                .filter_map(|g| g.as_str().filter(|s| !s.is_empty()).map(String::from))
                .collect();
            if ids.len() != list.len() {
                errors.push(path, "must be an array of non-empty strings");
            }
            ids
        }
        Some(_) => {
            errors.push(path, "must be an array of non-empty strings");
            Vec::new()
        }
    }
}

/// `subject` with its id (evaluations, resource and action search).
fn subject(v: Option<&Value>, path: &str, errors: &mut Errors) -> Option<Subject> {
    let m = required(v, path, errors)?;
    let principal_type = subject_type(m, path, errors);
    let id = text(m, path, "id", errors);
    let groups = groups(m, path, errors);
    Some(Subject {
        principal_type: principal_type?,
        id: id?,
        groups,
    })
}

fn resource_type(m: &Map<String, Value>, path: &str, errors: &mut Errors) -> Option<()> {
    let t = text(m, path, "type", errors)?;
    if t != RESOURCE_TYPE {
        errors.push(join(path, "type"), "must be technology_asset");
        return None;
    }
    Some(())
}

/// `resource` with its id.
fn resource(v: Option<&Value>, path: &str, errors: &mut Errors) -> Option<AssetRef> {
    let m = required(v, path, errors)?;
    let kind = resource_type(m, path, errors);
    let id = text(m, path, "id", errors);
    kind?;
    Some(AssetRef::of(&id?))
}

fn action(v: Option<&Value>, path: &str, errors: &mut Errors) -> Option<String> {
    let m = required(v, path, errors)?;
    text(m, path, "name", errors)
}

/// `context` is ours to ignore, but must be an object when sent.
fn context(v: Option<&Value>, path: &str, errors: &mut Errors) {
    if v != Some(&Value::Null) {
        object(v, path, errors);
    }
}

/// The body of `POST /access/evaluation`.
pub fn evaluation(body: &Map<String, Value>) -> ApiResult<Evaluation> {
    let mut errors = Errors::default();
    let e = one(body, "", &mut errors);
    errors.finish(e)
}

fn one(m: &Map<String, Value>, path: &str, errors: &mut Errors) -> Option<Evaluation> {
    let subject = subject(m.get("subject"), &join(path, "subject"), errors);
    let resource = resource(m.get("resource"), &join(path, "resource"), errors);
    let action = action(m.get("action"), &join(path, "action"), errors);
    context(m.get("context"), &join(path, "context"), errors);
    Some(Evaluation {
        subject: subject?,
        resource: resource?,
        action: action?,
    })
}

/// The body of `POST /access/evaluations`: top-level `subject`/`resource`/`action`/`context`
/// are each item's defaults, an item's own member replacing the default whole.
pub fn evaluations(body: &Map<String, Value>) -> ApiResult<Batch> {
    let mut errors = Errors::default();
    let semantic = semantic(body, &mut errors);
    let items = match body.get("evaluations") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(list)) if list.len() > MAX_EVALUATIONS => {
            errors.push("evaluations", "at most 100 evaluations");
            None
        }
        Some(Value::Array(list)) => Some(list.clone()),
        Some(_) => {
            errors.push("evaluations", "must be an array");
            None
        }
    };
    let Some(items) = items else {
        return errors.finish(None);
    };
    if items.is_empty() {
        let e = one(body, "", &mut errors);
        return errors.finish(e.map(|e| Batch {
            items: vec![e],
            semantic: semantic.unwrap_or(Semantic::ExecuteAll),
            single: true,
        }));
    }
    // A default that no item uses is still a known member: malformed, it is a 400 too.
    for member in ["subject", "resource", "action", "context"] {
        if let Some(v) = body.get(member) {
            let path = member;
            match member {
                "subject" => {
                    let _ = subject(Some(v), path, &mut errors);
                }
                "resource" => {
                    let _ = resource(Some(v), path, &mut errors);
                }
                "action" => {
                    let _ = action(Some(v), path, &mut errors);
                }
                _ => context(Some(v), path, &mut errors),
            }
        }
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("evaluations[{i}]");
        let Some(m) = object(Some(item), &path, &mut errors) else {
            continue;
        };
        let member = |name: &str| m.get(name).or_else(|| body.get(name));
        // An item's own member is named by its own path; an inherited default by the
        // top-level one (already checked above, so only its absence is reported here).
        let at = |name: &str| {
            if m.contains_key(name) || !body.contains_key(name) {
                format!("{path}.{name}")
            } else {
                name.to_string()
            }
        };
        let mut item_errors = Errors::default();
        let subject = subject(member("subject"), &at("subject"), &mut item_errors);
        let resource = resource(member("resource"), &at("resource"), &mut item_errors);
        let action = action(member("action"), &at("action"), &mut item_errors);
        if m.contains_key("context") {
            context(
                m.get("context"),
                &format!("{path}.context"),
                &mut item_errors,
            );
        }
        // Errors of an inherited default were reported once, above.
        errors.0.extend(
            item_errors
                .0
                .into_iter()
                .filter(|e| e.field.starts_with(&path)),
        );
        if let (Some(subject), Some(resource), Some(action)) = (subject, resource, action) {
            parsed.push(Evaluation {
                subject,
                resource,
                action,
            });
        }
    }
    let semantic = semantic.unwrap_or(Semantic::ExecuteAll);
    errors.finish(Some(Batch {
        items: parsed,
        semantic,
        single: false,
    }))
}

fn semantic(body: &Map<String, Value>, errors: &mut Errors) -> Option<Semantic> {
    let options = object(body.get("options"), "options", errors)?;
    match options.get("evaluations_semantic") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let parsed = Semantic::parse(s);
            if parsed.is_none() {
                errors.push(
                    "options.evaluations_semantic",
                    "must be execute_all, deny_on_first_deny or permit_on_first_permit",
                );
            }
            parsed
        }
        Some(_) => {
            errors.push(
                "options.evaluations_semantic",
                "must be execute_all, deny_on_first_deny or permit_on_first_permit",
            );
            None
        }
    }
}

/// `page` of a search: the token of the previous page's `next_token` (none or `""` = first
/// page) and the page size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub token: Option<String>,
    pub limit: usize,
}

fn page(body: &Map<String, Value>, errors: &mut Errors) -> Page {
    let mut out = Page {
        token: None,
        limit: DEFAULT_PAGE,
    };
    let Some(m) = object(body.get("page"), "page", errors) else {
        return out;
    };
    match m.get("token") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => out.token = Some(s.clone()),
        Some(_) => errors.push("page.token", "must be a string"),
    }
    match m.get("limit") {
        None | Some(Value::Null) => {}
        // JSON has one number type: `50.0` is the integer 50, as JSON Schema's `integer` says.
        Some(v) => match v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_PAGE as f64)
                .map(|f| f as u64)
        }) {
            Some(n) if (1..=MAX_PAGE as u64).contains(&n) => out.limit = n as usize,
            _ => errors.push("page.limit", "must be an integer from 1 to 100"),
        },
    }
    out
}

/// `POST /access/search/subject`: who (of `subject.type`; `subject.id` is ignored) may do
/// `action` on `resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectSearch {
    pub principal_type: PrincipalType,
    pub resource: AssetRef,
    pub action: String,
    pub page: Page,
}

pub fn subject_search(body: &Map<String, Value>) -> ApiResult<SubjectSearch> {
    let ((principal_type, resource, action), page) = search(body, |errors| {
        let principal_type = required(body.get("subject"), "subject", errors)
            .and_then(|m| subject_type(m, "subject", errors));
        let resource = resource(body.get("resource"), "resource", errors);
        let action = action(body.get("action"), "action", errors);
        Some((principal_type?, resource?, action?))
    })?;
    Ok(SubjectSearch {
        principal_type,
        resource,
        action,
        page,
    })
}

/// `POST /access/search/resource`: the assets on which `subject` may do `action`
/// (`resource.type` required, its id ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSearch {
    pub subject: Subject,
    pub action: String,
    pub page: Page,
}

pub fn resource_search(body: &Map<String, Value>) -> ApiResult<ResourceSearch> {
    let ((subject, action), page) = search(body, |errors| {
        let subject = subject(body.get("subject"), "subject", errors);
        let kind = required(body.get("resource"), "resource", errors)
            .and_then(|m| resource_type(m, "resource", errors));
        let action = action(body.get("action"), "action", errors);
        kind?;
        Some((subject?, action?))
    })?;
    Ok(ResourceSearch {
        subject,
        action,
        page,
    })
}

/// `POST /access/search/action`: what `subject` may do on `resource` (`action` is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSearch {
    pub subject: Subject,
    pub resource: AssetRef,
    pub page: Page,
}

pub fn action_search(body: &Map<String, Value>) -> ApiResult<ActionSearch> {
    let ((subject, resource), page) = search(body, |errors| {
        let subject = subject(body.get("subject"), "subject", errors);
        let resource = resource(body.get("resource"), "resource", errors);
        Some((subject?, resource?))
    })?;
    Ok(ActionSearch {
        subject,
        resource,
        page,
    })
}

/// A search body: `members` reads the members the search names (every one of them, so that
/// each problem is reported), then `context` is checked and the page read, in that order of
/// errors; `None` from `members` means one of them was unusable.
fn search<T>(
    body: &Map<String, Value>,
    members: impl FnOnce(&mut Errors) -> Option<T>,
) -> ApiResult<(T, Page)> {
    let mut errors = Errors::default();
    let found = members(&mut errors);
    context(body.get("context"), "context", &mut errors);
    let page = page(body, &mut errors);
    errors.finish(found.map(|found| (found, page)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(r: ApiResult<impl std::fmt::Debug>) -> Vec<String> {
        match r {
            Err(ApiError::Validation(errors)) => {
                let mut f: Vec<String> = errors.into_iter().map(|e| e.field).collect();
                f.sort();
                f
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    const ID: &str = "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V";

    fn good() -> Value {
        json!({"subject": {"type": "person", "id": "alice"},
               "resource": {"type": "technology_asset", "id": ID},
               "action": {"name": "read"}})
    }

    #[test]
    fn unknown_members_are_ignored_everywhere() {
        let body = json!({"subject": {"type": "person", "id": "alice", "x": 1,
                                      "properties": {"groups": ["g1"], "department": "ops"}},
                          "resource": {"type": "technology_asset", "id": ID, "properties": {}},
                          "action": {"name": "read", "properties": {"method": "GET"}},
                          "context": {"time": "now"}, "extra": true});
        let e = evaluation(&obj(body)).unwrap();
        assert_eq!(e.subject.groups, ["g1"]);
        assert_eq!(e.resource, AssetRef::Id(ID.into()));
        assert_eq!(e.action, "read");
    }

    #[test]
    fn assets_by_id_or_name() {
        assert_eq!(AssetRef::of(ID), AssetRef::Id(ID.into()));
        assert_eq!(AssetRef::of("crm-prod"), AssetRef::Name("crm-prod".into()));
        assert_eq!(AssetRef::of("ast_nope"), AssetRef::Nothing);
        assert_eq!(AssetRef::of("Not A Name"), AssetRef::Nothing);
    }

    #[test]
    fn malformed_known_members_are_named() {
        let cases = [
            (json!({}), vec!["action", "resource", "subject"]),
            (
                json!({"subject": {"type": "user", "id": "a"}, "resource": {"type": "account", "id": "x"}, "action": {}}),
                vec!["action.name", "resource.type", "subject.type"],
            ),
            (
                json!({"subject": {"type": "person", "id": ""}, "resource": {"type": "technology_asset"}, "action": {"name": 3}, "context": []}),
                vec!["action.name", "context", "resource.id", "subject.id"],
            ),
            (
                json!({"subject": {"type": "person", "id": "a", "properties": {"groups": "g1"}}, "resource": "x", "action": {"name": "r"}}),
                vec!["resource", "subject.properties.groups"],
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(fields(evaluation(&obj(body.clone()))), expected, "{body}");
        }
        let many: Vec<String> = (0..101).map(|i| format!("g{i}")).collect();
        let mut body = good();
        body["subject"]["properties"] = json!({"groups": many});
        assert_eq!(
            fields(evaluation(&obj(body))),
            ["subject.properties.groups"]
        );
    }

    #[test]
    fn batch_defaults_and_overrides() {
        let body = json!({
            "subject": {"type": "person", "id": "alice"},
            "action": {"name": "read"},
            "evaluations": [
                {"resource": {"type": "technology_asset", "id": "a-1"}},
                {"resource": {"type": "technology_asset", "id": "a-2"}, "action": {"name": "write"},
                 "subject": {"type": "group", "id": "g"}}
            ],
            "options": {"evaluations_semantic": "deny_on_first_deny", "other": 1}
        });
        let b = evaluations(&obj(body)).unwrap();
        assert!(!b.single);
        assert_eq!(b.semantic, Semantic::DenyOnFirstDeny);
        assert_eq!(b.items[0].subject.id, "alice");
        assert_eq!(b.items[0].action, "read");
        assert_eq!(b.items[1].subject.principal_type, PrincipalType::Group);
        assert_eq!(b.items[1].action, "write");
        assert_eq!(b.items[1].resource, AssetRef::Name("a-2".into()));
    }

    #[test]
    fn a_batch_without_items_is_one_evaluation() {
        for extra in [
            json!({}),
            json!({"evaluations": []}),
            json!({"evaluations": null}),
        ] {
            let mut body = good();
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let b = evaluations(&obj(body)).unwrap();
            assert!(b.single);
            assert_eq!(b.items.len(), 1);
            assert_eq!(b.semantic, Semantic::ExecuteAll);
        }
    }

    #[test]
    fn batch_errors_name_the_item_and_the_whole_request_fails() {
        let body = json!({
            "subject": {"type": "person", "id": "alice"},
            "evaluations": [
                {"resource": {"type": "technology_asset", "id": ID}, "action": {"name": "read"}},
                {"resource": {"type": "technology_asset", "id": ID}},
                {"resource": {"type": "nope", "id": ID}, "action": {"name": "read"}},
                7
            ],
            "options": {"evaluations_semantic": "first"}
        });
        assert_eq!(
            fields(evaluations(&obj(body))),
            [
                "evaluations[1].action",
                "evaluations[2].resource.type",
                "evaluations[3]",
                "options.evaluations_semantic"
            ]
        );
        // A malformed default is named once, by its own path, even when every item overrides it.
        let body = json!({"subject": {"type": "robot", "id": "x"},
            "evaluations": [{"subject": {"type": "person", "id": "a"}, "resource": {"type": "technology_asset", "id": ID}, "action": {"name": "r"}}]});
        assert_eq!(fields(evaluations(&obj(body))), ["subject.type"]);
        let body = json!({"subject": {"type": "robot", "id": "x"},
            "evaluations": [{"resource": {"type": "technology_asset", "id": ID}, "action": {"name": "r"}}]});
        assert_eq!(fields(evaluations(&obj(body))), ["subject.type"]);
        let items: Vec<Value> = (0..101).map(|_| json!({})).collect();
        assert_eq!(
            fields(evaluations(&obj(json!({"evaluations": items})))),
            ["evaluations"]
        );
        assert_eq!(
            fields(evaluations(&obj(json!({"evaluations": {}})))),
            ["evaluations"]
        );
    }

    #[test]
    fn searches() {
        let s = subject_search(&obj(
            json!({"subject": {"type": "group"}, "resource": {"type": "technology_asset", "id": ID},
            "action": {"name": "read"}, "page": {"limit": 10, "token": ""}}),
        ))
        .unwrap();
        assert_eq!(
            (s.principal_type, s.page.limit, s.page.token),
            (PrincipalType::Group, 10, None)
        );
        let r = resource_search(&obj(json!({"subject": {"type": "person", "id": "a"}, "resource": {"type": "technology_asset"},
            "action": {"name": "read"}}))).unwrap();
        assert_eq!(r.page.limit, DEFAULT_PAGE);
        let a = action_search(&obj(json!({"subject": {"type": "person", "id": "a"}, "resource": {"type": "technology_asset", "id": "crm"}}))).unwrap();
        assert_eq!(a.resource, AssetRef::Name("crm".into()));
        assert_eq!(
            fields(subject_search(&obj(
                json!({"subject": {}, "resource": {"type": "technology_asset", "id": ID},
                "action": {"name": "read"}, "page": {"limit": 101, "token": 5}})
            ))),
            ["page.limit", "page.token", "subject.type"]
        );
        assert_eq!(
            fields(resource_search(&obj(
                json!({"subject": {"type": "person"}, "resource": {}, "action": {"name": "r"}, "page": {"limit": 0}})
            ))),
            ["page.limit", "resource.type", "subject.id"]
        );
    }
}
