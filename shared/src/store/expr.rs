//! Expression placeholders for updates and conditions, so attribute names (some are reserved
//! words such as `name`, `status`, `type`) are always aliased.

use super::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn name(&mut self, attr: &str) -> String {
        let alias = format!(
            "#{}",
            attr.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.names.insert(alias.clone(), attr.to_string());
        alias
    }

    pub fn value(&mut self, value: AttributeValue) -> String {
        let alias = format!(":v{}", self.values.len());
        self.values.insert(alias, value);
        format!(":v{}", self.values.len() - 1)
    }

    /// `SET a = :a, …` for every attribute of `item` except `skip`; what is not set is kept.
    pub fn set_all(&mut self, item: &Item, skip: &[&str]) -> String {
        let mut attrs: Vec<&String> = item
            .keys()
            .filter(|k| !skip.contains(&k.as_str()))
            .collect();
        attrs.sort();
        let parts: Vec<String> = attrs
            .into_iter()
            .map(|k| {
                let n = self.name(k);
                let v = self.value(item[k].clone());
                format!("{n} = {v}")
            })
            .collect();
        format!("SET {}", parts.join(", "))
    }

    /// ` REMOVE a, b` (with its leading space), or nothing.
    pub fn remove(&mut self, attrs: &[&str]) -> String {
        if attrs.is_empty() {
            return String::new();
        }
        let names: Vec<String> = attrs.iter().map(|a| self.name(a)).collect();
        format!(" REMOVE {}", names.join(", "))
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}
