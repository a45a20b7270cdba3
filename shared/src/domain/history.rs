//! History events (API.md §8) as plain values: what a write appends, how its hash is computed
//! and how a chain of them is checked. The store puts an event in the same transaction as its
//! change (`store::tx`); nothing here touches AWS.
//!
//! `hash` is the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the event without
//! its `hash` member; `prev_hash` chains it to the record's previous event (64 `0`s for the first).
//! A chain check works on events as JSON objects, exactly as a client receives them, so what the
//! server verifies is what anyone holding the events can verify.

use crate::domain::entitlement::PrincipalType;
use crate::envelope::{Record, SourceType};
use crate::error::{ApiError, FieldError};
use crate::listing::{Filter, ListParams, Spec};
use crate::time::Timestamp;
use crate::vocab::Closed;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const ID_PREFIX: &str = "evt";
/// `prev_hash` of a record's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The largest record an event may carry (API.md §8): twice this (a field's `from` and `to`)
/// and the record's own item stay inside DynamoDB's 400 KB item limit.
pub const MAX_RECORD_JSON: usize = 100 * 1024;
/// Fields of a record that every write moves and that `changes` therefore leaves out.
const UNTRACKED: &[&str] = &["updated_at", "updated_by", "revision"];

crate::closed_set! {
    /// The kind of record an event is about.
    pub enum ResourceType {
        TechnologyAsset = "technology_asset", Entitlement = "entitlement",
        AccessRequest = "access_request", MetadataAttribute = "metadata_attribute",
    }
}

crate::closed_set! {
    /// What a write did to its record.
    pub enum Action {
        Created = "created", Updated = "updated", Deleted = "deleted", Revoked = "revoked",
        Expired = "expired", Approved = "approved", Rejected = "rejected",
        Provisioned = "provisioned", Completed = "completed",
        MetadataAdded = "metadata_added", MetadataRemoved = "metadata_removed",
    }
}

/// A record's history: §5 paging only.
pub const HISTORY: Spec<'static> = Spec {
    filters: &[],
    search: false,
};

/// The tenant audit feed's filters (exact; `since`/`until` on `at`).
pub const FEED: Spec<'static> = Spec {
    filters: &[
        Filter::one_of("resource_type", ResourceType::NAMES),
        Filter::any("resource_id"),
        Filter::one_of("action", Action::NAMES),
        Filter::any("actor"),
        Filter::any("since"),
        Filter::any("until"),
    ],
    search: false,
};

/// Who had access when: `at`, and filters on the grants as they were.
pub const ACCESS_AT: Spec<'static> = Spec {
    filters: &[
        Filter::any("principal_id"),
        Filter::one_of("principal_type", PrincipalType::NAMES),
        Filter::any("entitlement_type"),
        Filter::any("at"),
    ],
    search: false,
};

/// A timestamp parameter of a list (`since`, `until`, `at`), taken out of its filters: any
/// RFC 3339 offset, or 400 naming it.
pub fn timestamp_param(params: &mut ListParams, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match params.filters.remove(name) {
        None => Ok(None),
        Some(text) => Timestamp::parse(&text)
            .map(Some)
            .map_err(|why| ApiError::field(name, why.to_string())),
    }
}

/// `?revision=&hash=` of a verify: both or neither, a positive revision and a SHA-256 hex.
pub fn kept_head(revision: Option<&str>, hash: Option<&str>) -> Result<Option<KeptHead>, ApiError> {
    let mut errors = Vec::new();
    let revision = revision.map(|r| match r.parse::<i64>() {
        Ok(n) if n >= 1 => n,
        _ => {
            errors.push(FieldError::new(
                "revision",
                "must be an integer of at least 1",
            ));
            0
        }
    });
    let hash = hash.map(|h| {
        if h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            errors.push(FieldError::new(
                "hash",
                "must be 64 lowercase hexadecimal digits",
            ));
        }
        h.to_string()
    });
    match (&revision, &hash) {
        (Some(_), None) => errors.push(FieldError::new("hash", "is required with revision")),
        (None, Some(_)) => errors.push(FieldError::new("revision", "is required with hash")),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(revision
        .zip(hash)
        .map(|(revision, hash)| KeptHead { revision, hash }))
}

/// A record kind that has a history.
pub trait Tracked {
    const RESOURCE_TYPE: ResourceType;
}

