//! The access decision (API.md §9) as a plain function: may this subject use this asset this
//! way, now? `decide` judges what the store read (the asset and the live-grant guards of the
//! subject and its groups); it reads nothing itself.
//!
//! True exactly when an `active` grant of that `entitlement_type` on a live (not deleted, not
//! `decommissioned`) asset is held by the subject or one of its listed groups, its `expires_at`
//! is null or after `now` (whether or not the sweep has run), and — for an app token — both the
//! asset and the grant are the app's.

use super::asset;
use super::entitlement::{Entitlement, PrincipalType, Status};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What a live-grant guard item carries beside its key: enough to decide without reading the
/// entitlement. Written and rewritten in the same transactions as the entitlement itself
/// (`store::entitlements`), so it is never behind the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveGrant {
    pub entitlement_id: String,
    pub asset_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    pub principal_type: PrincipalType,
    pub principal_id: String,
    pub entitlement_type: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl LiveGrant {
    pub fn of(ent: &Entitlement) -> LiveGrant {
        let f = &ent.fields;
        LiveGrant {
            entitlement_id: ent.envelope.id.clone(),
            asset_id: f.asset_id.clone(),
            app_id: ent.envelope.app_id.clone(),
            principal_type: f.principal_type,
            principal_id: f.principal_id.clone(),
            entitlement_type: f.entitlement_type.clone(),
            status: f.status,
            expires_at: f.expires_at,
        }
    }

    /// Counts as access at `now`: active (never `pending_approval`) and not yet expired.
    fn holds_at(&self, now: Timestamp) -> bool {
        self.status == Status::Active && !self.expired_at(now)
    }

    fn expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The asset as a decision sees it (the few attributes read of its item).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssetState {
    #[serde(rename = "id")]
    pub asset_id: String,
    pub tenant_id: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub is_deleted: bool,
    pub status: asset::Status,
}

crate::closed_set! {
    /// Why a decision is what it is (`context.reason`).
    pub enum Reason {
        Granted = "granted", NoGrant = "no_grant", Expired = "expired",
        AssetNotFound = "asset_not_found", AssetDecommissioned = "asset_decommissioned",
    }
}

crate::closed_set! {
    /// How the subject holds a grant: its own, or through one of its listed groups.
    pub enum Via { Direct = "direct", Group = "group" }
}

/// A principal whose grants count for the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub principal_type: PrincipalType,
    pub principal_id: String,
    pub via: Via,
}

/// The subject itself, then each listed group once (a group subject's own id is not listed
/// twice).
pub fn holders(subject_type: PrincipalType, subject_id: &str, groups: &[String]) -> Vec<Holder> {
    let mut out = vec![Holder {
        principal_type: subject_type,
        principal_id: subject_id.to_string(),
        via: Via::Direct,
    }];
    for group in groups {
        let listed = out
            .iter()
            .any(|h| h.principal_type == PrincipalType::Group && &h.principal_id == group);
        if !listed {
            out.push(Holder {
                principal_type: PrincipalType::Group,
                principal_id: group.clone(),
                via: Via::Group,
            });
        }
    }
    out
}

/// One grant that makes a decision true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantView {
    pub entitlement_id: String,
    pub principal_type: PrincipalType,
    pub principal_id: String,
    pub entitlement_type: String,
    pub expires_at: Option<Timestamp>,
    pub via: Via,
}

/// A decision, serialised as AuthZEN's `{"decision", "context": {"reason", "grants"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: bool,
    pub reason: Reason,
    pub grants: Vec<GrantView>,
}

impl Decision {
    fn denied(reason: Reason) -> Decision {
        Decision {
            decision: false,
            reason,
            grants: Vec::new(),
        }
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Context<'a> {
            reason: Reason,
            grants: &'a [GrantView],
        }
        #[derive(Serialize)]
        struct Wire<'a> {
            decision: bool,
            context: Context<'a>,
        }
        Wire {
            decision: self.decision,
            context: Context {
                reason: self.reason,
                grants: &self.grants,
            },
        }
        .serialize(s)
    }
}

