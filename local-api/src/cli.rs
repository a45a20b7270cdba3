//! The command line, declared for `clap`: four subcommands and a handful of flags.

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};

const DEFAULT_SUB: &str = "dev-user";
const DEFAULT_TENANT: &str = "dev-tenant";
const DEFAULT_TTL_SECONDS: u32 = 12 * 60 * 60;

#[derive(Parser)]
#[command(
    name = "local-api",
    about = "The local development server behind `make dev` (never deployed).",
    args_conflicts_with_subcommands = true,
    after_help = "environment: DYNAMODB_ENDPOINT (required for serve/create-table/sweep), \
TABLE_NAME, JWT_HS256_SECRET, JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, CURSOR_SECRET, API_PORT, \
RUST_LOG. Unset ones take the development defaults (see `local-api dev-env`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Subcommands>,
    /// `serve`'s options also work without the subcommand (serving is the default).
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Subcommands {
    /// Serve every route on 127.0.0.1:${API_PORT:-3000} (the default command).
    Serve(ServeArgs),
    /// Print a development HS256 token signed with JWT_HS256_SECRET.
    Token(TokenArgs),
    /// Create the table (and its indexes) if missing, then exit.
    CreateTable,
    /// Run one expiry sweep (the expiry-sweep function's code) and print its report.
    Sweep,
    /// Recompute every history chain of a tenant's records; exit 1 if any does not check.
    Verify(VerifyArgs),
    /// Create the records events/*.json name, with their ids (skips those already there).
    SeedEvents,
    /// Print the local environment (defaults applied) as shell exports.
    DevEnv,
}

#[derive(Args)]
struct ServeArgs {
    /// The port to listen on (default: API_PORT, else 3000).
    #[arg(long)]
    port: Option<u16>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The tenant whose records are checked.
    #[arg(long, default_value = DEFAULT_TENANT, value_parser = non_empty)]
    tenant: String,
}

#[derive(Args)]
struct TokenArgs {
    /// Subject (person id).
    #[arg(long, default_value = DEFAULT_SUB, value_parser = non_empty)]
    sub: String,
    /// The tenant_id claim.
    #[arg(long, default_value = DEFAULT_TENANT, value_parser = non_empty)]
    tenant: String,
    /// The app_id claim (an application's token); empty means none (handy from make: APP=).
    #[arg(long)]
    app: Option<String>,
    /// Space- or comma-separated scopes, default all of them; "" for none.
    #[arg(long)]
    scopes: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL_SECONDS, value_parser = clap::value_parser!(u32).range(1..))]
    ttl: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOptions {
    pub sub: String,
    pub tenant: String,
    pub app: Option<String>,
    /// `None`: every scope.
    pub scopes: Option<Vec<String>>,
    pub ttl_seconds: u32,
}

impl Default for TokenOptions {
    fn default() -> Self {
        TokenOptions {
            sub: DEFAULT_SUB.into(),
            tenant: DEFAULT_TENANT.into(),
            app: None,
            scopes: None,
            ttl_seconds: DEFAULT_TTL_SECONDS,
        }
    }
}

impl From<TokenArgs> for TokenOptions {
    fn from(args: TokenArgs) -> Self {
        TokenOptions {
            sub: args.sub,
            tenant: args.tenant,
            app: args.app.filter(|app| !app.trim().is_empty()),
            scopes: args.scopes.map(|scopes| {
                scopes
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            ttl_seconds: args.ttl,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve { port: Option<u16> },
    Token(TokenOptions),
    CreateTable,
    Sweep,
    Verify { tenant: String },
    SeedEvents,
    DevEnv,
    Help,
}

fn non_empty(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(value.to_owned())
    }
}

fn try_parse(args: &[String]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("local-api").chain(args.iter().map(String::as_str)))
}

/// The command `args` (without the program name) ask for; `Err` is clap's message.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let cli = match try_parse(args) {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            return Ok(Command::Help)
        }
        Err(e) => return Err(e.render().to_string()),
    };
    Ok(match cli.command {
        None => Command::Serve {
            port: cli.serve.port,
        },
        Some(Subcommands::Serve(serve)) => Command::Serve { port: serve.port },
        Some(Subcommands::Token(token)) => Command::Token(token.into()),
        Some(Subcommands::CreateTable) => Command::CreateTable,
        Some(Subcommands::Sweep) => Command::Sweep,
        Some(Subcommands::Verify(v)) => Command::Verify { tenant: v.tenant },
        Some(Subcommands::SeedEvents) => Command::SeedEvents,
        Some(Subcommands::DevEnv) => Command::DevEnv,
    })
}

