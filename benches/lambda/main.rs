//! `make bench`: function binaries as Lambda runs them, against a hello world with a client.
//!
//! Each measured function (`technology-get`, `technology-create`, `technology-list`,
//! `access-evaluation`) is paired with a `bench-baseline` binary: a `lambda_http` hello world
//! that builds the same DynamoDB client the same way and answers each event with the very
//! requests the function sends (recorded here on the wire first, through a proxy in front of
//! DynamoDB Local, and replayed by the baseline), then a fixed small body. Both are built by
//! `make bench` with the bench profile in the same run, and started here as child processes
//! against a Lambda Runtime API emulator of this bench (`lambda/emulator.rs`), with a Lambda's
//! environment and nothing of the bench's.
//!
//! Per process: cold start (spawn → first answer posted), then warm-up invocations, then
//! BENCH_LAMBDA_WARM measured ones: p50/p99 latency (event queued → answer posted), CPU per
//! request (utime + stime of /proc/<pid>/stat over the measured invocations ÷ their number;
//! also the scheduler's nanosecond runtime of the threads, /proc/<pid>/task/*/schedstat, which
//! has no 10 ms tick), peak RSS (VmHWM after the run) and the bytes it logged per request.
//! In each of BENCH_LAMBDA_REPS repetitions the function and its baseline are both started and
//! warmed up, then their measured invocations alternate in blocks of `BLOCK` (F×10 B×10 …), so a
//! slow second of the shared machine falls on both rather than on one; every
//! ratio (function ÷ baseline) is taken within a repetition and printed as min / median / max,
//! against its target. A repetition's cold start is the median of its measured run's and
//! BENCH_LAMBDA_COLD more starts of each binary (alternately, one event each): a single cold
//! start on a shared machine swings by 2× from one to the next. Binary sizes are compared once.
//!
//! Then (BENCH_LAMBDA_PART3=0 skips it) two costs of the functions' own start and edge:
//! the trust store of the DynamoDB client's TLS (cold start with the system's store as the
//! SDK loads it by default, the system bundle alone, and the compiled-in Amazon Trust Services
//! roots that are the default, alternately, BENCH_LAMBDA_COLD_REPS starts of each), and JSON logging (CPU per request with
//! RUST_LOG=off, which keeps the per-request metrics line, against the default `info`).
//!
//! Knobs: BENCH_LAMBDA_REPS (5), BENCH_LAMBDA_WARM (500), BENCH_LAMBDA_WARMUP (50),
//! BENCH_LAMBDA_COLD (4), BENCH_LAMBDA_COLD_REPS (4 × REPS), BENCH_LAMBDA_FUNCTIONS (a comma
//! list of the four), BENCH_LAMBDA_BIN_DIR (the binaries' folder; default: this bench's own
//! profile folder), BENCH_LAMBDA_PART3 (1).

mod emulator;
mod process;
mod recorder;
mod serve;
#[path = "../stats/mod.rs"]
mod stats;

use emulator::{Emulator, Outcome};
use hyper::body::Bytes;
use process::Lambda;
use recorder::{Recorder, Seen};
use serde_json::{json, Value};
use shared::config::{
    AuthConfig, Config, ConfigError, TrustStore, DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER,
};
use shared::envelope::IdGenerator;
use shared::state::State;
use stats::{median, min_med_max};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The asset the sample events name (`events/technology-get.json`, `access-evaluation.json`).
const ASSET: &str = "ast_01JD3Q9Z8X4K2M7N5P6R8S0T1V";
const CURSOR_SECRET: &str = "bench-cursor-secret-0123456789abcdef";
const COLD_LIMIT: Duration = Duration::from_secs(20);

/// A function and the baseline that replays its requests.
struct Pair {
    function: &'static str,
    baseline: &'static str,
    /// The status the function answers its event with.
    status: u16,
}

const PAIRS: &[Pair] = &[
    Pair {
        function: "technology-get",
        baseline: "hello-getitem",
        status: 200,
    },
    Pair {
        function: "technology-create",
        baseline: "hello-transactwrite",
        status: 201,
    },
    Pair {
        function: "technology-list",
        baseline: "hello-query",
        status: 200,
    },
    Pair {
        function: "access-evaluation",
        baseline: "hello-batchget",
        status: 200,
    },
];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Options {
    reps: usize,
    /// Extra cold starts (start, one event, kill) per binary and repetition.
    colds: usize,
    warm: usize,
    warmup: usize,
    part3: bool,
    bins: PathBuf,
    endpoint: String,
    region: String,
    table: String,
    work: PathBuf,
    /// Distinguishes this run's names (created assets) from any earlier run's.
    run: String,
}

