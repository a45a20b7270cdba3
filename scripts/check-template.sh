#!/usr/bin/env bash
# Checks template.yaml and events/*.json against each other and against the code:
#   1. cfn-lint reports nothing (installed from PyPI when missing);
#   2. every function: a src/bin binary, a route, its own log group, an event file that is a valid
#      API Gateway HTTP API (v2) event for exactly that route, with a bearer token that verifies
#      against the dev defaults in shared/src/config.rs;
#   3. IAM: only real DynamoDB item/query actions, never `*`, never Scan, only on the table or its
#      declared indexes (cfn-lint does not catch a bogus IAM action); and each function's actions
#      exactly the ones its code issues, as functions/src/iam.rs lists them (the end-to-end tests
#      fail when a handler issues one not listed there; after they ran, target/tmp/iam-observed/
#      holds what they saw issued, and a listed action no test saw issued is an error too);
#   4. every binary in functions/src/bin has a function in the template, built by the root
#      Makefile's build-<LogicalId> (BuildMethod: makefile) from the binary its FunctionName names.
# Usage: scripts/check-template.sh   (from anywhere; exit status 0 = all good)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cfn-lint --version >/dev/null 2>&1; then
  python3 -m pip install --quiet cfn-lint
fi

echo "cfn-lint template.yaml"
cfn-lint template.yaml

python3 - <<'PY'
import base64, glob, hashlib, hmac, json, os, re, subprocess, sys, time
from cfnlint.decode import decode

errors = []
def err(msg): errors.append(msg)

tpl, matches = decode("template.yaml")
if matches:
    sys.exit(f"template.yaml does not parse: {matches}")
resources = tpl["Resources"]

config = open("shared/src/config.rs").read()
def const(name):
    m = re.search(r'pub const %s: &str = "([^"]*)";' % name, config)
    if not m:
        sys.exit(f"{name} not found in shared/src/config.rs")
    return m.group(1)
SECRET, ISSUER, AUDIENCE = const("DEV_HS256_SECRET"), const("DEV_ISSUER"), const("DEV_AUDIENCE")
SCOPES = {
    "technology:read", "technology:write", "entitlements:read", "entitlements:write",
    "access-requests:read", "access-requests:write", "access-requests:approve",
    "access-requests:provision", "metadata:read", "metadata:write",
    # API.md §8: the tenant audit feed (audit-events-list); §9 decisions; §10 approve-any.
    "audit:read", "access:evaluate", "access-requests:approve-any",
}
# Item and query actions a function of this API may need. Transactions are authorised per item.
DYNAMO_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}

def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def check_token(where, auth):
    if not auth or not auth.startswith("Bearer "):
        return err(f"{where}: authorization header must be 'Bearer <jwt>'")
    token = auth[len("Bearer "):]
    try:
        h, p, s = token.split(".")
        header, claims = json.loads(b64url(h)), json.loads(b64url(p))
    except Exception as e:
        return err(f"{where}: token does not decode: {e}")
    if header != {"alg": "HS256", "typ": "JWT"}:
        err(f"{where}: token header {header}")
    mac = hmac.new(SECRET.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, b64url(s)):
        err(f"{where}: token signature does not verify with DEV_HS256_SECRET")
    if claims.get("iss") != ISSUER: err(f"{where}: iss {claims.get('iss')!r} != {ISSUER!r}")
    if claims.get("aud") != AUDIENCE: err(f"{where}: aud {claims.get('aud')!r} != {AUDIENCE!r}")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        err(f"{where}: token has no exp or is expired")
    for c in ("sub", "tenant_id"):
        if not claims.get(c): err(f"{where}: token lacks {c}")
    scopes = set(str(claims.get("scope", "")).split())
    if scopes - SCOPES: err(f"{where}: unknown scopes {sorted(scopes - SCOPES)}")

def route_regex(path):
    return "^" + re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"

