#!/usr/bin/env bash
# `make dev`: DynamoDB Local + the API (every route, through the real handlers) on 127.0.0.1.
#
# Environment (all optional):
#   API_PORT (3000), DYNAMODB_PORT (8000), TABLE_NAME, JWT_HS256_SECRET, JWT_JWKS_URL, JWT_ISSUER,
#   JWT_AUDIENCE, CURSOR_SECRET, RUST_LOG. Unset ones take the development defaults that
#   `local-api dev-env` prints (they live in shared/src/config.rs and local-api/src/devenv.rs).
#   JWT_HS256_SECRET set to the empty string turns HS256 off (e.g. to try a JWKS only).
#
# While it runs, .local/dev.env holds the whole environment of this stack (endpoint, table, keys),
# so `make token` and `make sweep` in another shell talk to the same stack. Ctrl-C stops the API and
# the DynamoDB Local this script started.
set -euo pipefail

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"
cd "$TECH_ROOT"

API_PORT=${API_PORT:-3000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
DEV_ENV="$TECH_ROOT/.local/dev.env"
API_START_TIMEOUT=${API_START_TIMEOUT:-60}

for port_var in API_PORT DYNAMODB_PORT; do
    [[ ${!port_var} =~ ^[0-9]+$ ]] && [ "${!port_var}" -ge 1 ] && [ "${!port_var}" -le 65535 ] ||
        die "$port_var must be a port number, not '${!port_var}'"
done

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local cargo-lambda

if ddbl_port_open "$API_PORT"; then
    die "port $API_PORT is already in use (another 'make dev'?); choose another with API_PORT=..."
fi

note "building local-api (the first build takes a few minutes)"
cargo build --quiet -p local-api
target_dir=${CARGO_TARGET_DIR:-$TECH_ROOT/target}
LOCAL_API="$target_dir/debug/local-api"
[ -x "$LOCAL_API" ] || die "cargo build did not produce $LOCAL_API"

api_pid=
started_dynamodb=0
cleanup() {
    trap - INT TERM EXIT
    if [ -n "$api_pid" ]; then
        kill -TERM "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
        api_pid=
    fi
    if [ "$started_dynamodb" -eq 1 ]; then
        ddbl_stop
    fi
    # Only touch the state file this run wrote (a later run may have replaced it); put back the
    # one of an earlier run that is still going.
    if [ -f "$DEV_ENV" ] && grep -qx "# written by make dev, pid $$" "$DEV_ENV" 2>/dev/null; then
        if [ -f "$DEV_ENV.prev.$$" ] && kill -0 "$(_dev_env_writer "$DEV_ENV.prev.$$")" 2>/dev/null; then
            mv -f "$DEV_ENV.prev.$$" "$DEV_ENV"
        else
            rm -f "$DEV_ENV"
        fi
    fi
    rm -f "$DEV_ENV.prev.$$"
}
# _dev_env_writer FILE: the pid of the make dev that wrote FILE.
_dev_env_writer() {
    sed -n 's/^# written by make dev, pid \([0-9][0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n1
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup' EXIT

if ddbl_port_open "$DYNAMODB_PORT"; then
    if ddbl_is_dynamodb "$DYNAMODB_PORT"; then
        note "reusing the DynamoDB already listening on port $DYNAMODB_PORT (it keeps running after this)"
    else
        die "port $DYNAMODB_PORT is in use by something that is not DynamoDB; choose another with DYNAMODB_PORT=..."
    fi
else
    ddbl_start "$DYNAMODB_PORT"
    started_dynamodb=1
fi

export DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
# DynamoDB Local accepts any credentials; these match the static ones the code uses locally.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE
export API_PORT DYNAMODB_PORT

# The development defaults (one source: the Rust constants), applied to whatever is unset.
dev_env=$("$LOCAL_API" dev-env) || die "local-api dev-env failed"
eval "$dev_env"

mkdir -p "$(dirname "$DEV_ENV")"
if [ -f "$DEV_ENV" ] && kill -0 "$(_dev_env_writer "$DEV_ENV")" 2>/dev/null; then
    cp -f "$DEV_ENV" "$DEV_ENV.prev.$$"
fi
{
    printf '# written by make dev, pid %s\n' "$$"
    printf '# the environment of the running local stack; source it (set -a; . %s)\n' "$DEV_ENV"
    printf '%s\n' "$dev_env"
    printf 'export API_PORT=%s\n' "$API_PORT"
} >"$DEV_ENV.tmp.$$"
mv -f "$DEV_ENV.tmp.$$" "$DEV_ENV"

"$LOCAL_API" serve --port "$API_PORT" &
api_pid=$!

waited=0
until ddbl_port_open "$API_PORT"; do
    kill -0 "$api_pid" 2>/dev/null || {
        api_pid=
        die "local-api exited before it listened on port $API_PORT (see its output above)"
    }
    [ "$waited" -lt $((API_START_TIMEOUT * 5)) ] ||
        die "local-api did not listen on port $API_PORT within ${API_START_TIMEOUT}s"
    sleep 0.2
    waited=$((waited + 1))
done

base="http://127.0.0.1:$API_PORT/api/v1"
if token=$("$LOCAL_API" token 2>/dev/null); then
    token_text="export TOKEN=$token"
else
    token="<token>"
    token_text="(no HS256 secret is set: bring a token from your identity provider as \$TOKEN)"
fi
cat >&2 <<EOF

Technology API: $base   (DynamoDB Local: $DYNAMODB_ENDPOINT, table: $TABLE_NAME)

Development token (tenant dev-tenant, user dev-user, every scope, 12 h):
  $token_text

Try it:
  curl -s -X POST $base/technology -H "authorization: Bearer \$TOKEN" \\
       -H 'content-type: application/json' \\
       -d '{"name":"postgres-main","display_name":"Main PostgreSQL","vendor":"PostgreSQL","environment":"production","hosting":"on_prem","criticality":"high","tags":["database"]}'
  curl -s $base/technology -H "authorization: Bearer \$TOKEN"

Other tokens: make token SCOPES="technology:read" TENANT=acme APP=crm TTL=600
Ctrl-C stops the API and DynamoDB Local.

EOF

set +e
wait "$api_pid"
status=$?
set -e
api_pid=
exit "$status"