impl Options {
    fn from_env() -> Options {
        let bins = std::env::var("BENCH_LAMBDA_BIN_DIR")
            .map(PathBuf::from)
            .ok()
            .or_else(|| {
                // target/<profile>/deps/lambda-<hash> → target/<profile>
                let exe = std::env::current_exe().ok()?;
                Some(exe.parent()?.parent()?.to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from("target/release"));
        let endpoint = std::env::var("DYNAMODB_ENDPOINT")
            .expect("DYNAMODB_ENDPOINT is not set: run the benches with `make bench`");
        let run = ulid::Ulid::generate().to_string().to_lowercase();
        let work = std::env::temp_dir().join(format!("bench-lambda-{run}"));
        std::fs::create_dir_all(&work).expect("a work folder");
        Options {
            reps: env_or("BENCH_LAMBDA_REPS", 5).max(1),
            colds: env_or("BENCH_LAMBDA_COLD", 4),
            warm: env_or("BENCH_LAMBDA_WARM", 500).max(10),
            warmup: env_or("BENCH_LAMBDA_WARMUP", 50),
            part3: env_or("BENCH_LAMBDA_PART3", 1) != 0,
            bins,
            endpoint,
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            table: format!("bench-lambda-{run}"),
            work,
            run: run[run.len() - 10..].to_string(),
        }
    }

    /// What `Config::from_env` makes of `lambda_env`'s variables (no `DYNAMODB_TRUST_STORE`, no
    /// JWKS, no public URL), so the seeding handlers see the table as the binaries will.
    fn config(&self) -> Result<Config, ConfigError> {
        let auth = AuthConfig::development();
        Ok(Config {
            dynamodb_trust: TrustStore::choose(None, Some(&self.endpoint))?,
            table_name: self.table.clone(),
            dynamodb_endpoint: Some(self.endpoint.clone()),
            auth,
            cursor_secret: CURSOR_SECRET.into(),
            public_base_url: None,
        })
    }

    /// A Lambda's environment (template.yaml's variables, the runtime's own), nothing else.
    fn lambda_env(&self, name: &str, endpoint: &str, extra: &[(&str, String)]) -> Env {
        let mut env: Env = [
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]bench".into(),
            ),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_rapid".into()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", "local".into()),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
            ("LANG", "C.UTF-8".into()),
            ("TZ", ":UTC".into()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
            ("TABLE_NAME", self.table.clone()),
            ("DYNAMODB_ENDPOINT", endpoint.to_string()),
            ("JWT_HS256_SECRET", DEV_HS256_SECRET.into()),
            ("JWT_ISSUER", DEV_ISSUER.into()),
            ("JWT_AUDIENCE", DEV_AUDIENCE.into()),
            ("CURSOR_SECRET", CURSOR_SECRET.into()),
            ("RUST_LOG", "info".into()),
            ("METRICS_NAMESPACE", "TechnologyApi/bench".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k.to_string(), v.clone()));
            }
        }
        env
    }
}

type Env = Vec<(String, String)>;

// ---------------------------------------------------------------- events and seeds