impl Tracked for super::asset::AssetFields {
    const RESOURCE_TYPE: ResourceType = ResourceType::TechnologyAsset;
}

impl Tracked for super::entitlement::EntitlementFields {
    const RESOURCE_TYPE: ResourceType = ResourceType::Entitlement;
}

impl Tracked for super::access_request::AccessRequestFields {
    const RESOURCE_TYPE: ResourceType = ResourceType::AccessRequest;
}

impl Tracked for super::attribute::AttributeFields {
    const RESOURCE_TYPE: ResourceType = ResourceType::MetadataAttribute;
}

/// Who writes, and under which request: a caller, or `system:<name>` for scheduled work.
#[derive(Debug, Clone, PartialEq)]
pub struct Writer {
    pub sub: String,
    /// The writer's token `app_id` (not the record's).
    pub app_id: Option<String>,
    pub request_id: String,
}

impl Writer {
    /// Scheduled work, as `actor` (`system:<name>`).
    pub fn system(actor: &str, request_id: impl Into<String>) -> Writer {
        Writer {
            sub: actor.to_string(),
            app_id: None,
            request_id: request_id.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventActor {
    pub sub: String,
    pub app_id: Option<String>,
    pub source: String,
    pub source_type: SourceType,
}

/// One event as it is hashed, stored and served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: String,
    pub tenant_id: String,
    pub app_id: Option<String>,
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub revision: i64,
    pub action: Action,
    pub at: Timestamp,
    pub actor: EventActor,
    pub request_id: String,
    pub changes: Changes,
    pub prev_hash: String,
    /// Left out while empty, which it is only while its own hash is being computed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hash: String,
    /// The event as stored and served: its canonical JSON, `hash` included.
    #[serde(skip)]
    pub text: String,
}

impl Event {
    /// The event as a JSON object, read back from what is stored.
    pub fn to_json(&self) -> Result<Map<String, Value>, ApiError> {
        serde_json::from_str(&self.text).map_err(|e| ApiError::Internal(format!("event text: {e}")))
    }

    /// Computes `hash` and `text`. The members are written in their canonical order by hand
    /// (RFC 8785 sorts them; these names are ASCII, so by byte), which spares building the event
    /// as a `Value` to sort it: a test holds this equal to `jcs::write` of the serialized event.
    /// `hash` sorts between `changes` and `id`, so `text` is the hashed bytes with it spliced in.
    fn seal(&mut self) -> std::io::Result<()> {
        use super::jcs::string;
        use std::io::Write;
        let mut out = Vec::with_capacity(512);
        let text = |out: &mut Vec<u8>, name: &str, value: &str| {
            write!(out, "\"{name}\":")?;
            string(value, out)?;
            out.write_all(b",")
        };
        let maybe = |out: &mut Vec<u8>, name: &str, value: Option<&str>| match value {
            Some(v) => text(out, name, v),
            None => write!(out, "\"{name}\":null,"),
        };
        out.write_all(b"{")?;
        text(&mut out, "action", self.action.as_str())?;
        out.write_all(b"\"actor\":{")?;
        maybe(&mut out, "app_id", self.actor.app_id.as_deref())?;
        text(&mut out, "source", &self.actor.source)?;
        text(&mut out, "source_type", self.actor.source_type.as_str())?;
        out.write_all(b"\"sub\":")?;
        string(&self.actor.sub, &mut out)?;
        out.write_all(b"},")?;
        maybe(&mut out, "app_id", self.app_id.as_deref())?;
        text(&mut out, "at", &self.at.as_string())?;
        out.write_all(b"\"changes\":")?;
        self.changes.write_canonical(&mut out)?;
        let splice = out.len();
        out.write_all(b",")?;
        text(&mut out, "id", &self.id)?;
        text(&mut out, "prev_hash", &self.prev_hash)?;
        text(&mut out, "request_id", &self.request_id)?;
        text(&mut out, "resource_id", &self.resource_id)?;
        text(&mut out, "resource_type", self.resource_type.as_str())?;
        write!(out, "\"revision\":{},", self.revision)?;
        out.write_all(b"\"tenant_id\":")?;
        string(&self.tenant_id, &mut out)?;
        out.write_all(b"}")?;
        self.hash = crate::keys::hex(&Sha256::digest(&out));
        let member = format!(",\"hash\":\"{}\"", self.hash);
        out.splice(splice..splice, member.into_bytes());
        self.text = String::from_utf8(out)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(())
    }
}

/// A record as the JSON object its history tracks: its stored fields, envelope included.
pub fn record_json<T: Serialize>(record: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Internal("record is not a JSON object".into())),
        Err(e) => Err(ApiError::Internal(format!("encode record: {e}"))),
    }
}

