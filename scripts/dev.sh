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

# shellcheck source=scripts/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$TECH_ROOT"

API_PORT=${API_PORT:-3000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
DEV_ENV="$TECH_ROOT/.local/dev.env"

for port_var in API_PORT DYNAMODB_PORT; do
    [[ ${!port_var} =~ ^[0-9]+$ ]] && [ "${!port_var}" -ge 1 ] && [ "${!port_var}" -le 65535 ] ||
        die "$port_var must be a port number, not '${!port_var}'"
done

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local cargo-lambda swagger-ui

if ddbl_port_open "$API_PORT"; then
    die "port $API_PORT is already in use (another 'make dev'?); choose another with API_PORT=..."
fi

stack_build_local_api

cleanup() {
    trap - INT TERM EXIT
    stack_stop
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
# Ctrl-C (and a plain kill) is how a developer ends `make dev`: a clean stop, not a failure.
trap 'cleanup; exit 0' INT TERM
trap 'cleanup' EXIT

export API_PORT DYNAMODB_PORT
stack_start "$API_PORT" "$DYNAMODB_PORT"

mkdir -p "$(dirname "$DEV_ENV")"
if [ -f "$DEV_ENV" ] && kill -0 "$(_dev_env_writer "$DEV_ENV")" 2>/dev/null; then
    cp -f "$DEV_ENV" "$DEV_ENV.prev.$$"
fi
{
    printf '# written by make dev, pid %s\n' "$$"
    printf '# the environment of the running local stack; source it (set -a; . %s)\n' "$DEV_ENV"
    printf '%s\n' "$STACK_ENV"
    printf 'export API_PORT=%s\n' "$API_PORT"
} >"$DEV_ENV.tmp.$$"
mv -f "$DEV_ENV.tmp.$$" "$DEV_ENV"

base="http://127.0.0.1:$API_PORT/api/v1"
if token=$("$LOCAL_API" token 2>/dev/null); then
    token_text="export TOKEN=$token"
else
    token="<token>"
    token_text="(no HS256 secret is set: bring a token from your identity provider as \$TOKEN)"
fi
cat >&2 <<EOF

Technology API: $base   (DynamoDB Local: $DYNAMODB_ENDPOINT, table: $TABLE_NAME)
Explorer (try every route in the browser, token prefilled): http://127.0.0.1:$API_PORT/docs

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
wait "$STACK_API_PID"
status=$?
set -e
STACK_API_PID=
exit "$status"