fn sample_event(function: &str) -> Value {
    let path = format!("{}/events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A function's sample event, as the Lambda service would send it, again and again: a create
/// gets a fresh asset name each time (names are unique), everything else the event as shipped.
struct Events {
    template: Value,
    create: bool,
    run: String,
    n: Cell<u64>,
}

impl Events {
    fn new(function: &str, run: &str) -> Events {
        Events {
            template: sample_event(function),
            create: function == "technology-create",
            run: run.to_string(),
            n: Cell::new(0),
        }
    }

    fn next(&self) -> Bytes {
        if !self.create {
            return Bytes::from(self.template.to_string());
        }
        let n = self.n.get();
        self.n.set(n + 1);
        let mut event = self.template.clone();
        let mut body: Value =
            serde_json::from_str(event["body"].as_str().unwrap_or("{}")).unwrap_or(json!({}));
        body["name"] = json!(format!("bench-{}-{n}", self.run));
        event["body"] = json!(body.to_string());
        Bytes::from(event.to_string())
    }
}

async fn handle(state: &State, function: &str, event: &Value) -> Result<(u16, String), String> {
    let route = functions::routes::by_function(function).ok_or("no such function")?;
    let req = lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())?;
    let resp = (route.handler)(state, req).await;
    let body = match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    Ok((resp.status().as_u16(), body))
}

/// One record made by its create function's handler (with `id` when given).
async fn create(
    state: &mut State,
    function: &str,
    body: Value,
    id: Option<&str>,
) -> Result<(), String> {
    let mut event = sample_event(function);
    event["body"] = json!(body.to_string());
    if let Some(id) = id {
        state.store.ids = IdGenerator::pinned(vec![id.to_string()]);
    }
    let answer = handle(state, function, &event).await;
    state.store.ids = IdGenerator::default();
    match answer? {
        (201, _) => Ok(()),
        (status, body) => Err(format!("seeding with {function}: {status} {body}")),
    }
}

/// A fresh table holding what the measured events name: the asset `technology-get` reads and
/// `access-evaluation` decides on (with a live `read` grant of alice's, so the decision is a
/// yes), and nine more assets, so `technology-list`'s `limit=10` page is full.
async fn seed(opts: &Options) -> Result<(), String> {
    let config = opts.config().map_err(|e| e.to_string())?;
    let mut state = State::new(config).await.map_err(|e| e.to_string())?;
    shared::store::table::ensure_table(&state.db, &opts.table)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let asset = |name: &str| {
        json!({
            "name": name, "display_name": "Payments Gateway", "hosting": "cloud",
            "cloud_provider": "aws", "criticality": "high",
            "description": "Card payments for the web shop and the mobile apps",
        })
    };
    create(
        &mut state,
        "technology-create",
        asset("payments-gateway"),
        Some(ASSET),
    )
    .await?;
    for i in 1..10 {
        let name = format!("payments-gateway-{i}");
        create(&mut state, "technology-create", asset(&name), None).await?;
    }
    let grant = json!({
        "asset_id": ASSET, "principal_id": "alice", "principal_type": "person",
        "entitlement_type": "read", "expires_at": "2099-12-31T23:59:59Z",
        "description": "Read access to the payments gateway",
    });
    create(&mut state, "entitlements-create", grant, None).await?;
    // Every measured event answers as it will in the binaries (in process, through the handler).
    for pair in selected() {
        let events = Events::new(pair.function, &format!("seedcheck-{}", opts.run));
        let event: Value = serde_json::from_slice(&events.next()).map_err(|e| e.to_string())?;
        let (status, body) = handle(&state, pair.function, &event).await?;
        if status != pair.status {
            return Err(format!("{}: {status} {body}", pair.function));
        }
        if pair.function == "access-evaluation" && !body.contains(r#""decision":true"#) {
            return Err(format!("access-evaluation decided no: {body}"));
        }
    }
    Ok(())
}

fn selected() -> Vec<&'static Pair> {
    match std::env::var("BENCH_LAMBDA_FUNCTIONS") {
        Ok(list) if !list.trim().is_empty() => {
            let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
            PAIRS
                .iter()
                .filter(|p| wanted.contains(&p.function))
                .collect()
        }
        _ => PAIRS.iter().collect(),
    }
}

// ---------------------------------------------------------------- one process

/// What one process run measured.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    cold_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// utime + stime per measured invocation (10 ms ticks over the whole run).
    cpu_us: f64,
    /// Scheduler runtime of the threads per measured invocation (nanosecond clock).
    sched_us: f64,
    rss_mib: f64,
    log_bytes: f64,
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let v: Value = serde_json::from_slice(answer).ok()?;
    v["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A binary started under an emulator of its own, past its cold start; then measured over the
/// invocations between `mark` and `finish`, which may come in blocks (the process waits on
/// `/next`, costing nothing, between them).
struct Running<'e> {
    name: String,
    emu: Emulator,
    lambda: Lambda,
    events: &'e Events,
    status: u16,
    cold_ms: f64,
    took: Vec<Duration>,
    /// CPU ticks, thread runtimes and log bytes at `mark`.
    marked: Option<(u64, std::collections::HashMap<String, u64>, u64)>,
}

