//! Technology assets (seed 000): fields, validation, PATCH merge.

use crate::envelope::{Provenance, Record};
use crate::error::{ApiError, ApiResult};
use crate::input::{Field, Identifier, Input};
use crate::listing::{Filter, Spec};
use crate::time::Timestamp;
use crate::vocab::Closed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const ID_PREFIX: &str = "ast";

crate::closed_set! {
    pub enum Status {
        Active = "active", Deprecated = "deprecated",
        Decommissioned = "decommissioned",
    }
}

crate::closed_set! {
    pub enum Environment {
        Production = "production", Staging = "staging", Development = "development",
        Test = "test", Dr = "dr",
    }
}

crate::closed_set! {
    pub enum Hosting { Saas = "saas", Cloud = "cloud", OnPrem = "on_prem", Hybrid = "hybrid" }
}

crate::closed_set! {
    pub enum Criticality { Critical = "critical", High = "high", Medium = "medium", Low = "low" }
}

crate::closed_set! {
    pub enum Classification {
        Public = "public", Internal = "internal",
        Confidential = "confidential", Restricted = "restricted",
    }
}

const SHORT: usize = 200;
const DESCRIPTION: usize = 4000;
const URL: usize = 2048;
const MAX_TAGS: usize = 50;
const TAG: usize = 100;

/// `^[a-z0-9][a-z0-9-]{0,62}$`
pub const NAME: Identifier = Identifier {
    first: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    rest: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-',
    max_len: 63,
};

/// Whether `name` could be an asset's name (a name that cannot costs no read to resolve).
pub fn is_valid_name(name: &str) -> bool {
    NAME.matches(name)
}

/// The fields a client may set on an asset.
pub const FIELDS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "type",
    "category",
    "vendor",
    "version",
    "status",
    "owner",
    "environment",
    "hosting",
    "cloud_provider",
    "region",
    "url",
    "tags",
    "criticality",
    "data_classification",
    "owner_id",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub person_id: String,
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetFields {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub asset_type: Option<String>,
    pub category: Option<String>,
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub status: Status,
    pub owner: Option<Owner>,
    pub environment: Option<Environment>,
    pub hosting: Option<Hosting>,
    pub cloud_provider: Option<String>,
    pub region: Option<String>,
    pub url: Option<String>,
    pub tags: Option<Vec<String>>,
    pub criticality: Option<Criticality>,
    pub data_classification: Option<Classification>,
    pub owner_id: Option<String>,
}

pub type Asset = Record<AssetFields>;

impl super::Searchable for AssetFields {
    fn searched(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.name),
            self.display_name.as_deref(),
            self.description.as_deref(),
            self.vendor.as_deref(),
        ]
    }
}

/// Every field as read from a body: absent, null or a value.
struct Patch {
    name: Field<String>,
    display_name: Field<String>,
    description: Field<String>,
    asset_type: Field<String>,
    category: Field<String>,
    vendor: Field<String>,
    version: Field<String>,
    status: Field<Status>,
    owner: Field<OwnerPatch>,
    environment: Field<Environment>,
    hosting: Field<Hosting>,
    cloud_provider: Field<String>,
    region: Field<String>,
    url: Field<String>,
    tags: Field<Vec<String>>,
    criticality: Field<Criticality>,
    data_classification: Field<Classification>,
    owner_id: Field<String>,
}

struct OwnerPatch {
    person_id: Field<String>,
    group_id: Field<String>,
}

fn read_owner(input: &mut Input) -> Field<OwnerPatch> {
    let raw = input.object("owner", 4096);
    match raw {
        Field::Value(map) => {
            let mut inner = Input::nested(map, &["person_id", "group_id"]);
            let person_id = inner.string("person_id", SHORT);
            let group_id = inner.string("group_id", SHORT);
            if let Err(ApiError::Validation(errors)) = inner.finish() {
                for e in errors {
                    input.error(&format!("owner.{}", e.field), e.message);
                }
                return Field::Absent;
            }
            Field::Value(OwnerPatch {
                person_id,
                group_id,
            })
        }
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    }
}

fn read(input: &mut Input) -> Patch {
    Patch {
        name: input.pattern(
            "name",
            &NAME,
            "must be kebab-case: lower-case letters, digits and '-', starting with a letter or digit, at most 63 characters",
        ),
        display_name: input.string("display_name", SHORT),
        description: input.string("description", DESCRIPTION),
        asset_type: input.string("type", SHORT),
        category: input.string("category", SHORT),
        vendor: input.string("vendor", SHORT),
        version: input.string("version", SHORT),
        status: input.choice("status"),
        owner: read_owner(input),
        environment: input.choice("environment"),
        hosting: input.choice("hosting"),
        cloud_provider: input.string("cloud_provider", SHORT),
        region: input.string("region", SHORT),
        url: input.url("url", URL),
        tags: input.string_list("tags", MAX_TAGS, TAG),
        criticality: input.choice("criticality"),
        data_classification: input.choice("data_classification"),
        owner_id: input.string("owner_id", SHORT),
    }
}