def check_http_event(name, method, path):
    where = f"events/{name}.json"
    try:
        ev = json.load(open(where))
    except FileNotFoundError:
        return err(f"{where}: missing")
    except json.JSONDecodeError as e:
        return err(f"{where}: not JSON: {e}")
    route = f"{method} {path}"
    if ev.get("version") != "2.0": err(f"{where}: version must be \"2.0\"")
    if ev.get("routeKey") != route: err(f"{where}: routeKey {ev.get('routeKey')!r} != {route!r}")
    ctx = ev.get("requestContext") or {}
    if ctx.get("routeKey") != route: err(f"{where}: requestContext.routeKey != {route!r}")
    if ctx.get("stage") != "$default": err(f"{where}: requestContext.stage must be $default")
    for k in ("accountId", "apiId", "domainName", "requestId", "time", "timeEpoch"):
        if k not in ctx: err(f"{where}: requestContext.{k} missing")
    http = ctx.get("http") or {}
    if http.get("method") != method: err(f"{where}: requestContext.http.method != {method}")
    for k in ("path", "protocol", "sourceIp", "userAgent"):
        if k not in http: err(f"{where}: requestContext.http.{k} missing")
    raw = ev.get("rawPath", "")
    if http.get("path") != raw: err(f"{where}: requestContext.http.path != rawPath")
    m = re.match(route_regex(path), raw)
    if not m:
        err(f"{where}: rawPath {raw!r} does not match {path!r}")
    elif (m.groupdict() or None) != ev.get("pathParameters"):
        err(f"{where}: pathParameters {ev.get('pathParameters')} != {m.groupdict() or None} from rawPath")
    headers = ev.get("headers") or {}
    if any(k != k.lower() for k in headers): err(f"{where}: header names must be lower-case")
    qs = ev.get("rawQueryString")
    if qs is None: err(f"{where}: rawQueryString missing")
    parsed = dict(kv.split("=", 1) for kv in qs.split("&")) if qs else None
    if parsed != ev.get("queryStringParameters"):
        err(f"{where}: queryStringParameters does not match rawQueryString")
    if ev.get("isBase64Encoded") is not False: err(f"{where}: isBase64Encoded must be false")
    body = ev.get("body")
    if body is not None:
        try:
            json.loads(body)
        except (TypeError, json.JSONDecodeError):
            err(f"{where}: body is not a JSON string")
        if not headers.get("content-type", "").startswith("application/json"):
            err(f"{where}: a body needs content-type: application/json")
    elif method in ("POST", "PATCH") and not re.search(r"/(revoke|approve|reject|provision)$", path):
        err(f"{where}: {method} {path} needs a body")
    check_token(where, headers.get("authorization"))

def ref_name(v):
    return v.get("Ref") if isinstance(v, dict) else None

index_names = {g["IndexName"] for g in resources["Table"]["Properties"].get("GlobalSecondaryIndexes", [])}
allowed_resources = [{"Fn::GetAtt": ["Table", "Arn"]}] + [
    {"Fn::Sub": "${Table.Arn}/index/" + i} for i in sorted(index_names)]

glob_env = tpl.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
for v in ("TABLE_NAME", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS_URL", "JWT_HS256_SECRET",
          "CURSOR_SECRET", "RUST_LOG", "AWS_LAMBDA_LOG_FORMAT"):
    if v not in glob_env: err(f"Globals: environment variable {v} missing")
if "DYNAMODB_ENDPOINT" in glob_env: err("Globals: DYNAMODB_ENDPOINT must not be set on AWS")

# The per-function table the code owns (functions/src/iam.rs), read as text. Its entries name
# each function by its handler module's route (`technology::get::ROUTE.function`, the string
# its `route!(...)` starts with) or, for the sweep, a `NAME` const: read from that module.
def function_name(path, const_name):
    base = "functions/src/" + path.replace("::", "/")
    for candidate in (base + ".rs", base + "/mod.rs"):
        if os.path.exists(candidate):
            m = re.search(r'pub const %s: (?:&str = |Route =\s*route!\(\s*(?:(?:public|authzen)\s+)*)"([a-z0-9-]+)"'
                          % const_name, open(candidate).read())
            if m:
                return m.group(1)
    sys.exit(f"functions/src/iam.rs: {path}::{const_name} names no function in {base}.rs")
iam_src = open("functions/src/iam.rs").read()
CODE_ACTIONS = {
    function_name(path, const_name): set(re.findall(r'"(dynamodb:[A-Za-z]+)"', acts))
    for path, const_name, acts in re.findall(
        r'\(\s*([a-z_]+(?:::[a-z_]+)*)::([A-Z_]+)(?:\.function)?,\s*&\[([^\]]*)\]\s*,?\s*\)', iam_src)
}
if not CODE_ACTIONS:
    sys.exit("functions/src/iam.rs: no (function, actions) entries found")
observed = {}
for path in glob.glob("target/tmp/iam-observed/*.txt"):
    for line in open(path):
        fn, _, action = line.strip().partition(" ")
        observed.setdefault(fn, set()).add(action)