impl<'e> Running<'e> {
    async fn start(
        bin: &Path,
        name: &str,
        env: Env,
        events: &'e Events,
        status: u16,
    ) -> Result<Running<'e>, String> {
        let emu = Emulator::start(name).await;
        let mut env = env;
        env.push(("AWS_LAMBDA_RUNTIME_API".into(), emu.address.clone()));
        let first = emu.submit(events.next());
        let t0 = Instant::now();
        let mut lambda = Lambda::spawn(bin, &env)?;
        let (body, cold) = match emu.wait(first, COLD_LIMIT).await {
            Ok(Outcome::Response { body, at }) => (body, at - t0),
            Ok(Outcome::Error { body }) => {
                return Err(failed(lambda, name, &String::from_utf8_lossy(&body)))
            }
            Err(e) => {
                let exited = lambda.exited().unwrap_or_default();
                return Err(failed(lambda, name, &format!("{e} {exited}")));
            }
        };
        if status_of(&body) != Some(status) {
            let body = String::from_utf8_lossy(&body).into_owned();
            return Err(failed(
                lambda,
                name,
                &format!("cold answer, not {status}: {body}"),
            ));
        }
        Ok(Running {
            name: name.to_string(),
            emu,
            lambda,
            events,
            status,
            cold_ms: ms(cold),
            took: Vec::new(),
            marked: None,
        })
    }

    async fn invoke(&self) -> Result<Duration, String> {
        let (body, took) = self.emu.invoke(self.events.next()).await?;
        match status_of(&body) {
            Some(s) if s == self.status => Ok(took),
            _ => Err(format!(
                "answer, not {}: {} (pid {})",
                self.status,
                String::from_utf8_lossy(&body),
                self.lambda.pid
            )),
        }
    }

    /// `n` invocations; timed when `mark` has been called.
    async fn run(&mut self, n: usize) -> Result<(), String> {
        for _ in 0..n {
            let took = self.invoke().await?;
            if self.marked.is_some() {
                self.took.push(took);
            }
        }
        Ok(())
    }

    fn mark(&mut self) -> Result<(), String> {
        let logged = self.lambda.stdout_bytes.load(Ordering::Relaxed);
        self.marked = Some((
            self.lambda.cpu_ticks()?,
            self.lambda.thread_runtimes(),
            logged,
        ));
        Ok(())
    }

    /// The sample of the invocations since `mark` (the cold start alone without any), and the
    /// process stopped.
    async fn finish(self) -> Result<Sample, String> {
        let mut sample = Sample {
            cold_ms: self.cold_ms,
            rss_mib: self.lambda.peak_rss_kib()? as f64 / 1024.0,
            ..Sample::default()
        };
        let Some((ticks, threads, logged)) = &self.marked else {
            self.lambda.stop();
            return Ok(sample);
        };
        let ticks = self.lambda.cpu_ticks()? - ticks;
        let ran = process::runtime_delta(threads, &self.lambda.thread_runtimes());
        // Let the log drain catch up with what was written during the measured invocations.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let logged = self.lambda.stdout_bytes.load(Ordering::Relaxed) - logged;
        self.lambda.stop();
        let mut took = self.took;
        took.sort();
        let n = took.len().max(1) as f64;
        sample.p50_ms = ms(percentile(&took, 50.0));
        sample.p99_ms = ms(percentile(&took, 99.0));
        sample.cpu_us = ticks as f64 / process::clock_ticks() * 1e6 / n;
        sample.sched_us = ran as f64 / 1e3 / n;
        sample.log_bytes = logged as f64 / n;
        Ok(sample)
    }

    fn fail(self, what: &str) -> String {
        failed(self.lambda, &self.name, what)
    }
}

fn failed(lambda: Lambda, name: &str, what: &str) -> String {
    let tail = lambda.stderr_tail();
    lambda.stop();
    format!("{name}: {what}\n--- stderr ---\n{tail}")
}

/// Runs `bin` under a fresh emulator: the cold start, `warmup` invocations, then `warm`
/// measured ones (none: the cold start only), each answered with `status`.
async fn run_one(
    bin: &Path,
    name: &str,
    env: Env,
    events: &Events,
    status: u16,
    warmup: usize,
    warm: usize,
) -> Result<Sample, String> {
    let mut one = Running::start(bin, name, env, events, status).await?;
    if warm > 0 {
        if let Err(e) = one.run(warmup).await {
            return Err(one.fail(&e));
        }
        one.mark()?;
        if let Err(e) = one.run(warm).await {
            return Err(one.fail(&e));
        }
    }
    one.finish().await
}