/// Rules across fields, checked on the record as it would be stored.
fn check(hosting: Option<Hosting>, cloud_provider: Option<&str>, input: &mut Input) {
    let cloud_hosted = matches!(hosting, Some(Hosting::Cloud | Hosting::Hybrid));
    if cloud_provider.is_some() && !cloud_hosted && !input.has_error("cloud_provider") {
        input.error(
            "cloud_provider",
            "is only allowed when hosting is cloud or hybrid",
        );
    }
}

/// A create body → the asset's fields and the client's provenance.
pub fn parse_create(body: Map<String, Value>) -> ApiResult<(AssetFields, Provenance)> {
    let mut input = Input::new(body, FIELDS);
    let provenance = input.provenance();
    let p = read(&mut input);
    let name = input.required("name", p.name);
    if matches!(p.status, Field::Null) {
        input.error("status", "cannot be null");
    }
    let owner = match p.owner {
        Field::Value(o) => match o.person_id {
            Field::Value(person_id) => Some(Owner {
                person_id,
                group_id: o.group_id.value(),
            }),
            _ => {
                if !input.has_error("owner.person_id") {
                    input.error("owner.person_id", "is required");
                }
                None
            }
        },
        _ => None,
    };
    let hosting = p.hosting.value();
    let cloud_provider = p.cloud_provider.value();
    check(hosting, cloud_provider.as_deref(), &mut input);
    input.finish()?;
    let Some(name) = name else {
        return Err(ApiError::Internal("a required field passed unread".into()));
    };
    let fields = AssetFields {
        name,
        display_name: p.display_name.value(),
        description: p.description.value(),
        asset_type: p.asset_type.value(),
        category: p.category.value(),
        vendor: p.vendor.value(),
        version: p.version.value(),
        status: p.status.value().unwrap_or(Status::Active),
        owner,
        environment: p.environment.value(),
        hosting,
        cloud_provider,
        region: p.region.value(),
        url: p.url.value(),
        tags: p.tags.value(),
        criticality: p.criticality.value(),
        data_classification: p.data_classification.value(),
        owner_id: p.owner_id.value(),
    };
    Ok((fields, provenance))
}

/// A PATCH body applied to the current fields (JSON merge patch: null clears, `owner` merges).
pub fn apply_patch(
    current: &AssetFields,
    body: Map<String, Value>,
) -> ApiResult<(AssetFields, Provenance)> {
    let mut input = Input::new(body, FIELDS);
    let provenance = input.provenance();
    let p = read(&mut input);
    for (name, null) in [
        ("name", matches!(p.name, Field::Null)),
        ("status", matches!(p.status, Field::Null)),
    ] {
        if null {
            input.error(name, "cannot be null");
        }
    }
    let owner = match p.owner {
        Field::Absent => current.owner.clone(),
        Field::Null => None,
        Field::Value(o) => {
            let person_id = o
                .person_id
                .merge(current.owner.as_ref().map(|c| c.person_id.clone()));
            let group_id = o
                .group_id
                .merge(current.owner.as_ref().and_then(|c| c.group_id.clone()));
            match person_id {
                Some(person_id) => Some(Owner {
                    person_id,
                    group_id,
                }),
                None => {
                    if !input.has_error("owner.person_id") {
                        input.error("owner.person_id", "is required");
                    }
                    None
                }
            }
        }
    };
    let c = current.clone();
    let fields = AssetFields {
        name: p.name.value().unwrap_or(c.name),
        display_name: p.display_name.merge(c.display_name),
        description: p.description.merge(c.description),
        asset_type: p.asset_type.merge(c.asset_type),
        category: p.category.merge(c.category),
        vendor: p.vendor.merge(c.vendor),
        version: p.version.merge(c.version),
        status: p.status.value().unwrap_or(c.status),
        owner,
        environment: p.environment.merge(c.environment),
        hosting: p.hosting.merge(c.hosting),
        cloud_provider: p.cloud_provider.merge(c.cloud_provider),
        region: p.region.merge(c.region),
        url: p.url.merge(c.url),
        tags: p.tags.merge(c.tags),
        criticality: p.criticality.merge(c.criticality),
        data_classification: p.data_classification.merge(c.data_classification),
        owner_id: p.owner_id.merge(c.owner_id),
    };
    check(fields.hosting, fields.cloud_provider.as_deref(), &mut input);
    input.finish()?;
    Ok((fields, provenance))
}

/// The criticality an asset must not have for a grant that expires at `expires_at`: a grant
/// without expiry must not be on a critical asset (API.md §3). The store makes it a condition
/// of the grant's own write (`store::assets::live_count_update`, `criticality_check`), since
/// the asset may become critical at any time.
pub fn refused_criticality(expires_at: Option<Timestamp>) -> Option<Criticality> {
    expires_at.is_none().then_some(Criticality::Critical)
}

