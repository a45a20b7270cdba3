//! Access decisions and searches (API.md §9) over the table.
//!
//! A decision reads base-table items only, consistently: the asset item and the live-grant
//! guard of (asset, holder, action) for the subject and each of its listed groups, all in one
//! wave of `BatchGetItem` (`batch::get`) for a whole batch of questions. The guards carry what
//! the rule needs (`LiveGrant`, kept in step by the entitlement transactions), so a grant or
//! revoke that has answered is in the next decision, and no index is ever read to decide. A
//! name costs one wave more (its name guard).
//!
//! A search finds candidates through the entitlement indexes (by asset, by principal), which
//! may lag, and keeps only those the same rule, run on the same consistent reads, finds live
//! now. A page is filled up to its limit within `SEARCH_ROUNDS` index pages.

use super::batch::{self, Projection};
use super::entitlements::live_grant_key;
use super::list::{self, Filter, Source};
use super::{assets, from_item, get_s, s, Item, Store};
use crate::auth::Caller;
use crate::cursor::{self, Binding};
use crate::domain::authzen::{
    ActionSearch, AssetRef, Evaluation, Page, ResourceSearch, SubjectSearch,
};
use crate::domain::decision::{self, AssetState, Decision, Holder, LiveGrant, Question, Via};
use crate::domain::entitlement::{Entitlement, PrincipalType, Status};
use crate::error::{ApiError, ApiResult};
use crate::keys;
use crate::time::Timestamp;
use crate::vocab::Closed;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Only what decisions read of the asset items, guards and name guards in a batch (an asset
/// item may be large; a decision needs five of its attributes).
pub const PROJECTION: Projection = Projection {
    expression:
        "#pk, #sk, #id, #tenant, #app, #deleted, #status, #eid, #asset, #ptype, #pid, #etype, #exp",
    names: &[
        ("#pk", keys::PK),
        ("#sk", keys::SK),
        ("#id", "id"),
        ("#tenant", "tenant_id"),
        ("#app", "app_id"),
        ("#deleted", "is_deleted"),
        ("#status", "status"),
        ("#eid", "entitlement_id"),
        ("#asset", "asset_id"),
        ("#ptype", "principal_type"),
        ("#pid", "principal_id"),
        ("#etype", "entitlement_type"),
        ("#exp", "expires_at"),
    ],
};

/// Index pages a search reads at most to fill one page of results.
pub const SEARCH_ROUNDS: usize = 3;

type KeyId = (String, String);

fn key_id(item: &Item) -> KeyId {
    (
        get_s(item, keys::PK).unwrap_or_default().to_string(),
        get_s(item, keys::SK).unwrap_or_default().to_string(),
    )
}

/// The keys of one wave of reads, each answered by the place it was wanted at: a key is built
/// once (a guard's costs a SHA-256), not again to find its item.
#[derive(Default)]
struct Wave {
    keys: Vec<Item>,
    ids: Vec<KeyId>,
}

/// The place of a key in its wave.
#[derive(Clone, Copy)]
struct Wanted(usize);

impl Wave {
    fn want(&mut self, key: Item) -> Wanted {
        self.ids.push(key_id(&key));
        self.keys.push(key);
        Wanted(self.ids.len() - 1)
    }

    async fn read(self, state: &Store) -> ApiResult<Found> {
        let items = batch::get(state, self.keys, Some(PROJECTION)).await?;
        Ok(Found {
            items: items.into_iter().map(|i| (key_id(&i), i)).collect(),
            ids: self.ids,
        })
    }
}

/// Items read, by key.
struct Found {
    items: HashMap<KeyId, Item>,
    ids: Vec<KeyId>,
}

impl Found {
    fn get(&self, Wanted(at): Wanted) -> Option<&Item> {
        self.items.get(self.ids.get(at)?)
    }

    fn asset(&self, wanted: Wanted) -> ApiResult<Option<AssetState>> {
        self.get(wanted)
            .map(|item| from_item(item.clone()))
            .transpose()
    }

    /// The guard wanted there. One that does not decode (written before guards carried the
    /// grant) counts as no grant: a decision fails closed, and the log names the item.
    fn guard(&self, wanted: Wanted) -> Option<LiveGrant> {
        let item = self.get(wanted)?;
        match from_item::<LiveGrant>(item.clone()) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::error!(error = %e, "live-grant guard without its grant; denied");
                None
            }
        }
    }
}