/// Invocations of a function and of its baseline alternate in blocks of this many while both
/// are measured: a slow second of the shared machine falls on both, not on one of them.
const BLOCK: usize = 10;

/// A function and its baseline, both started (cold), warmed up, then measured over `warm`
/// invocations each, in alternating blocks.
async fn run_pair(
    f: (&Path, &str, Env, u16),
    b: (&Path, &str, Env, u16),
    events: &Events,
    warmup: usize,
    warm: usize,
) -> Result<(Sample, Sample), String> {
    let mut fr = Running::start(f.0, f.1, f.2, events, f.3).await?;
    let mut br = match Running::start(b.0, b.1, b.2, events, b.3).await {
        Ok(r) => r,
        Err(e) => {
            fr.lambda.stop();
            return Err(e);
        }
    };
    let mut both = async || -> Result<(), String> {
        fr.run(warmup).await?;
        br.run(warmup).await?;
        fr.mark()?;
        br.mark()?;
        let mut left = warm;
        while left > 0 {
            let n = left.min(BLOCK);
            fr.run(n).await?;
            br.run(n).await?;
            left -= n;
        }
        Ok(())
    };
    if let Err(e) = both().await {
        br.lambda.stop();
        return Err(fr.fail(&e));
    }
    Ok((fr.finish().await?, br.finish().await?))
}

// ---------------------------------------------------------------- recording the requests

/// The DynamoDB requests the binary `name` sends for its second (warm) event, seen on the wire.
async fn record(
    opts: &Options,
    recorder: &Recorder,
    name: &str,
    extra: &[(&str, String)],
    events: &Events,
    status: u16,
) -> Result<Vec<Seen>, String> {
    let bin = opts.bins.join(name);
    let env = opts.lambda_env(name, &recorder.endpoint, extra);
    let emu = Emulator::start(name).await;
    let mut env = env;
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), emu.address.clone()));
    let lambda = Lambda::spawn(&bin, &env)?;
    let mut result = Ok(Vec::new());
    for i in 0..2 {
        recorder.take();
        result = match emu.invoke(events.next()).await {
            Ok((body, _)) if status_of(&body) == Some(status) => Ok(recorder.take()),
            Ok((body, _)) => Err(format!(
                "{name}: answered {}",
                String::from_utf8_lossy(&body)
            )),
            Err(e) => Err(format!(
                "{name} (event {i}): {e}\n--- stderr ---\n{}",
                lambda.stderr_tail()
            )),
        };
        if result.is_err() {
            break;
        }
    }
    lambda.stop();
    result
}

fn calls_summary(seen: &[Seen]) -> String {
    let parts: Vec<String> = seen
        .iter()
        .map(|s| {
            let items = s.body["TransactItems"]
                .as_array()
                .map(|a| format!(", {} items", a.len()))
                .unwrap_or_default();
            format!(
                "{}{items} ({} B out, {} B back)",
                s.operation, s.request_bytes, s.response_bytes
            )
        })
        .collect();
    if parts.is_empty() {
        "no DynamoDB request".into()
    } else {
        parts.join(" + ")
    }
}

/// Records the function's requests, hands them to its baseline, and checks the baseline sends
/// the same operations: the file the baseline replays.
async fn calibrate(opts: &Options, pair: &Pair) -> Result<PathBuf, String> {
    let recorder = Recorder::start(&opts.endpoint).await;
    let events = Events::new(pair.function, &format!("rec-{}", opts.run));
    let function = record(opts, &recorder, pair.function, &[], &events, pair.status).await?;
    let calls: Vec<Value> = function
        .iter()
        .map(|s| json!({"operation": s.operation, "body": s.body}))
        .collect();
    let file = opts.work.join(format!("{}.calls.json", pair.function));
    std::fs::write(&file, Value::Array(calls).to_string()).map_err(|e| e.to_string())?;
    let extra = [("BASELINE_CALLS", file.display().to_string())];
    let baseline = record(opts, &recorder, pair.baseline, &extra, &events, 200).await?;
    println!("  {:<20} {}", pair.function, calls_summary(&function));
    println!("  {:<20} {}", pair.baseline, calls_summary(&baseline));
    let ops = |s: &[Seen]| s.iter().map(|s| s.operation.clone()).collect::<Vec<_>>();
    if ops(&function) != ops(&baseline) {
        return Err(format!(
            "{} does not send what {} sends",
            pair.baseline, pair.function
        ));
    }
    Ok(file)
}