/// A record as JSON text, with the members and order of `record_json` (an entitlement event's
/// `state`), printed straight from the record.
pub fn record_text<T: Serialize>(record: &T) -> Result<String, ApiError> {
    serde_json::to_string(record).map_err(|e| ApiError::Internal(format!("encode record: {e}")))
}

/// A field's value before and after a write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub from: Value,
    pub to: Value,
}

/// An event's `changes`, `{"<field>": {"from", "to"}}`, held in canonical order (RFC 8785 sorts
/// members by their UTF-16 code units) so the event is written without building a map per field
/// to sort.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes(Vec<(String, Change)>);

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes as `jcs::write` writes them as an object.
    fn write_canonical<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        use super::jcs::{string, write};
        out.write_all(b"{")?;
        for (i, (field, change)) in self.0.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            string(field, out)?;
            out.write_all(b":{\"from\":")?;
            write(&change.from, out)?;
            out.write_all(b",\"to\":")?;
            write(&change.to, out)?;
            out.write_all(b"}")?;
        }
        out.write_all(b"}")
    }
}

impl From<Vec<(String, Change)>> for Changes {
    fn from(mut changes: Vec<(String, Change)>) -> Changes {
        changes.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        Changes(changes)
    }
}

impl Serialize for Changes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(field, change)| (field, change)))
    }
}

/// Every field whose value differs; on a create (`before` is `None`) every non-null field, from
/// `null`. The fields every write moves are left out. `after`'s values move into the changes (a
/// create's are all of them).
pub fn changes(before: Option<&Map<String, Value>>, after: Map<String, Value>) -> Changes {
    let empty = Map::new();
    let before = before.unwrap_or(&empty);
    let gone: Vec<String> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let mut out = Vec::with_capacity(after.len());
    let mut record = |field: String, to: Value| {
        if UNTRACKED.contains(&field.as_str()) {
            return;
        }
        let from = before.get(&field).unwrap_or(&Value::Null);
        if *from != to {
            let from = from.clone();
            out.push((field, Change { from, to }));
        }
    };
    for (field, to) in after {
        record(field, to);
    }
    for field in gone {
        record(field, Value::Null);
    }
    Changes::from(out)
}

/// Whether a write from `before` to `after` changes anything its history would record.
pub fn is_change<T: Serialize>(before: &T, after: &T) -> Result<bool, ApiError> {
    let before = record_json(before)?;
    Ok(!changes(Some(&before), record_json(after)?).is_empty())
}

/// A record over `MAX_RECORD_JSON` as JSON → 400 naming its largest field.
pub fn ensure_fits(record: &Map<String, Value>) -> Result<(), ApiError> {
    let total = crate::input::json_len(record);
    if total <= MAX_RECORD_JSON {
        return Ok(());
    }
    let largest = record
        .iter()
        .max_by_key(|(_, v)| crate::input::json_len(*v))
        .map_or("body", |(k, _)| k.as_str());
    Err(ApiError::field(
        largest,
        format!(
            "makes the record {total} bytes as JSON; a record may be at most {MAX_RECORD_JSON}"
        ),
    ))
}

/// The hash of an event object: SHA-256 over the JCS form of every member but `hash`.
pub fn hash_of(event: &Map<String, Value>) -> Result<String, ApiError> {
    hashed(|hasher| super::jcs::object(event, |name| name != "hash", hasher))
}

/// Lowercase hex SHA-256 of `value`'s JCS form, streamed into the hasher (no canonical text
/// buffered).
pub(crate) fn digest_of(value: &Value) -> Result<String, ApiError> {
    hashed(|hasher| super::jcs::write(value, hasher))
}

fn hashed(write: impl FnOnce(&mut Sha256) -> std::io::Result<()>) -> Result<String, ApiError> {
    let mut hasher = Sha256::new();
    write(&mut hasher).map_err(|e| ApiError::Internal(format!("canonicalize: {e}")))?;
    Ok(crate::keys::hex(&hasher.finalize()))
}

