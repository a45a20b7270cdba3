//! What a Lambda keeps between warm invocations: built once per cold start.

use crate::auth::Verifier;
use crate::config::{Config, ConfigError};
use crate::store::{self, Store};

/// The configuration, the verifier and the store handle; store calls take `&State` as the
/// `&Store` it derefs to, so the store sees only its handle.
pub struct State {
    pub config: Config,
    pub store: Store,
    pub verifier: Verifier,
}

impl std::ops::Deref for State {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl State {
    pub async fn new(config: Config) -> Result<State, ConfigError> {
        let db = store::client(&config, None).await;
        State::with_client(config, db)
    }

    pub async fn from_env() -> Result<State, ConfigError> {
        State::new(Config::from_env()?).await
    }

    /// For tests and tools that bring their own client (e.g. with a request counter).
    pub fn with_client(config: Config, db: aws_sdk_dynamodb::Client) -> Result<State, ConfigError> {
        let verifier = Verifier::new(&config.auth)?;
        let store = Store::new(db, &config);
        Ok(State {
            config,
            store,
            verifier,
        })
    }
}

impl State {
    /// The authenticated caller of a request; its tenant joins the request's log lines.
    pub async fn caller(
        &self,
        req: &lambda_http::Request,
    ) -> Result<crate::auth::Caller, crate::error::ApiError> {
        let mut caller = self.verifier.authenticate(req.headers()).await?;
        caller.request_id = crate::http::request_id(req);
        crate::metrics::record_tenant(&caller.tenant_id);
        Ok(caller)
    }
}