// ---------------------------------------------------------------- statistics and the report

struct Metric {
    label: &'static str,
    /// Its column in the summary.
    short: &'static str,
    of: fn(&Sample) -> f64,
    /// The ceiling of the median ratio, if the issue sets one.
    target: Option<f64>,
    /// Whether a ratio means anything (the baseline logs nothing).
    ratio: bool,
}

/// `METRICS`' rows, positional so that each fits on one line.
const fn metric(
    label: &'static str,
    short: &'static str,
    of: fn(&Sample) -> f64,
    target: Option<f64>,
    ratio: bool,
) -> Metric {
    Metric {
        label,
        short,
        of,
        target,
        ratio,
    }
}

// One aligned row a metric: the table is read against the report it prints.
#[rustfmt::skip]
const METRICS: &[Metric] = &[
    metric("cold start (ms)",     "cold",      |s| s.cold_ms,   Some(1.10), true),
    metric("warm p50 (ms)",       "p50",       |s| s.p50_ms,    Some(1.05), true),
    metric("warm p99 (ms)",       "p99",       |s| s.p99_ms,    None,       true),
    metric("CPU/req, stat (us)",  "CPU stat",  |s| s.cpu_us,    Some(1.10), true),
    metric("CPU/req, sched (us)", "CPU sched", |s| s.sched_us,  Some(1.10), true),
    metric("peak RSS (MiB)",      "RSS",       |s| s.rss_mib,   Some(1.20), true),
    metric("log bytes/req",       "log",       |s| s.log_bytes, None,       false),
];

/// The ceiling of the binary size ratio, compared once per pair beside the metrics.
const SIZE_TARGET: f64 = 1.20;

/// A summary column: the metric and its target, if any.
fn column(short: &str, target: Option<f64>) -> String {
    match target {
        Some(t) => format!("{short} ({t:.2})"),
        None => short.to_string(),
    }
}

fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio <= t => format!("<= {t:.2} met"),
        Some(t) => format!("<= {t:.2} MISSED"),
        None => String::new(),
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

const HEADER: &str =
    "  metric                  function   baseline |  ratio min   median      max | target";

fn print_row(label: &str, f: f64, b: f64, ratios: &[f64], target: Option<f64>) {
    if ratios.is_empty() {
        println!("  {label:<21} {f:>10.2} {b:>10.2} |");
        return;
    }
    let (lo, mid, hi) = min_med_max(ratios);
    println!(
        "  {label:<21} {f:>10.2} {b:>10.2} | {lo:>10.3} {mid:>8.3} {hi:>8.3} | {}",
        verdict(mid, target)
    );
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

/// Prints one pair's block; returns its median ratios (for the summary), metric by metric,
/// then the size ratio.
fn report(opts: &Options, pair: &Pair, samples: &[(Sample, Sample)]) -> Vec<f64> {
    println!(
        "\n{} / {}: {} repetitions; each: {} cold starts (median), {} warm invocations after {} \
         warm-up ones, function and baseline alternating in blocks of {BLOCK}",
        pair.function,
        pair.baseline,
        samples.len(),
        opts.colds + 1,
        opts.warm,
        opts.warmup
    );
    println!("{HEADER}");
    let mut medians = Vec::new();
    for m in METRICS {
        let fs: Vec<f64> = samples.iter().map(|(f, _)| (m.of)(f)).collect();
        let bs: Vec<f64> = samples.iter().map(|(_, b)| (m.of)(b)).collect();
        let rs: Vec<f64> = match m.ratio {
            true => fs.iter().zip(&bs).map(|(f, b)| ratio(*f, *b)).collect(),
            false => Vec::new(),
        };
        print_row(m.label, median(&fs), median(&bs), &rs, m.target);
        if m.ratio {
            medians.push(median(&rs));
        }
    }
    let (f, b) = (
        mib(&opts.bins.join(pair.function)),
        mib(&opts.bins.join(pair.baseline)),
    );
    print_row("binary size (MiB)", f, b, &[ratio(f, b)], Some(SIZE_TARGET));
    medians.push(ratio(f, b));
    medians
}

// ---------------------------------------------------------------- part 3: trust store, logging

fn count_certs(path: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.matches("BEGIN CERTIFICATE").count())
        .unwrap_or(0)
}