/// What a write appends: the event of `after` (the record as written), chained to `prev_hash`
/// (the record's head before the write, `GENESIS` on a create), with its hash computed.
pub struct Append<'a> {
    pub id: String,
    pub action: Action,
    pub writer: &'a Writer,
    pub prev_hash: &'a str,
}

impl Append<'_> {
    pub fn event<F: Serialize + Tracked>(
        self,
        before: Option<&Record<F>>,
        after: &Record<F>,
    ) -> Result<Event, ApiError> {
        let after_json = record_json(after)?;
        ensure_fits(&after_json)?;
        let before_json = before.map(record_json).transpose()?;
        let env = &after.envelope;
        let mut event = Event {
            id: self.id,
            tenant_id: env.tenant_id.clone(),
            app_id: env.app_id.clone(),
            resource_type: F::RESOURCE_TYPE,
            resource_id: env.id.clone(),
            revision: env.revision,
            action: self.action,
            at: env.updated_at,
            actor: EventActor {
                sub: self.writer.sub.clone(),
                app_id: self.writer.app_id.clone(),
                source: env.source.clone(),
                source_type: env.source_type,
            },
            request_id: self.writer.request_id.clone(),
            changes: changes(before_json.as_ref(), after_json),
            prev_hash: self.prev_hash.to_string(),
            hash: String::new(),
            text: String::new(),
        };
        event
            .seal()
            .map_err(|e| ApiError::Internal(format!("canonicalize event: {e}")))?;
        Ok(event)
    }
}

/// The answer of `GET …/history/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub revisions: i64,
    /// The hash the last event carries (`GENESIS` when there is none).
    pub head: String,
    /// The first revision whose hash or `prev_hash` does not check, or that is missing.
    pub broken_at: Option<i64>,
}

/// A head a client kept earlier: the chain must still pass through `hash` at `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptHead {
    pub revision: i64,
    pub hash: String,
}