/// What one question asks, as the store found it.
pub struct Question<'a> {
    pub tenant_id: &'a str,
    /// The caller's app (app tokens see only their app's assets and grants).
    pub app_id: Option<&'a str>,
    /// The asset item, if the asset's id is known and its item exists.
    pub asset: Option<&'a AssetState>,
    pub action: &'a str,
    /// Each holder with the guard found under its key for (asset, holder, action), if any.
    pub guards: Vec<(&'a Holder, Option<&'a LiveGrant>)>,
}

/// The decision rule.
pub fn decide(q: &Question<'_>, now: Timestamp) -> Decision {
    let visible_to_app = |app: &Option<String>| q.app_id.is_none_or(|a| app.as_deref() == Some(a));
    let asset = match q.asset {
        Some(a) if a.tenant_id == q.tenant_id && visible_to_app(&a.app_id) && !a.is_deleted => a,
        // Another tenant's or app's asset is exactly a missing one.
        _ => return Decision::denied(Reason::AssetNotFound),
    };
    if asset.status == asset::Status::Decommissioned {
        return Decision::denied(Reason::AssetDecommissioned);
    }
    let mut grants = Vec::new();
    let mut expired = false;
    for (holder, guard) in &q.guards {
        let Some(g) = guard else { continue };
        // The key already says all of this; checking it again costs nothing and keeps a
        // stray item from ever granting what it does not name.
        let names_this = g.asset_id == asset.asset_id
            && g.principal_type == holder.principal_type
            && g.principal_id == holder.principal_id
            && g.entitlement_type == q.action
            && visible_to_app(&g.app_id);
        if !names_this {
            continue;
        }
        if g.holds_at(now) {
            grants.push(GrantView {
                entitlement_id: g.entitlement_id.clone(),
                principal_type: g.principal_type,
                principal_id: g.principal_id.clone(),
                entitlement_type: g.entitlement_type.clone(),
                expires_at: g.expires_at,
                via: holder.via,
            });
        } else if g.status == Status::Active && g.expired_at(now) {
            expired = true;
        }
    }
    if !grants.is_empty() {
        return Decision {
            decision: true,
            reason: Reason::Granted,
            grants,
        };
    }
    Decision::denied(if expired {
        Reason::Expired
    } else {
        Reason::NoGrant
    })
}

crate::closed_set! {
    /// `options.evaluations_semantic` of a batch (AuthZEN §7.2).
    pub enum Semantic {
        ExecuteAll = "execute_all", DenyOnFirstDeny = "deny_on_first_deny",
        PermitOnFirstPermit = "permit_on_first_permit",
    }
}