/// Runs the `variants` of one binary's environment alternately, `reps` times each; the samples
/// by variant. Two variants measured warm run as a pair (`run_pair`, in alternating blocks).
async fn interleave(
    opts: &Options,
    pair: &Pair,
    variants: &[(&str, Vec<(&str, String)>)],
    reps: usize,
    warm: usize,
) -> Result<Vec<Vec<Sample>>, String> {
    let bin = opts.bins.join(pair.function);
    let events = Events::new(pair.function, &format!("p3-{}", opts.run));
    let mut out = vec![Vec::new(); variants.len()];
    for _ in 0..reps {
        if let ([(_, a), (_, b)], true) = (variants, warm > 0) {
            let env = |extra| opts.lambda_env(pair.function, &opts.endpoint, extra);
            let (sa, sb) = run_pair(
                (&bin, pair.function, env(a), pair.status),
                (&bin, pair.function, env(b), pair.status),
                &events,
                opts.warmup,
                warm,
            )
            .await?;
            out[0].push(sa);
            out[1].push(sb);
            continue;
        }
        for (i, (_, extra)) in variants.iter().enumerate() {
            let env = opts.lambda_env(pair.function, &opts.endpoint, extra);
            let warmup = if warm == 0 { 0 } else { opts.warmup };
            let s = run_one(&bin, pair.function, env, &events, pair.status, warmup, warm).await?;
            out[i].push(s);
        }
    }
    Ok(out)
}