/// The asset ids of the names among `refs`, for this caller (one wave of reads of their name
/// guards; none when no name is asked for). A name of another app's asset resolves to nothing.
async fn resolve_names<'a>(
    state: &Store,
    caller: &Caller,
    refs: impl Iterator<Item = &'a AssetRef>,
) -> ApiResult<HashMap<String, String>> {
    let names: BTreeSet<&str> = refs
        .filter_map(|r| match r {
            AssetRef::Name(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    let mut wave = Wave::default();
    let wanted: Vec<(&str, Wanted)> = names
        .into_iter()
        .map(|n| (n, wave.want(assets::name_guard_key(&caller.tenant_id, n))))
        .collect();
    let found = wave.read(state).await?;
    let mut ids = HashMap::new();
    for (name, at) in wanted {
        let Some(item) = found.get(at) else {
            continue;
        };
        let app_ok = caller
            .app_id
            .as_deref()
            .is_none_or(|app| get_s(item, "app_id") == Some(app));
        if let (true, Some(id)) = (app_ok, get_s(item, "asset_id")) {
            ids.insert(name.to_string(), id.to_string());
        }
    }
    Ok(ids)
}

fn asset_id_of(r: &AssetRef, names: &HashMap<String, String>) -> Option<String> {
    match r {
        AssetRef::Id(id) => Some(id.clone()),
        AssetRef::Name(n) => names.get(n).cloned(),
        AssetRef::Nothing => None,
    }
}

fn guard_key(tenant: &str, asset_id: &str, holder: &Holder, action: &str) -> Item {
    live_grant_key(
        tenant,
        asset_id,
        holder.principal_type.as_str(),
        &holder.principal_id,
        action,
    )
}

/// The decisions of `questions`, in order: names resolved in one wave, then every question's
/// asset and guards in one more (so one round trip for questions by id, however many).
pub async fn evaluate(
    state: &Store,
    caller: &Caller,
    questions: &[Evaluation],
) -> ApiResult<Vec<Decision>> {
    let tenant = caller.tenant_id.as_str();
    let names = resolve_names(state, caller, questions.iter().map(|q| &q.resource)).await?;
    let asked: Vec<(Option<String>, Vec<Holder>)> = questions
        .iter()
        .map(|q| {
            let s = &q.subject;
            (
                asset_id_of(&q.resource, &names),
                decision::holders(s.principal_type, &s.id, &s.groups),
            )
        })
        .collect();
    let mut wave = Wave::default();
    // Per question: where its asset and each holder's guard were wanted (none without an asset).
    let wanted: Vec<Option<(Wanted, Vec<Wanted>)>> = questions
        .iter()
        .zip(&asked)
        .map(|(q, (asset_id, holders))| {
            let asset_id = asset_id.as_deref()?;
            let asset = wave.want(assets::key(tenant, asset_id));
            let guards = holders
                .iter()
                .map(|h| wave.want(guard_key(tenant, asset_id, h, &q.action)))
                .collect();
            Some((asset, guards))
        })
        .collect();
    let found = wave.read(state).await?;
    // The moment of evaluation is after the reads: an expiry passed while reading is passed.
    let now = Timestamp::now();
    let mut decisions = Vec::with_capacity(questions.len());
    for ((q, (_, holders)), wanted) in questions.iter().zip(&asked).zip(wanted) {
        let (asset, guards): (Option<AssetState>, Vec<Option<LiveGrant>>) = match wanted {
            Some((asset, guards)) => (
                found.asset(asset)?,
                guards.into_iter().map(|g| found.guard(g)).collect(),
            ),
            None => (None, holders.iter().map(|_| None).collect()),
        };
        decisions.push(decision::decide(
            &Question {
                tenant_id: tenant,
                app_id: caller.app_id.as_deref(),
                asset: asset.as_ref(),
                action: &q.action,
                guards: holders
                    .iter()
                    .zip(guards.iter().map(Option::as_ref))
                    .collect(),
            },
            now,
        ));
    }
    Ok(decisions)
}

/// One page of search results and the token of the next (`""` on the last page).
pub struct SearchPage<T> {
    pub results: Vec<T>,
    pub next_token: String,
}

/// Where a search finds its candidates and what it binds its tokens to.
struct Candidates {
    search: &'static str,
    source: Source<'static>,
    filter: Filter,
    bound: BTreeMap<String, String>,
}

impl Candidates {
    /// Active grants, of the app for app tokens: the index's view, re-checked after.
    fn new(search: &'static str, source: Source<'static>, caller: &Caller) -> Candidates {
        let mut filter = Filter::default();
        filter.eq("status", s(Status::Active.as_str()));
        if let Some(app) = &caller.app_id {
            filter.scope_eq("app_id", s(app));
        }
        Candidates {
            search,
            source,
            filter,
            bound: BTreeMap::new(),
        }
    }

    fn with(mut self, attr: &'static str, value: &str) -> Candidates {
        self.filter.eq(attr, s(value));
        self.bound.insert(attr.to_string(), value.to_string());
        self
    }
}

/// A page of the candidates' grants that are live now, in index order (newest grant first).
async fn live_page(
    state: &Store,
    caller: &Caller,
    candidates: Candidates,
    page: &Page,
) -> ApiResult<SearchPage<LiveGrant>> {
    let binding = Binding {
        tenant_id: caller.tenant_id.clone(),
        app_id: caller.app_id.clone(),
        collection: candidates.search,
        filters: candidates.bound,
    };
    let secret = state.cursor_secret();
    let mut start = match &page.token {
        Some(token) => Some(
            cursor::decode(secret, &binding, token)
                .map_err(|_| ApiError::field("page.token", "is not a next_token of this search"))?,
        ),
        None => None,
    };
    let mut results = Vec::with_capacity(page.limit);
    for _ in 0..SEARCH_ROUNDS {
        let want = page.limit - results.len();
        let read = list::page(
            &state.db,
            state.table(),
            &candidates.source,
            &candidates.filter,
            want,
            start.take(),
        )
        .await?;
        let grants: Vec<LiveGrant> = read
            .items
            .into_iter()
            .map(|item| from_item::<Entitlement>(item).map(|e| LiveGrant::of(&e)))
            .collect::<ApiResult<_>>()?;
        results.extend(live_now(state, caller, grants).await?);
        start = read.next;
        if start.is_none() || results.len() >= page.limit {
            break;
        }
    }
    let next_token = match start {
        Some(key) => cursor::encode(secret, &binding, &key)?,
        None => String::new(),
    };
    Ok(SearchPage {
        results,
        next_token,
    })
}

/// The grants among `grants` that a decision would count now: each one's asset and guard read
/// consistently (one wave), the guard still this entitlement's, the rule satisfied.
async fn live_now(
    state: &Store,
    caller: &Caller,
    grants: Vec<LiveGrant>,
) -> ApiResult<Vec<LiveGrant>> {
    let tenant = caller.tenant_id.as_str();
    let holder = |g: &LiveGrant| Holder {
        principal_type: g.principal_type,
        principal_id: g.principal_id.clone(),
        via: Via::Direct,
    };
    let mut wave = Wave::default();
    let wanted: Vec<(Wanted, Wanted)> = grants
        .iter()
        .map(|g| {
            let asset = wave.want(assets::key(tenant, &g.asset_id));
            let guard = wave.want(guard_key(
                tenant,
                &g.asset_id,
                &holder(g),
                &g.entitlement_type,
            ));
            (asset, guard)
        })
        .collect();
    let found = wave.read(state).await?;
    let now = Timestamp::now();
    let mut live = Vec::new();
    for (g, (asset, guard)) in grants.into_iter().zip(wanted) {
        let h = holder(&g);
        let asset = found.asset(asset)?;
        let guard = found
            .guard(guard)
            .filter(|guard| guard.entitlement_id == g.entitlement_id);
        let d = decision::decide(
            &Question {
                tenant_id: tenant,
                app_id: caller.app_id.as_deref(),
                asset: asset.as_ref(),
                action: &g.entitlement_type,
                guards: vec![(&h, guard.as_ref())],
            },
            now,
        );
        if d.decision {
            live.push(g);
        }
    }
    Ok(live)
}

/// The one asset a search names, for this caller (`None`: it names nothing the caller sees,
/// and the search finds nothing).
async fn asset_of(state: &Store, caller: &Caller, r: &AssetRef) -> ApiResult<Option<String>> {
    let names = resolve_names(state, caller, std::iter::once(r)).await?;
    Ok(asset_id_of(r, &names))
}

fn empty<T>() -> SearchPage<T> {
    SearchPage {
        results: Vec::new(),
        next_token: String::new(),
    }
}

/// The principals of `principal_type` holding `action` on the asset (their own grants: group
/// membership is not known here).
pub async fn search_subjects(
    state: &Store,
    caller: &Caller,
    q: &SubjectSearch,
) -> ApiResult<SearchPage<(PrincipalType, String)>> {
    let Some(asset_id) = asset_of(state, caller, &q.resource).await? else {
        return Ok(empty());
    };
    let source = Source::gsi1(keys::entitlements_by_asset(&caller.tenant_id, &asset_id));
    let candidates = Candidates::new("access-search-subject", source, caller)
        .with("asset_id", &asset_id)
        .with("entitlement_type", &q.action)
        .with("principal_type", q.principal_type.as_str());
    let page = live_page(state, caller, candidates, &q.page).await?;
    Ok(SearchPage {
        results: page
            .results
            .into_iter()
            .map(|g| (g.principal_type, g.principal_id))
            .collect(),
        next_token: page.next_token,
    })
}

/// The assets on which the subject (by its own grants) holds `action`, by `ast_` id.
pub async fn search_resources(
    state: &Store,
    caller: &Caller,
    q: &ResourceSearch,
) -> ApiResult<SearchPage<String>> {
    let source = Source::gsi2(keys::entitlements_by_principal(
        &caller.tenant_id,
        &q.subject.id,
    ));
    let candidates = Candidates::new("access-search-resource", source, caller)
        .with("principal_id", &q.subject.id)
        .with("principal_type", q.subject.principal_type.as_str())
        .with("entitlement_type", &q.action);
    let page = live_page(state, caller, candidates, &q.page).await?;
    Ok(SearchPage {
        results: page.results.into_iter().map(|g| g.asset_id).collect(),
        next_token: page.next_token,
    })
}

/// The entitlement types the subject (by its own grants) holds on the asset.
pub async fn search_actions(
    state: &Store,
    caller: &Caller,
    q: &ActionSearch,
) -> ApiResult<SearchPage<String>> {
    let Some(asset_id) = asset_of(state, caller, &q.resource).await? else {
        return Ok(empty());
    };
    let source = Source::gsi1(keys::entitlements_by_asset(&caller.tenant_id, &asset_id));
    let candidates = Candidates::new("access-search-action", source, caller)
        .with("asset_id", &asset_id)
        .with("principal_id", &q.subject.id)
        .with("principal_type", q.subject.principal_type.as_str());
    let page = live_page(state, caller, candidates, &q.page).await?;
    Ok(SearchPage {
        results: page
            .results
            .into_iter()
            .map(|g| g.entitlement_type)
            .collect(),
        next_token: page.next_token,
    })
}