/// The answers a batch returns under `semantic`: all of them, or up to and including the first
/// deny (permit) for the short-circuit semantics.
pub fn short_circuit(decisions: Vec<Decision>, semantic: Semantic) -> Vec<Decision> {
    let stop = |d: &Decision| match semantic {
        Semantic::ExecuteAll => false,
        Semantic::DenyOnFirstDeny => !d.decision,
        Semantic::PermitOnFirstPermit => d.decision,
    };
    match decisions.iter().position(stop) {
        Some(i) => decisions.into_iter().take(i + 1).collect(),
        None => decisions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "t1";
    const ASSET: &str = "ast_1";

    fn asset(app: Option<&str>, deleted: bool, status: asset::Status) -> AssetState {
        AssetState {
            asset_id: ASSET.into(),
            tenant_id: T.into(),
            app_id: app.map(String::from),
            is_deleted: deleted,
            status,
        }
    }

    fn live() -> AssetState {
        asset(None, false, asset::Status::Active)
    }

    fn guard(holder: &Holder, status: Status, expires_at: Option<Timestamp>) -> LiveGrant {
        LiveGrant {
            entitlement_id: format!("ent_{}", holder.principal_id),
            asset_id: ASSET.into(),
            app_id: None,
            principal_type: holder.principal_type,
            principal_id: holder.principal_id.clone(),
            entitlement_type: "read".into(),
            status,
            expires_at,
        }
    }

    fn ask(
        asset: Option<&AssetState>,
        app: Option<&str>,
        guards: Vec<(&Holder, Option<&LiveGrant>)>,
        now: Timestamp,
    ) -> Decision {
        decide(
            &Question {
                tenant_id: T,
                app_id: app,
                asset,
                action: "read",
                guards,
            },
            now,
        )
    }

    #[test]
    fn the_rule_case_by_case() {
        let now = Timestamp::now();
        let later = Some(now.plus_seconds(60));
        let earlier = Some(now.plus_seconds(-1));
        let hs = holders(PrincipalType::Person, "alice", &["g1".into()]);
        let (alice, g1) = (&hs[0], &hs[1]);
        let active = guard(alice, Status::Active, None);
        let pending = guard(alice, Status::PendingApproval, None);
        let expiring = guard(alice, Status::Active, later);
        let lapsed = guard(alice, Status::Active, earlier);
        let now_exactly = guard(alice, Status::Active, Some(now));
        let by_group = guard(g1, Status::Active, None);
        let mut other_type = active.clone();
        other_type.entitlement_type = "write".into();
        let mut other_app = active.clone();
        other_app.app_id = Some("crm".into());
        let deleted = asset(None, true, asset::Status::Active);
        let decommissioned = asset(None, false, asset::Status::Decommissioned);
        let deprecated = asset(None, false, asset::Status::Deprecated);
        let mut foreign = live();
        foreign.tenant_id = "t2".into();
        let app_asset = asset(Some("crm"), false, asset::Status::Active);
        let l = live();

        type Case<'a> = (
            &'a str,
            Option<&'a AssetState>,
            Option<&'a str>,
            Vec<(&'a Holder, Option<&'a LiveGrant>)>,
            bool,
            Reason,
        );
        let cases: Vec<Case> = vec![
            (
                "direct",
                Some(&l),
                None,
                vec![(alice, Some(&active))],
                true,
                Reason::Granted,
            ),
            (
                "group",
                Some(&l),
                None,
                vec![(alice, None), (g1, Some(&by_group))],
                true,
                Reason::Granted,
            ),
            (
                "none",
                Some(&l),
                None,
                vec![(alice, None), (g1, None)],
                false,
                Reason::NoGrant,
            ),
            (
                "pending",
                Some(&l),
                None,
                vec![(alice, Some(&pending))],
                false,
                Reason::NoGrant,
            ),
            (
                "expires later",
                Some(&l),
                None,
                vec![(alice, Some(&expiring))],
                true,
                Reason::Granted,
            ),
            (
                "expired, unswept",
                Some(&l),
                None,
                vec![(alice, Some(&lapsed))],
                false,
                Reason::Expired,
            ),
            (
                "expires now",
                Some(&l),
                None,
                vec![(alice, Some(&now_exactly))],
                false,
                Reason::Expired,
            ),
            (
                "expired but a group holds it",
                Some(&l),
                None,
                vec![(alice, Some(&lapsed)), (g1, Some(&by_group))],
                true,
                Reason::Granted,
            ),
            (
                "another type",
                Some(&l),
                None,
                vec![(alice, Some(&other_type))],
                false,
                Reason::NoGrant,
            ),
            (
                "a holder's guard under another's key",
                Some(&l),
                None,
                vec![(g1, Some(&active))],
                false,
                Reason::NoGrant,
            ),
            (
                "no asset",
                None,
                None,
                vec![(alice, Some(&active))],
                false,
                Reason::AssetNotFound,
            ),
            (
                "deleted asset",
                Some(&deleted),
                None,
                vec![(alice, Some(&active))],
                false,
                Reason::AssetNotFound,
            ),
            (
                "another tenant's asset",
                Some(&foreign),
                None,
                vec![(alice, Some(&active))],
                false,
                Reason::AssetNotFound,
            ),
            (
                "another app's asset",
                Some(&app_asset),
                Some("erp"),
                vec![(alice, Some(&other_app))],
                false,
                Reason::AssetNotFound,
            ),
            (
                "a non-app asset, app token",
                Some(&l),
                Some("crm"),
                vec![(alice, Some(&other_app))],
                false,
                Reason::AssetNotFound,
            ),
            (
                "the app's asset, another app's grant",
                Some(&app_asset),
                Some("crm"),
                vec![(alice, Some(&active))],
                false,
                Reason::NoGrant,
            ),
            (
                "the app's asset and grant",
                Some(&app_asset),
                Some("crm"),
                vec![(alice, Some(&other_app))],
                true,
                Reason::Granted,
            ),
            (
                "a person token sees every app",
                Some(&app_asset),
                None,
                vec![(alice, Some(&other_app))],
                true,
                Reason::Granted,
            ),
            (
                "decommissioned",
                Some(&decommissioned),
                None,
                vec![(alice, Some(&active))],
                false,
                Reason::AssetDecommissioned,
            ),
            (
                "deprecated still grants",
                Some(&deprecated),
                None,
                vec![(alice, Some(&active))],
                true,
                Reason::Granted,
            ),
        ];
        for (name, asset, app, guards, decision, reason) in cases {
            let d = ask(asset, app, guards, now);
            assert_eq!((d.decision, d.reason), (decision, reason), "{name}");
            assert_eq!(d.grants.is_empty(), !decision, "{name}");
        }
    }

    #[test]
    fn grants_list_every_holder_that_grants_with_its_via() {
        let now = Timestamp::now();
        let hs = holders(PrincipalType::Person, "alice", &["g1".into(), "g2".into()]);
        let direct = guard(&hs[0], Status::Active, None);
        let g2 = guard(&hs[2], Status::Active, Some(now.plus_seconds(5)));
        let l = live();
        let d = ask(
            Some(&l),
            None,
            vec![(&hs[0], Some(&direct)), (&hs[1], None), (&hs[2], Some(&g2))],
            now,
        );
        let vias: Vec<(Via, &str)> = d
            .grants
            .iter()
            .map(|g| (g.via, g.principal_id.as_str()))
            .collect();
        assert_eq!(vias, [(Via::Direct, "alice"), (Via::Group, "g2")]);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["decision"], true);
        assert_eq!(json["context"]["reason"], "granted");
        assert_eq!(
            json["context"]["grants"][1]["expires_at"],
            g2.expires_at.unwrap().to_string()
        );
        assert_eq!(
            json["context"]["grants"][0]["expires_at"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn holders_list_each_group_once() {
        let hs = holders(
            PrincipalType::Group,
            "g1",
            &["g1".into(), "g2".into(), "g2".into()],
        );
        let ids: Vec<(&str, Via)> = hs
            .iter()
            .map(|h| (h.principal_id.as_str(), h.via))
            .collect();
        assert_eq!(ids, [("g1", Via::Direct), ("g2", Via::Group)]);
        // A person and a group may share an id: different principals.
        let hs = holders(PrincipalType::Person, "x", &["x".into()]);
        assert_eq!(hs.len(), 2);
    }

    #[test]
    fn short_circuits_stop_at_and_include_the_first() {
        let yes = || Decision {
            decision: true,
            reason: Reason::Granted,
            grants: vec![],
        };
        let no = || Decision::denied(Reason::NoGrant);
        let all = || vec![yes(), no(), yes(), no()];
        let shape = |ds: Vec<Decision>| ds.iter().map(|d| d.decision).collect::<Vec<_>>();
        assert_eq!(
            shape(short_circuit(all(), Semantic::ExecuteAll)),
            [true, false, true, false]
        );
        assert_eq!(
            shape(short_circuit(all(), Semantic::DenyOnFirstDeny)),
            [true, false]
        );
        assert_eq!(
            shape(short_circuit(all(), Semantic::PermitOnFirstPermit)),
            [true]
        );
        assert_eq!(
            shape(short_circuit(
                vec![no(), no()],
                Semantic::PermitOnFirstPermit
            )),
            [false, false]
        );
    }
}
