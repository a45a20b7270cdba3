//! Hand-rolled argument parsing: four subcommands and a handful of flags.

pub const USAGE: &str = "\
usage: local-api [COMMAND] [OPTIONS]

commands:
  serve [--port N]     serve every route on 127.0.0.1:${API_PORT:-3000} (the default command)
  token [OPTIONS]      print a development HS256 token signed with JWT_HS256_SECRET
      --sub S          subject (person id), default dev-user
      --tenant T       tenant_id claim, default dev-tenant
      --app A          app_id claim (an application's token), default none
      --scopes \"a b\"   space-separated scopes, default all of them; \"\" for none
      --ttl SECONDS    lifetime, default 43200 (12 h)
  create-table         create the table (and its indexes) if missing, then exit
  sweep                run one expiry sweep (the expiry-sweep function's code) and print its report
  dev-env              print the local environment (defaults applied) as shell exports
  help                 print this text

environment: DYNAMODB_ENDPOINT (required for serve/create-table/sweep), TABLE_NAME, JWT_HS256_SECRET,
JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, CURSOR_SECRET, API_PORT, RUST_LOG. Unset ones take the
development defaults (see `local-api dev-env`).
";

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
            sub: "dev-user".into(),
            tenant: "dev-tenant".into(),
            app: None,
            scopes: None,
            ttl_seconds: 12 * 60 * 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve { port: Option<u16> },
    Token(TokenOptions),
    CreateTable,
    Sweep,
    DevEnv,
    Help,
}

/// Splits `--name=value` / `--name value` pairs.
struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
}

impl<'a> Flags<'a> {
    /// The next (flag, value) pair, or None at the end.
    fn next_pair(&mut self) -> Result<Option<(&'a str, String)>, String> {
        let Some(arg) = self.args.next() else {
            return Ok(None);
        };
        if matches!(arg.as_str(), "-h" | "--help") {
            return Ok(Some(("--help", String::new())));
        }
        if !arg.starts_with("--") {
            return Err(format!("unexpected argument {arg:?}"));
        }
        if let Some((flag, value)) = arg.split_once('=') {
            return Ok(Some((flag, value.to_owned())));
        }
        match self.args.next() {
            Some(value) => Ok(Some((arg.as_str(), value.clone()))),
            None => Err(format!("{arg} needs a value")),
        }
    }
}

fn non_empty(flag: &str, value: String) -> Result<String, String> {
    if value.trim().is_empty() {
        Err(format!("{flag} must not be empty"))
    } else {
        Ok(value)
    }
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = match args.split_first() {
        None => return Ok(Command::Serve { port: None }),
        Some((first, rest)) if !first.starts_with('-') => (first.as_str(), rest),
        Some(_) => ("serve", args),
    };
    let mut flags = Flags { args: rest.iter() };
    match command {
        "serve" => {
            let mut port = None;
            while let Some((flag, value)) = flags.next_pair()? {
                match flag {
                    "--port" => {
                        port =
                            Some(value.parse().map_err(|_| {
                                format!("--port must be a port number, not {value:?}")
                            })?)
                    }
                    "--help" => return Ok(Command::Help),
                    other => return Err(format!("unknown option {other} for serve")),
                }
            }
            Ok(Command::Serve { port })
        }
        "token" => {
            let mut options = TokenOptions::default();
            while let Some((flag, value)) = flags.next_pair()? {
                match flag {
                    "--sub" => options.sub = non_empty(flag, value)?,
                    "--tenant" => options.tenant = non_empty(flag, value)?,
                    // An empty --app means "no app" (handy from make: APP=).
                    "--app" => options.app = Some(value).filter(|v| !v.trim().is_empty()),
                    "--scopes" => {
                        options.scopes = Some(
                            value
                                .split(|c: char| c.is_whitespace() || c == ',')
                                .filter(|s| !s.is_empty())
                                .map(str::to_owned)
                                .collect(),
                        )
                    }
                    "--ttl" => {
                        options.ttl_seconds = value
                            .trim()
                            .parse()
                            .ok()
                            .filter(|ttl| *ttl > 0)
                            .ok_or_else(|| {
                                format!("--ttl must be a positive number of seconds, not {value:?}")
                            })?
                    }
                    "--help" => return Ok(Command::Help),
                    other => return Err(format!("unknown option {other} for token")),
                }
            }
            Ok(Command::Token(options))
        }
        "create-table" | "sweep" | "dev-env" | "help" => {
            if let Some((flag, _)) = flags.next_pair()? {
                if flag == "--help" {
                    return Ok(Command::Help);
                }
                return Err(format!("{command} takes no options"));
            }
            Ok(match command {
                "create-table" => Command::CreateTable,
                "sweep" => Command::Sweep,
                "dev-env" => Command::DevEnv,
                _ => Command::Help,
            })
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
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
    }
}