def make_binary(lid):
    if not lid.endswith("Function"):
        return None
    out = subprocess.run(["make", "-s", f"binary-{lid}"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None

binaries = {}
for lid, res in resources.items():
    if res.get("Type") != "AWS::Serverless::Function":
        continue
    md = res.get("Metadata") or {}
    # `sam build` runs the root Makefile's `build-<LogicalId>`, which copies the binary that
    # `make binary-<LogicalId>` names; FunctionName names the same binary.
    if md != {"BuildMethod": "makefile"}:
        err(f"{lid}: Metadata must be exactly {{BuildMethod: makefile}} (the root Makefile's build-{lid})"); continue
    binary = make_binary(lid)
    if not binary:
        err(f"{lid}: the Makefile's binary-{lid} names no binary (LogicalId must be <Binary in CamelCase>Function)"); continue
    if binary in binaries: err(f"{lid}: binary {binary} already used by {binaries[binary]}")
    binaries[binary] = lid
    props = res.get("Properties") or {}
    if props.get("FunctionName") != {"Fn::Sub": "${AWS::StackName}-" + binary}:
        err(f"{lid}: FunctionName should be !Sub ${{AWS::StackName}}-{binary} (the binary `sam build` copies)")
    lg = ref_name((props.get("LoggingConfig") or {}).get("LogGroup"))
    if not lg or resources.get(lg, {}).get("Type") != "AWS::Logs::LogGroup":
        err(f"{lid}: LoggingConfig.LogGroup must !Ref its own AWS::Logs::LogGroup")
    elif resources[lg]["Properties"].get("LogGroupName") != {"Fn::Sub": "/aws/lambda/${AWS::StackName}-" + binary}:
        err(f"{lg}: LogGroupName should be /aws/lambda/${{AWS::StackName}}-{binary}")
    events = props.get("Events") or {}
    http_events = [e["Properties"] for e in events.values() if e.get("Type") == "HttpApi"]
    if len(http_events) > 1: err(f"{lid}: one route per function")
    for e in http_events:
        if ref_name(e.get("ApiId")) != "HttpApi": err(f"{lid}: HttpApi event must use ApiId: !Ref HttpApi")
        check_http_event(binary, e["Method"].upper(), e["Path"])
    if not http_events:
        try:
            json.load(open(f"events/{binary}.json"))
        except Exception as e:
            err(f"events/{binary}.json: {e}")
    policies = props.get("Policies") or []
    # A function whose code issues no DynamoDB action (the AuthZEN metadata) needs no statement.
    if not policies and CODE_ACTIONS.get(binary): err(f"{lid}: no IAM statements")
    granted = set()
    for pol in policies:
        if not isinstance(pol, dict) or "Statement" not in pol:
            err(f"{lid}: write policies as explicit statements, not {pol!r}"); continue
        for st in pol["Statement"]:
            acts = st.get("Action"); acts = [acts] if isinstance(acts, str) else acts or []
            granted.update(acts)
            for a in acts:
                if a not in DYNAMO_ACTIONS: err(f"{lid}: IAM action {a!r} is not an allowed DynamoDB item/query action")
            res_ = st.get("Resource"); res_ = res_ if isinstance(res_, list) else [res_]
            for r in res_:
                if r not in allowed_resources: err(f"{lid}: IAM resource {r!r} is not the table or one of its indexes")
            if st.get("Effect") != "Allow": err(f"{lid}: unexpected Effect {st.get('Effect')!r}")
    if binary not in CODE_ACTIONS:
        err(f"{lid}: functions/src/iam.rs has no entry for {binary}")
    else:
        code = CODE_ACTIONS[binary]
        if granted - code: err(f"{lid}: grants {sorted(granted - code)}, which its code never issues (functions/src/iam.rs)")
        if code - granted: err(f"{lid}: lacks {sorted(code - granted)}, which its code issues (functions/src/iam.rs)")
        if observed and code - observed.get(binary, set()):
            err(f"functions/src/iam.rs: {binary} lists {sorted(code - observed.get(binary, set()))}, "
                "which no end-to-end test saw it issue (target/tmp/iam-observed)")

for name in sorted(set(CODE_ACTIONS) - set(binaries)):
    err(f"functions/src/iam.rs: {name} is no function of template.yaml")

for path in sorted(glob.glob("functions/src/bin/*.rs")):
    name = os.path.basename(path)[:-3]
    if name not in binaries: err(f"{path}: no function for binary {name} in template.yaml")
for name in sorted(binaries):
    if not os.path.exists(f"functions/src/bin/{name}.rs"):
        err(f"{binaries[name]}: functions/src/bin/{name}.rs does not exist (sam build would fail)")
# What the Makefile's build target copies must be what cargo lambda writes.
mk = open("Makefile").read()
if 'cp "$(lambda_dir)/$(call binary_of,$*)/bootstrap" "$$ARTIFACTS_DIR/bootstrap"' not in mk:
    err("Makefile: build-%Function must copy $(lambda_dir)/<binary>/bootstrap to $ARTIFACTS_DIR")

for ev in sorted(glob.glob("events/*.json")):
    if os.path.basename(ev)[:-5] not in binaries:
        err(f"{ev}: no function with that binary name in template.yaml")

if errors:
    print("\n".join("error: " + e for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"ok: {len(binaries)} functions, events and tokens consistent")
PY