/// Checks a record's events, oldest first: revisions `1..` with no gap, each hash recomputed,
/// each `prev_hash` the previous hash, the last revision the record's own (`record_revision`),
/// and, when given, the kept head. An event whose `revision` is not the next one breaks the chain
/// at the revision that was expected there (a removed or reordered event).
pub fn verify(
    events: &[Map<String, Value>],
    record_revision: i64,
    kept: Option<&KeptHead>,
) -> Verdict {
    let mut prev = GENESIS.to_string();
    let mut broken_at = None;
    let mut kept_seen = false;
    for (i, event) in events.iter().enumerate() {
        let expected = i as i64 + 1;
        let revision = event.get("revision").and_then(Value::as_i64);
        let hash = event.get("hash").and_then(Value::as_str).unwrap_or("");
        let prev_hash = event.get("prev_hash").and_then(Value::as_str).unwrap_or("");
        let checks = revision == Some(expected)
            && prev_hash == prev
            && hash_of(event).is_ok_and(|h| h == hash);
        if !checks {
            broken_at = Some(expected);
            break;
        }
        if let Some(k) = kept.filter(|k| k.revision == expected) {
            if k.hash != hash {
                broken_at = Some(expected);
                break;
            }
            kept_seen = true;
        }
        prev = hash.to_string();
    }
    let revisions = events.len() as i64;
    if broken_at.is_none() && revisions != record_revision {
        // Events missing at the end (or more events than the record has revisions).
        broken_at = Some(revisions.min(record_revision) + 1);
    }
    if broken_at.is_none() {
        if let Some(k) = kept.filter(|_| !kept_seen) {
            // The kept revision is past the chain's end: the chain lost it.
            broken_at = Some(k.revision.min(revisions + 1));
        }
    }
    // The hash the last event carries (API.md §8), also when the chain breaks before it.
    let head = events
        .last()
        .and_then(|e| e.get("hash"))
        .and_then(Value::as_str)
        .unwrap_or(GENESIS)
        .to_string();
    Verdict {
        valid: broken_at.is_none(),
        revisions,
        head,
        broken_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{test_envelope, Record};
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Thing {
        name: String,
        size: Option<i64>,
    }

    impl Tracked for Thing {
        const RESOURCE_TYPE: ResourceType = ResourceType::TechnologyAsset;
    }

    fn writer() -> Writer {
        Writer {
            sub: "u1".into(),
            app_id: None,
            request_id: "req-1".into(),
        }
    }

    /// A chain of `n` events of one record: created, then `n - 1` updates of `size`.
    fn chain(n: i64) -> Vec<Map<String, Value>> {
        let mut record = Record {
            envelope: test_envelope("ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V"),
            fields: Thing {
                name: "a".into(),
                size: None,
            },
        };
        let w = writer();
        let mut events = Vec::new();
        let mut prev = GENESIS.to_string();
        let mut before: Option<Record<Thing>> = None;
        for rev in 1..=n {
            if rev > 1 {
                record.envelope.revision = rev;
                record.fields.size = Some(rev);
            }
            let action = if rev == 1 {
                Action::Created
            } else {
                Action::Updated
            };
            let event = Append {
                id: format!("evt_{rev}"),
                action,
                writer: &w,
                prev_hash: &prev,
            }
            .event(before.as_ref(), &record)
            .unwrap();
            prev = event.hash.clone();
            events.push(event.to_json().unwrap());
            before = Some(record.clone());
        }
        events
    }

    #[test]
    fn a_create_records_every_non_null_field_from_null() {
        let after = json!({"id": "x", "name": "a", "size": null, "revision": 1, "updated_at": "t"});
        let c = changes(None, after.as_object().unwrap().clone());
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            json!({"id": {"from": null, "to": "x"}, "name": {"from": null, "to": "a"}})
        );
    }

    #[test]
    fn an_update_records_exactly_the_changed_fields() {
        let before =
            json!({"name": "a", "size": 1, "tags": ["x"], "revision": 1, "updated_by": "u"});
        let after = json!({"name": "a", "size": null, "tags": ["x", "y"], "revision": 2, "updated_by": "v"});
        let c = changes(before.as_object(), after.as_object().unwrap().clone());
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            json!({"size": {"from": 1, "to": null}, "tags": {"from": ["x"], "to": ["x", "y"]}})
        );
    }

    fn sealed(app_id: Option<&str>, changes: Value) -> Event {
        let mut event = Event {
            id: "evt_1".into(),
            tenant_id: "t\u{e9}\"1".into(),
            app_id: app_id.map(str::to_string),
            resource_type: ResourceType::AccessRequest,
            resource_id: "arq_1".into(),
            revision: 12,
            action: Action::MetadataAdded,
            at: Timestamp::parse("2026-01-02T03:04:05.678Z").unwrap(),
            actor: EventActor {
                sub: "user\n1".into(),
                app_id: app_id.map(|a| format!("{a}-writer")),
                source: "edm".into(),
                source_type: SourceType::Backend,
            },
            request_id: "req-1".into(),
            changes: Changes::from(
                changes
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(field, c)| {
                        let change = Change {
                            from: c["from"].clone(),
                            to: c["to"].clone(),
                        };
                        (field.clone(), change)
                    })
                    .collect::<Vec<_>>(),
            ),
            prev_hash: GENESIS.into(),
            hash: String::new(),
            text: String::new(),
        };
        event.seal().unwrap();
        event
    }

    #[test]
    fn an_event_is_sealed_as_jcs_writes_it() {
        // U+FF61 sorts after U+1F600 by UTF-16 code units (RFC 8785), before it by code point.
        let changes = json!({"z": {"from": null, "to": 1.5}, "a": {"from": [1], "to": {"y": 1, "b": "\u{1f600}"}},
            "\u{ff61}": {"from": "x", "to": null}, "\u{1f600}": {"from": true, "to": false}});
        for app in [None, Some("app1")] {
            let event = sealed(app, changes.clone());
            let mut unhashed = serde_json::to_value(Event {
                hash: String::new(),
                ..event.clone()
            })
            .unwrap();
            let mut canonical = Vec::new();
            crate::domain::jcs::write(&unhashed, &mut canonical).unwrap();
            assert_eq!(event.hash, crate::keys::hex(&Sha256::digest(&canonical)));
            unhashed["hash"] = json!(event.hash);
            let mut stored = Vec::new();
            crate::domain::jcs::write(&unhashed, &mut stored).unwrap();
            assert_eq!(event.text.as_bytes(), stored.as_slice(), "{app:?}");
            assert_eq!(hash_of(&event.to_json().unwrap()).unwrap(), event.hash);
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_jcs_form_without_hash() {
        // RFC 8785 sorts members and writes numbers in their shortest ECMAScript form.
        let event = json!({"b": 1.0, "a": "é", "hash": "ignored", "c": [1e21, 0.1]});
        // JCS writes non-ASCII characters as themselves, not as escapes.
        let literal = crate::keys::hex(&Sha256::digest(
            "{\"a\":\"é\",\"b\":1,\"c\":[1e+21,0.1]}".as_bytes(),
        ));
        let got = hash_of(event.as_object().unwrap()).unwrap();
        assert_eq!(got, literal);
    }

    #[test]
    fn a_whole_chain_verifies() {
        let events = chain(4);
        let v = verify(&events, 4, None);
        assert_eq!(
            v,
            Verdict {
                valid: true,
                revisions: 4,
                head: events[3]["hash"].as_str().unwrap().to_string(),
                broken_at: None,
            }
        );
        assert_eq!(events[0]["prev_hash"], GENESIS);
        assert_eq!(events[1]["prev_hash"], events[0]["hash"]);
    }

    #[test]
    fn a_changed_event_is_caught_at_its_revision() {
        let mut events = chain(4);
        events[2].insert("actor".into(), json!({"sub": "someone-else"}));
        assert_eq!(verify(&events, 4, None).broken_at, Some(3));
        let mut events = chain(4);
        events[1]
            .get_mut("changes")
            .and_then(Value::as_object_mut)
            .unwrap()
            .insert("size".into(), json!({"from": null, "to": 99}));
        assert_eq!(verify(&events, 4, None).broken_at, Some(2));
    }

    #[test]
    fn a_removed_event_is_caught() {
        let mut events = chain(4);
        events.remove(1);
        let v = verify(&events, 4, None);
        assert!(!v.valid);
        assert_eq!(v.broken_at, Some(2));
        // The last one removed: the record's revision says it is missing.
        let mut events = chain(4);
        events.pop();
        assert_eq!(verify(&events, 4, None).broken_at, Some(4));
    }

    #[test]
    fn a_swapped_order_is_caught() {
        let mut events = chain(4);
        events.swap(1, 2);
        let v = verify(&events, 4, None);
        assert_eq!(v.broken_at, Some(2));
        assert_eq!(
            v.head,
            events[3]["hash"].as_str().unwrap(),
            "the last event's, as stored"
        );
    }

    #[test]
    fn a_rewritten_chain_is_caught_by_a_kept_head() {
        let events = chain(3);
        let kept = KeptHead {
            revision: 2,
            hash: events[1]["hash"].as_str().unwrap().to_string(),
        };
        assert!(verify(&events, 3, Some(&kept)).valid);
        // A consistent rewrite (every hash recomputed) passes the chain check alone, but not
        // the kept head.
        let mut rewritten = chain(3);
        let mut prev = GENESIS.to_string();
        for e in rewritten.iter_mut() {
            e.insert("request_id".into(), json!("forged"));
            e.insert("prev_hash".into(), json!(prev));
            let h = hash_of(e).unwrap();
            e.insert("hash".into(), json!(h));
            prev = h;
        }
        assert!(verify(&rewritten, 3, None).valid);
        let v = verify(&rewritten, 3, Some(&kept));
        assert_eq!((v.valid, v.broken_at), (false, Some(2)));
        // A kept revision past the end: the chain lost it.
        let far = KeptHead {
            revision: 5,
            hash: kept.hash.clone(),
        };
        assert_eq!(verify(&events, 3, Some(&far)).broken_at, Some(4));
    }

    #[test]
    fn a_kept_head_is_both_parameters_or_neither() {
        let h = "a".repeat(64);
        assert_eq!(kept_head(None, None).unwrap(), None);
        assert_eq!(
            kept_head(Some("2"), Some(&h)).unwrap(),
            Some(KeptHead {
                revision: 2,
                hash: h.clone()
            })
        );
        for (r, hash, field) in [
            (Some("2"), None, "hash"),
            (None, Some(h.as_str()), "revision"),
            (Some("0"), Some(h.as_str()), "revision"),
            (Some("x"), Some(h.as_str()), "revision"),
            (Some("1"), Some("ABC"), "hash"),
        ] {
            match kept_head(r, hash) {
                Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, field),
                other => panic!("{r:?} {hash:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_record_over_the_limit_names_its_largest_field() {
        let record = json!({"name": "a", "description": "x".repeat(MAX_RECORD_JSON)});
        match ensure_fits(record.as_object().unwrap()) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "description"),
            other => panic!("expected a 400, got {other:?}"),
        }
        let small = json!({"name": "a"});
        assert!(ensure_fits(small.as_object().unwrap()).is_ok());
    }
}
