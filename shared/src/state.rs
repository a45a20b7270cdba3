//! What a Lambda keeps between warm invocations: built once per cold start.

use crate::auth::Verifier;
use crate::config::{Config, ConfigError};
use crate::envelope::IdGenerator;
use crate::store;

pub struct State {
    pub config: Config,
    pub db: aws_sdk_dynamodb::Client,
    pub verifier: Verifier,
    pub ids: IdGenerator,
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
        Ok(State {
            config,
            db,
            verifier,
            ids: IdGenerator::default(),
        })
    }

    pub fn table(&self) -> &str {
        &self.config.table_name
    }
}

impl State {
    /// The authenticated caller of a request; its tenant joins the request's log span.
    pub async fn caller(
        &self,
        req: &lambda_http::Request,
    ) -> Result<crate::auth::Caller, crate::error::ApiError> {
        let caller = self.verifier.authenticate(req.headers()).await?;
        tracing::Span::current().record("tenant", caller.tenant_id.as_str());
        Ok(caller)
    }
}
