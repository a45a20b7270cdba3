//! List query parameters (API.md §5): `limit`, `cursor`, `include_deleted`, exact filters, `q`;
//! and the one rule of `include_deleted` (API.md §2), for lists and gets alike.

use crate::auth::{Caller, Scope};
use crate::error::{ApiError, FieldError};
use crate::http::Query;
use lambda_http::Request;
use std::collections::BTreeMap;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;
const COMMON: &[&str] = &["limit", "cursor", "include_deleted", "q"];

/// What a collection accepts: its exact-match filters, and whether `q` searches it.
pub struct Spec<'a> {
    pub filters: &'a [Filter<'a>],
    pub search: bool,
}

/// One exact-match filter: its name, and for an enum the values it may take (each filter is
/// named once, so an enum's check cannot drift from the filter it checks).
pub struct Filter<'a> {
    pub name: &'a str,
    pub one_of: Option<&'a [&'a str]>,
}

impl<'a> Filter<'a> {
    /// A filter that takes any value.
    pub const fn any(name: &'a str) -> Self {
        Filter { name, one_of: None }
    }

    /// A filter that takes only one of `values`.
    pub const fn one_of(name: &'a str, values: &'a [&'a str]) -> Self {
        Filter {
            name,
            one_of: Some(values),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: usize,
    pub cursor: Option<String>,
    pub include_deleted: bool,
    /// Exact-match filters by name, and `q` (lower-cased).
    pub filters: BTreeMap<String, String>,
}

/// A list's parameters, with `include_deleted=true` allowed only to holders of the
/// collection's `write` scope (403 without). Every collection takes it, also those whose
/// records are never deleted, where it changes nothing.
pub fn parse(
    req: &Request,
    spec: &Spec<'_>,
    caller: &Caller,
    write: Scope,
) -> Result<ListParams, ApiError> {
    let params = parse_query(req, spec)?;
    authorize_deleted(caller, params.include_deleted, write)?;
    Ok(params)
}

/// A get's only query parameter, `include_deleted`, under the same scope rule as lists.
pub fn include_deleted(req: &Request, caller: &Caller, write: Scope) -> Result<bool, ApiError> {
    let include_deleted = Query::parse(req, &["include_deleted"])?.flag("include_deleted")?;
    authorize_deleted(caller, include_deleted, write)?;
    Ok(include_deleted)
}

pub fn authorize_deleted(
    caller: &Caller,
    include_deleted: bool,
    write: Scope,
) -> Result<(), ApiError> {
    if include_deleted && !caller.has(write) {
        return Err(ApiError::Forbidden(format!(
            "include_deleted=true needs scope {write}"
        )));
    }
    Ok(())
}

fn parse_query(req: &Request, spec: &Spec<'_>) -> Result<ListParams, ApiError> {
    let allowed: Vec<&str> = COMMON
        .iter()
        .copied()
        .filter(|name| spec.search || *name != "q")
        .chain(spec.filters.iter().map(|f| f.name))
        .collect();
    let query = Query::parse(req, &allowed)?;
    let mut errors = Vec::new();
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let include_deleted = match query.flag("include_deleted") {
        Ok(b) => b,
        Err(_) => {
            errors.push(FieldError::new("include_deleted", "must be true or false"));
            false
        }
    };
    let mut filters = BTreeMap::new();
    for (name, value) in query.iter() {
        if COMMON.contains(&name) && name != "q" {
            continue;
        }
        if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
            errors.push(FieldError::new(
                name,
                "must be 1 to 200 characters, without control characters",
            ));
            continue;
        }
        let one_of = spec.filters.iter().find(|f| f.name == name);
        if let Some(allowed) = one_of.and_then(|f| f.one_of) {
            if !allowed.contains(&value) {
                errors.push(FieldError::new(
                    name,
                    format!("must be one of: {}", allowed.join(", ")),
                ));
                continue;
            }
        }
        let value = if name == "q" {
            value.to_lowercase()
        } else {
            value.to_string()
        };
        filters.insert(name.to_string(), value);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ListParams {
        limit,
        cursor: query.get("cursor").map(str::to_string),
        include_deleted,
        filters,
    })
}
