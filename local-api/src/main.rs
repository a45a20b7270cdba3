//! `local-api`: the local development server behind `make dev` (never deployed).
//!
//! It serves the real route table (`functions::routes::dispatch`) on 127.0.0.1, turning each HTTP
//! request into the `lambda_http::Request` that API Gateway (HTTP API, payload v2) would hand a
//! function (`functions::apigw`, the builder the end-to-end tests use too), and also mints
//! development tokens and creates the table for the scripts.
//!
//! Development defaults (the only place they are applied): a variable that is *unset* takes its
//! default from `shared::config` (`DEV_HS256_SECRET`, `DEV_ISSUER`, `DEV_AUDIENCE`,
//! `DEFAULT_TABLE_NAME`) or [`devenv::DEV_CURSOR_SECRET`]; a variable set to the empty string stays
//! empty (so `JWT_HS256_SECRET=` turns HS256 off when a JWKS is used). `local-api dev-env` prints
//! the resulting environment for the scripts.

mod cli;
mod convert;
mod devenv;
mod docs;
#[cfg(test)]
mod e2e_tests;
mod seed;
mod server;
mod token;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use cli::Command;
use shared::config::Config;
use shared::state::State;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprint!("{message}");
            return ExitCode::from(2);
        }
    };
    // Before any thread exists: the defaults are written into this process's environment.
    devenv::apply_defaults();
    let result = match command {
        Command::Help => {
            print!("{}", cli::help(&args));
            Ok(())
        }
        Command::DevEnv => {
            print!("{}", devenv::render());
            Ok(())
        }
        Command::Token(options) => token::print_token(&options),
        Command::CreateTable => runtime().and_then(|rt| rt.block_on(create_table())),
        Command::Sweep => runtime().and_then(|rt| rt.block_on(sweep())),
        Command::Verify { tenant } => runtime().and_then(|rt| rt.block_on(verify(&tenant))),
        Command::SeedEvents => runtime().and_then(|rt| rt.block_on(seed_events())),
        Command::Serve { port } => runtime().and_then(|rt| rt.block_on(serve(port))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-api: {message}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Config + State + table: everything `serve` and `create-table` share.
async fn connect() -> Result<State, String> {
    if std::env::var_os("DYNAMODB_ENDPOINT").is_none_or(|v| v.is_empty()) {
        return Err(
            "DYNAMODB_ENDPOINT is not set: local-api only talks to a local DynamoDB \
                    (`make dev` starts one and sets it)"
                .into(),
        );
    }
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let endpoint = config.dynamodb_endpoint.clone().unwrap_or_default();
    let state = State::new(config).await.map_err(|e| e.to_string())?;
    shared::store::table::ensure_table(&state.db, &state.config.table_name)
        .await
        .map_err(|e| {
            format!(
                "cannot create or reach table {:?} at {endpoint}: {e}",
                state.config.table_name
            )
        })?;
    Ok(state)
}

async fn create_table() -> Result<(), String> {
    let state = connect().await?;
    eprintln!(
        "local-api: table {:?} is ready at {}",
        state.config.table_name,
        state.config.dynamodb_endpoint.as_deref().unwrap_or("?")
    );
    Ok(())
}

/// `make sweep`: one run of the expiry sweep, through the function's own code, with the budget
/// it uses when the deadline is unknown.
async fn sweep() -> Result<(), String> {
    shared::logging::init(functions::sweep::NAME);
    let state = connect().await?;
    // A fresh id per run, as the Lambda runtime gives one per invocation.
    let request_id = ulid::Ulid::generate().to_string();
    let budget = functions::sweep::UNKNOWN_DEADLINE_CAP;
    let report = functions::sweep::sweep_once(&state, budget, &request_id)
        .await
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

/// `make events`: the records the sample events name (seed.rs).
async fn seed_events() -> Result<(), String> {
    let mut state = connect().await?;
    seed::seed(&mut state).await
}

/// `make verify`: every history chain of `tenant`'s records recomputed (API.md §8). One line
/// per record that does not check, then a summary; an error (exit 1) if any does not.
async fn verify(tenant: &str) -> Result<(), String> {
    let state = connect().await?;
    let verdicts = shared::store::history::verify_tenant(&state, tenant)
        .await
        .map_err(|e| e.to_string())?;
    let broken: Vec<_> = verdicts.iter().filter(|v| !v.verdict.valid).collect();
    for v in &broken {
        println!("{}", serde_json::to_string(v).map_err(|e| e.to_string())?);
    }
    let events: i64 = verdicts.iter().map(|v| v.verdict.revisions).sum();
    println!(
        "tenant {tenant}: {} records, {events} events, {} broken chains",
        verdicts.len(),
        broken.len()
    );
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} history chains of tenant {tenant} do not check",
            broken.len()
        ))
    }
}

async fn serve(port: Option<u16>) -> Result<(), String> {
    shared::logging::init("local-api");
    let port = match port {
        Some(port) => port,
        None => match std::env::var("API_PORT") {
            Ok(value) if !value.trim().is_empty() => value
                .trim()
                .parse()
                .map_err(|_| format!("API_PORT must be a port number, not {value:?}"))?,
            _ => 3000,
        },
    };
    let state = connect().await?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    tracing::info!(
        address = %address,
        table = %state.config.table_name,
        dynamodb_endpoint = state.config.dynamodb_endpoint.as_deref().unwrap_or(""),
        "listening"
    );
    server::serve(listener, state, server::shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}
