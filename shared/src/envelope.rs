//! The envelope every record carries, and its stamping on create, update and delete.

use crate::auth::Caller;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use ulid::Generator;

/// Schema version of the documents this build writes.
pub const SCHEMA_VERSION: u32 = 1;
pub const DEFAULT_SOURCE: &str = "edm";

crate::closed_set! {
    /// What kind of client wrote a record last.
    pub enum SourceType {
        Frontend = "frontend", Backend = "backend", Server = "server",
        System = "system", Api = "api",
    }
}

/// Envelope fields a client may send (SDKs echo whole records) but never sets: ignored on input.
pub const SERVER_FIELDS: &[&str] = &[
    "id",
    "tenant_id",
    "app_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "is_deleted",
    "deleted_at",
    "deleted_by",
    "schema_version",
    "revision",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub source: String,
    pub source_type: SourceType,
    pub is_deleted: bool,
    pub deleted_at: Option<Timestamp>,
    pub deleted_by: Option<String>,
    pub schema_version: u32,
    pub revision: i64,
    /// The hash of the record's last history event, kept on its item so a write chains its
    /// event without reading the previous one. Never in a response: the item builder writes it
    /// (`store::searchable_item`), and history is served by its own routes.
    #[serde(rename = "history_head", default, skip_serializing)]
    pub head: Option<String>,
}

/// A stored record of any kind: the envelope and the kind's own fields, side by side in its
/// JSON and its item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<F> {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub fields: F,
}

impl<F> Record<F> {
    /// This record with new fields, stamped as `actor_id`'s write.
    pub fn revised(
        &self,
        fields: F,
        actor_id: &str,
        provenance: Provenance,
        now: Timestamp,
    ) -> Self {
        let mut envelope = self.envelope.clone();
        envelope.touch(actor_id, provenance, now);
        Record { envelope, fields }
    }
}

/// The client's say in the envelope: provenance only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    pub source: Option<String>,
    pub source_type: Option<SourceType>,
}

/// A validated create body: the kind's fields and their provenance, as the parsers return them
/// and the store's `create`s take them.
pub type New<F> = (F, Provenance);

/// Who writes: a caller's `sub`, or `system:<name>` for scheduled work.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Actor {
            id: c.sub.clone(),
            tenant_id: c.tenant_id.clone(),
            app_id: c.app_id.clone(),
        }
    }
}

impl Envelope {
    /// Whether an item attribute is the envelope's: a server field, the provenance, or `head`
    /// (stored as `history_head`). The record's own fields are every other attribute.
    pub fn reads(attribute: &str) -> bool {
        SERVER_FIELDS.contains(&attribute)
            || matches!(attribute, "source" | "source_type" | "history_head")
    }

    pub fn new(id: String, actor: &Actor, provenance: Provenance, now: Timestamp) -> Self {
        Envelope {
            id,
            tenant_id: actor.tenant_id.clone(),
            app_id: actor.app_id.clone(),
            created_at: now,
            updated_at: now,
            created_by: Some(actor.id.clone()),
            updated_by: Some(actor.id.clone()),
            source: provenance.source.unwrap_or_else(|| DEFAULT_SOURCE.into()),
            source_type: provenance.source_type.unwrap_or(SourceType::Api),
            is_deleted: false,
            deleted_at: None,
            deleted_by: None,
            schema_version: SCHEMA_VERSION,
            revision: 1,
            head: None,
        }
    }

    /// Stamps a write: every write moves `updated_*` and the revision. `updated_at` always
    /// moves forward, also when two writes land in one millisecond or a clock lags: a record's
    /// history is ordered by it (API.md §8, "as it was at T").
    pub fn touch(&mut self, actor_id: &str, provenance: Provenance, now: Timestamp) {
        self.updated_at = now.max(self.updated_at.plus_millis(1));
        self.updated_by = Some(actor_id.to_string());
        if let Some(source) = provenance.source {
            self.source = source;
        }
        if let Some(source_type) = provenance.source_type {
            self.source_type = source_type;
        }
        self.schema_version = SCHEMA_VERSION;
        self.revision += 1;
    }

    pub fn soft_delete(&mut self, actor_id: &str, now: Timestamp) {
        self.touch(actor_id, Provenance::default(), now);
        self.is_deleted = true;
        self.deleted_at = Some(now);
        self.deleted_by = Some(actor_id.to_string());
    }

    /// Whether a caller may see this record at all: same tenant, and same app for app tokens.
    pub fn visible_to(&self, tenant_id: &str, app_id: Option<&str>) -> bool {
        self.tenant_id == tenant_id && app_id.is_none_or(|app| self.app_id.as_deref() == Some(app))
    }
}