async fn part3(opts: &Options) -> Result<(), String> {
    let get = &PAIRS[0];
    println!("\npart 3 (technology-get)");
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    let reps = env_or("BENCH_LAMBDA_COLD_REPS", 4 * opts.reps);
    let system = |extra: Option<(&'static str, String)>| {
        let mut env = vec![("DYNAMODB_TRUST_STORE", "system".to_string())];
        env.extend(extra);
        env
    };
    let variants = [
        (
            "system store (SSL_CERT_FILE/DIR unset)",
            system(Some(("SSL_CERT_FILE", String::new()))),
        ),
        (
            "system store, SSL_CERT_FILE=bundle",
            system(Some(("SSL_CERT_FILE", bundle.to_string()))),
        ),
        (
            "Amazon roots, compiled in (default)",
            vec![("DYNAMODB_TRUST_STORE", "amazon".to_string())],
        ),
    ];
    let samples = interleave(opts, get, &variants, reps, 0).await?;
    let base: Vec<f64> = samples[0].iter().map(|s| s.cold_ms).collect();
    println!(
        "  trust store (DYNAMODB_TRUST_STORE): cold start, {reps} starts of each, interleaved \
         (bundle: {} certificates; compiled in: {})",
        count_certs(bundle),
        String::from_utf8_lossy(shared::store::trust::AMAZON_ROOTS)
            .matches("BEGIN CERTIFICATE")
            .count()
    );
    println!("    variant                                   median ms   min ms | vs system: min  median    max");
    for ((label, _), s) in variants.iter().zip(&samples) {
        let cold: Vec<f64> = s.iter().map(|s| s.cold_ms).collect();
        let rs: Vec<f64> = cold.iter().zip(&base).map(|(a, b)| ratio(*a, *b)).collect();
        let (lo, mid, hi) = min_med_max(&rs);
        let least = cold.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "    {label:<41} {:>9.2} {least:>8.2} | {lo:>15.3} {mid:>7.3} {hi:>6.3}",
            median(&cold)
        );
    }
    let variants = [
        ("RUST_LOG=info (production default)", vec![]),
        (
            "RUST_LOG=off (metrics line only)",
            vec![("RUST_LOG", "off".to_string())],
        ),
    ];
    let samples = interleave(opts, get, &variants, opts.reps, opts.warm).await?;
    println!(
        "  logging: {} runs of each, interleaved, {} warm invocations",
        opts.reps, opts.warm
    );
    println!("    variant                              CPU/req stat us  sched us   p50 ms  log B/req | sched vs info: min median  max");
    let base: Vec<f64> = samples[0].iter().map(|s| s.sched_us).collect();
    for ((label, _), s) in variants.iter().zip(&samples) {
        let of = |f: fn(&Sample) -> f64| median(&s.iter().map(f).collect::<Vec<_>>());
        let rs: Vec<f64> = s
            .iter()
            .zip(&base)
            .map(|(a, b)| ratio(a.sched_us, *b))
            .collect();
        let (lo, mid, hi) = min_med_max(&rs);
        println!(
            "    {label:<36} {:>15.1} {:>9.1} {:>8.3} {:>10.0} | {lo:>20.3} {mid:>6.3} {hi:>5.3}",
            of(|s| s.cpu_us),
            of(|s| s.sched_us),
            of(|s| s.p50_ms),
            of(|s| s.log_bytes),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- main

async fn bench(opts: &Options) -> Result<(), String> {
    let pairs = selected();
    for pair in &pairs {
        for bin in [pair.function, pair.baseline] {
            let path = opts.bins.join(bin);
            if !path.is_file() {
                return Err(format!(
                    "{} is missing: `make bench` builds it (cargo build --profile bench \
                     -p functions -p bench-baseline)",
                    path.display()
                ));
            }
        }
    }
    let t = Instant::now();
    seed(opts).await?;
    println!(
        "lambda bench: binaries in {}, table {} seeded in {:.1}s",
        opts.bins.display(),
        opts.table,
        t.elapsed().as_secs_f64()
    );
    println!("what each binary sends to DynamoDB for one warm event (recorded on the wire):");
    let mut calls = Vec::new();
    for pair in &pairs {
        calls.push(calibrate(opts, pair).await?);
    }
    let events: Vec<Events> = pairs
        .iter()
        .map(|p| Events::new(p.function, &opts.run))
        .collect();
    let mut samples: Vec<Vec<(Sample, Sample)>> = vec![Vec::new(); pairs.len()];
    let t = Instant::now();
    for rep in 0..opts.reps {
        for (i, pair) in pairs.iter().enumerate() {
            let extra = [("BASELINE_CALLS", calls[i].display().to_string())];
            let f_env = opts.lambda_env(pair.function, &opts.endpoint, &[]);
            let b_env = opts.lambda_env(pair.baseline, &opts.endpoint, &extra);
            let f_bin = opts.bins.join(pair.function);
            let b_bin = opts.bins.join(pair.baseline);
            let (f_name, b_name, ev) = (pair.function, pair.baseline, &events[i]);
            // Cold starts are cheap and noisy: a few more of each, alternately, and the
            // repetition's figure is their median.
            let (mut f_cold, mut b_cold) = (Vec::new(), Vec::new());
            for _ in 0..opts.colds {
                let f = run_one(&f_bin, f_name, f_env.clone(), ev, pair.status, 0, 0).await?;
                f_cold.push(f.cold_ms);
                let b = run_one(&b_bin, b_name, b_env.clone(), ev, 200, 0, 0).await?;
                b_cold.push(b.cold_ms);
            }
            let (mut f, mut b) = run_pair(
                (&f_bin, f_name, f_env, pair.status),
                (&b_bin, b_name, b_env, 200),
                ev,
                opts.warmup,
                opts.warm,
            )
            .await?;
            f_cold.push(f.cold_ms);
            b_cold.push(b.cold_ms);
            f.cold_ms = median(&f_cold);
            b.cold_ms = median(&b_cold);
            samples[i].push((f, b));
        }
        eprintln!(
            "lambda bench: repetition {}/{} done ({:.0}s)",
            rep + 1,
            opts.reps,
            t.elapsed().as_secs_f64()
        );
    }
    let mut summary = Vec::new();
    for (pair, s) in pairs.iter().zip(&samples) {
        summary.push(report(opts, pair, s));
    }
    println!("\nsummary, median ratios function / hello world with client (target):");
    // The columns of `report`'s medians: the metrics that have a ratio, then the size.
    let labels = METRICS
        .iter()
        .filter(|m| m.ratio)
        .map(|m| column(m.short, m.target))
        .chain([column("size", Some(SIZE_TARGET))]);
    let mut line = format!("  {:<20}", "function");
    for l in labels {
        line.push_str(&format!(" {l:>16}"));
    }
    println!("{line}");
    for (pair, medians) in pairs.iter().zip(&summary) {
        let mut line = format!("  {:<20}", pair.function);
        for m in medians {
            line.push_str(&format!(" {m:>16.3}"));
        }
        println!("{line}");
    }
    if opts.part3 {
        part3(opts).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let opts = Options::from_env();
    let result = bench(&opts).await;
    let _ = std::fs::remove_dir_all(&opts.work);
    if let Err(e) = result {
        eprintln!("lambda bench failed: {e}");
        std::process::exit(1);
    }
}
