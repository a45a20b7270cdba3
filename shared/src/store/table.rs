//! The table's definition for local stacks and tests; `template.yaml` declares the same for AWS.

use super::fault;
use crate::error::ApiError;
use crate::keys;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, ApiError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn string_attr(name: &str) -> Result<AttributeDefinition, ApiError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// (index name, partition key attribute, sort key attribute)
pub const INDEXES: &[(&str, &str, &str)] = &[
    (keys::GSI1, keys::GSI1PK, keys::GSI1SK),
    (keys::GSI2, keys::GSI2PK, keys::GSI2SK),
    (keys::EXPIRY, keys::EXP_PK, keys::EXP_SK),
];

/// Creates the table with every index unless it exists, and waits until it is active.
pub async fn ensure_table(db: &Client, table_name: &str) -> Result<(), ApiError> {
    let create = table_status(db, table_name).await?.is_none();
    if create {
        let mut attrs = vec![string_attr(keys::PK)?, string_attr(keys::SK)?];
        let mut gsis = Vec::new();
        for (name, pk, sk) in INDEXES {
            attrs.push(string_attr(pk)?);
            attrs.push(string_attr(sk)?);
            gsis.push(
                GlobalSecondaryIndex::builder()
                    .index_name(*name)
                    .key_schema(key(pk, KeyType::Hash)?)
                    .key_schema(key(sk, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
        }
        let created = db
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .set_attribute_definitions(Some(attrs))
            .set_global_secondary_indexes(Some(gsis))
            .send()
            .await;
        if let Err(err) = created {
            // Another process may have created it meanwhile.
            if table_status(db, table_name).await?.is_none() {
                return Err(fault("CreateTable", err));
            }
        }
    }
    for _ in 0..100 {
        if table_status(db, table_name).await? == Some(TableStatus::Active) {
            return if create {
                enable_ttl(db, table_name).await
            } else {
                Ok(())
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ApiError::Unavailable(format!(
        "table {table_name} did not become active"
    )))
}

/// TTL on idempotency keys' `purge_at`, as `template.yaml` declares it.
async fn enable_ttl(db: &Client, table_name: &str) -> Result<(), ApiError> {
    let spec = TimeToLiveSpecification::builder()
        .attribute_name(super::idempotency::PURGE_AT)
        .enabled(true)
        .build()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    db.update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| fault("UpdateTimeToLive", e))?;
    Ok(())
}

async fn table_status(db: &Client, table_name: &str) -> Result<Option<TableStatus>, ApiError> {
    match db.describe_table().table_name(table_name).send().await {
        Ok(out) => Ok(out.table().and_then(|t| t.table_status().cloned())),
        Err(err) => {
            let missing = err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception());
            if missing {
                Ok(None)
            } else {
                Err(fault("DescribeTable", err))
            }
        }
    }
}