/// Whether `id` is a record id of this type: `<prefix>_` and a 26-character ULID. Anything
/// else names nothing, so it is a 404 without a read (and never reaches a key).
pub fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid::Ulid::from_string(ulid).is_ok())
}

/// Monotonic ULIDs, one generator per process so ids made in one millisecond still sort.
/// A generator may also hold ids given in advance (`pinned`): the records `local-api
/// seed-events` creates get the fixed ids that events/*.json name.
pub struct IdGenerator(Mutex<Generator>, Mutex<Vec<String>>);

impl Default for IdGenerator {
    fn default() -> Self {
        IdGenerator(Mutex::new(Generator::new()), Mutex::new(Vec::new()))
    }
}

impl IdGenerator {
    /// A generator whose next id of a prefix is the first of `ids` with that prefix (each used
    /// once), then fresh ULIDs. Only for development seeds: ids must stay unique.
    pub fn pinned(ids: Vec<String>) -> Self {
        IdGenerator(Mutex::new(Generator::new()), Mutex::new(ids))
    }

    /// `prefix` is the type prefix without underscore, e.g. `ast`.
    pub fn next(&self, prefix: &str) -> String {
        if let Ok(mut pinned) = self.1.lock() {
            let wanted = format!("{prefix}_");
            if let Some(at) = pinned.iter().position(|id| id.starts_with(&wanted)) {
                return pinned.remove(at);
            }
        }
        let ulid = match self.0.lock() {
            Ok(mut generator) => generator
                .generate()
                .unwrap_or_else(|_| ulid::Ulid::generate()),
            // A poisoned lock only means another thread panicked mid-generate; a fresh ULID is still unique.
            Err(_) => ulid::Ulid::generate(),
        };
        format!("{prefix}_{ulid}")
    }
}

/// A record's envelope as the domain's unit tests need one: created now by `u` of tenant `t`.
#[cfg(test)]
pub(crate) fn test_envelope(id: &str) -> Envelope {
    let actor = Actor {
        id: "u".into(),
        tenant_id: "t".into(),
        app_id: None,
    };
    Envelope::new(id.into(), &actor, Provenance::default(), Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            id: "u1".into(),
            tenant_id: "t1".into(),
            app_id: None,
        }
    }

    #[test]
    fn new_envelope_has_defaults() {
        let e = Envelope::new(
            "ast_X".into(),
            &actor(),
            Provenance::default(),
            Timestamp::now(),
        );
        assert_eq!(e.source, "edm");
        assert_eq!(e.source_type, SourceType::Api);
        assert_eq!(e.revision, 1);
        assert_eq!(e.created_by.as_deref(), Some("u1"));
        assert!(!e.is_deleted);
    }

    #[test]
    fn touch_bumps_revision_and_stamps() {
        let t0 = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let t1 = Timestamp::parse("2026-01-02T00:00:00Z").unwrap();
        let mut e = Envelope::new("ast_X".into(), &actor(), Provenance::default(), t0);
        e.touch("u2", Provenance::default(), t1);
        assert_eq!(e.revision, 2);
        assert_eq!(e.updated_by.as_deref(), Some("u2"));
        assert_eq!(e.updated_at, t1);
        assert_eq!(e.created_at, t0);
    }

    #[test]
    fn app_tokens_see_only_their_app() {
        let mut e = Envelope::new(
            "ast_X".into(),
            &actor(),
            Provenance::default(),
            Timestamp::now(),
        );
        assert!(e.visible_to("t1", None));
        assert!(!e.visible_to("t1", Some("app1")));
        assert!(!e.visible_to("t2", None));
        e.app_id = Some("app1".into());
        assert!(e.visible_to("t1", Some("app1")));
        assert!(!e.visible_to("t1", Some("app2")));
        assert!(e.visible_to("t1", None));
    }

    #[test]
    fn id_shapes() {
        let g = IdGenerator::default();
        assert!(is_id(&g.next("ast"), "ast"));
        assert!(!is_id(&g.next("ast"), "ent"));
        assert!(!is_id("ast_x", "ast"));
        assert!(!is_id(&format!("ast_{}", "0".repeat(1100)), "ast"));
        assert!(!is_id("ast01JD3Q9Z8X4K2M7N5P6R8S0T1V", "ast"));
    }

    #[test]
    fn ids_are_prefixed_and_increasing() {
        let g = IdGenerator::default();
        let a = g.next("ast");
        let b = g.next("ast");
        assert!(a.starts_with("ast_") && a.len() == 30);
        assert!(a < b);
    }
}