/// The help `args` asked for: a subcommand's own (`token --help`), else every command's.
pub fn help(args: &[String]) -> String {
    match try_parse(args) {
        Err(e) if e.kind() == ErrorKind::DisplayHelp => e.render().to_string(),
        _ => Cli::command().render_long_help().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn verify_takes_a_tenant() {
        assert_eq!(
            parse_args(&["verify", "--tenant", "acme"]),
            Ok(Command::Verify {
                tenant: "acme".into()
            })
        );
        assert_eq!(
            parse_args(&["verify"]),
            Ok(Command::Verify {
                tenant: DEFAULT_TENANT.into()
            })
        );
    }

    #[test]
    fn no_arguments_means_serve() {
        assert_eq!(parse_args(&[]), Ok(Command::Serve { port: None }));
        assert_eq!(
            parse_args(&["--port", "4000"]),
            Ok(Command::Serve { port: Some(4000) })
        );
        assert_eq!(
            parse_args(&["serve", "--port=4001"]),
            Ok(Command::Serve { port: Some(4001) })
        );
    }

    #[test]
    fn token_defaults_and_flags() {
        assert_eq!(
            parse_args(&["token"]),
            Ok(Command::Token(TokenOptions::default()))
        );
        let parsed = parse_args(&[
            "token",
            "--sub",
            "alice",
            "--tenant=acme",
            "--app",
            "crm",
            "--scopes",
            "technology:read  entitlements:read",
            "--ttl",
            "60",
        ]);
        assert_eq!(
            parsed,
            Ok(Command::Token(TokenOptions {
                sub: "alice".into(),
                tenant: "acme".into(),
                app: Some("crm".into()),
                scopes: Some(vec!["technology:read".into(), "entitlements:read".into()]),
                ttl_seconds: 60,
            }))
        );
    }

    #[test]
    fn empty_scopes_and_app_are_allowed() {
        let Ok(Command::Token(options)) = parse_args(&["token", "--scopes", "", "--app="]) else {
            panic!("expected a token command");
        };
        assert_eq!(options.scopes, Some(vec![]));
        assert_eq!(options.app, None);
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse_args(&["token", "--ttl", "0"]).is_err());
        assert!(parse_args(&["token", "--ttl", "soon"]).is_err());
        assert!(parse_args(&["token", "--sub"]).is_err());
        assert!(parse_args(&["token", "--sub", " "]).is_err());
        assert!(parse_args(&["token", "--bogus", "1"]).is_err());
        assert!(parse_args(&["serve", "--port", "99999"]).is_err());
        assert!(parse_args(&["create-table", "extra"]).is_err());
        assert!(parse_args(&["launch"]).is_err());
        assert_eq!(parse_args(&["token", "--help"]), Ok(Command::Help));
        assert_eq!(parse_args(&["dev-env"]), Ok(Command::DevEnv));
        assert_eq!(parse_args(&["create-table"]), Ok(Command::CreateTable));
        assert_eq!(parse_args(&["sweep"]), Ok(Command::Sweep));
        assert_eq!(parse_args(&["seed-events"]), Ok(Command::SeedEvents));
    }
}