/// The 409 of deleting an asset that still has live (`active`/`pending_approval`)
/// entitlements. `visible` counts those the caller can see; `hidden` says that others exist
/// (for an app token, grants made outside its app): they block the delete too, but the caller
/// learns only that they exist, never how many.
pub fn still_granted(visible: i64, hidden: bool) -> ApiError {
    let s = if visible == 1 { "" } else { "s" };
    let detail = match (visible, hidden) {
        (0, _) => "the asset has live entitlements (active or pending approval) that this token \
                   cannot see; they must be revoked first"
            .to_string(),
        (n, true) => format!(
            "the asset has {n} live entitlement{s} (active or pending approval) that this token \
             can see, and others that it cannot; all must be revoked first"
        ),
        (n, false) => format!(
            "the asset has {n} live entitlement{s} (active or pending approval); revoke them first"
        ),
    };
    ApiError::conflict_with(detail, [("live_entitlements", Value::from(visible))])
}

/// List filters of API.md §5 for assets (exact match; `tag` = the tags contain it), plus `q`.
pub const LIST: Spec<'static> = Spec {
    filters: &[
        Filter::one_of("status", Status::NAMES),
        Filter::any("category"),
        Filter::any("vendor"),
        Filter::one_of("criticality", Criticality::NAMES),
        Filter::one_of("environment", Environment::NAMES),
        Filter::one_of("hosting", Hosting::NAMES),
        Filter::any("owner_id"),
        Filter::any("tag"),
    ],
    search: true,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fields_of, obj, sorted_fields_of, with_envelope_mistakes};
    use serde_json::json;

    #[test]
    fn a_refused_delete_counts_only_what_the_caller_sees() {
        let members = |e: ApiError| match e {
            ApiError::Conflict { detail, extra } => (detail, extra["live_entitlements"].clone()),
            other => panic!("expected a conflict, got {other:?}"),
        };
        let (detail, n) = members(still_granted(3, false));
        assert_eq!(n, 3);
        assert!(detail.contains("3 live entitlements") && !detail.contains("cannot"));
        let (detail, n) = members(still_granted(1, true));
        assert_eq!(n, 1);
        assert!(detail.contains("1 live entitlement ") && detail.contains("others"));
        let (detail, n) = members(still_granted(0, true));
        assert_eq!(n, 0);
        assert!(detail.contains("cannot see") && !detail.chars().any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn create_defaults() {
        let (f, p) = parse_create(obj(json!({"name": "payments"}))).unwrap();
        assert_eq!(f.status, Status::Active);
        assert_eq!(f.owner, None);
        assert_eq!(p, Provenance::default());
    }

    #[test]
    fn create_names_every_bad_field() {
        let err = parse_create(with_envelope_mistakes(json!({
            "name": "Not Kebab",
            "status": "gone",
            "url": "ftp://x",
            "hosting": "saas",
            "cloud_provider": "aws",
            "tags": [1],
            "owner": {"group_id": "g"}
        })))
        .unwrap_err();
        assert_eq!(
            sorted_fields_of(err),
            vec![
                "cloud_provider",
                "extra",
                "name",
                "owner.person_id",
                "source_type",
                "status",
                "tags",
                "url"
            ]
        );
    }

    #[test]
    fn name_is_required() {
        assert_eq!(
            fields_of(parse_create(obj(json!({}))).unwrap_err()),
            vec!["name"]
        );
    }

    #[test]
    fn cloud_provider_needs_cloud_hosting() {
        assert!(parse_create(obj(
            json!({"name": "a", "hosting": "hybrid", "cloud_provider": "gcp"})
        ))
        .is_ok());
        assert!(parse_create(obj(json!({"name": "a", "cloud_provider": "gcp"}))).is_err());
    }

    #[test]
    fn patch_merges_and_clears() {
        let (current, _) = parse_create(obj(json!({
            "name": "a", "vendor": "v", "hosting": "cloud", "cloud_provider": "aws",
            "owner": {"person_id": "p1", "group_id": "g1"}
        })))
        .unwrap();
        let (next, _) = apply_patch(
            &current,
            obj(json!({"vendor": null, "owner": {"group_id": null}, "description": "d"})),
        )
        .unwrap();
        assert_eq!(next.vendor, None);
        assert_eq!(next.description.as_deref(), Some("d"));
        assert_eq!(
            next.owner,
            Some(Owner {
                person_id: "p1".into(),
                group_id: None
            })
        );
        assert_eq!(next.cloud_provider.as_deref(), Some("aws"));
    }

    #[test]
    fn patch_checks_the_merged_record() {
        let (current, _) = parse_create(obj(json!({
            "name": "a", "hosting": "cloud", "cloud_provider": "aws"
        })))
        .unwrap();
        let err = apply_patch(&current, obj(json!({"hosting": "saas"}))).unwrap_err();
        assert_eq!(fields_of(err), vec!["cloud_provider"]);
        let err = apply_patch(&current, obj(json!({"name": null, "status": null}))).unwrap_err();
        assert_eq!(fields_of(err), vec!["name", "status"]);
    }

    #[test]
    fn search_text_is_lower_case() {
        let (fields, _) = parse_create(obj(json!({"name": "a", "vendor": "ACME"}))).unwrap();
        let env = crate::envelope::test_envelope("ast_1");
        let asset = Asset {
            envelope: env,
            fields,
        };
        assert_eq!(asset.search_text(), "a\u{1f}acme");
    }
}
