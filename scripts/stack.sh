# shellcheck shell=bash
# The local stack, as functions: DynamoDB Local (or one already listening) + `local-api serve`
# through the real handlers. `make dev` (scripts/dev.sh), `make fuzz` (scripts/fuzz.sh) and the SDK
# and explorer tests use these; source it, nothing runs.
#
#   stack_build_local_api       cargo build -p local-api; sets LOCAL_API
#   stack_start API DDB         starts DynamoDB Local on port DDB (reuses a DynamoDB already there),
#                               exports its environment with the development defaults applied
#                               (STACK_ENV holds them as `export` lines), starts the API on port
#                               API and waits until it listens; sets STACK_API_PID
#   stack_stop                  stops exactly what stack_start started (no-op when nothing)
#   stack_start_private NAME    a throwaway stack for a check (`make fuzz`, the SDK and explorer
#                               tests): a table NAME-<time>-<pid> of its own, quiet logs unless
#                               RUST_LOG says otherwise, free ports, stack_stop on any exit; sets
#                               STACK_API_PORT

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"

API_START_TIMEOUT=${API_START_TIMEOUT:-60}
LOCAL_API=
STACK_API_PID=
STACK_API_PORT=
STACK_STARTED_DYNAMODB=0
STACK_ENV=

stack_build_local_api() {
    note "building local-api (the first build takes a few minutes)"
    cargo build --quiet -p local-api || die "cargo build -p local-api failed"
    LOCAL_API="${CARGO_TARGET_DIR:-$TECH_ROOT/target}/debug/local-api"
    [ -x "$LOCAL_API" ] || die "cargo build did not produce $LOCAL_API"
}

stack_start() {
    local api_port=$1 dynamodb_port=$2 waited=0
    [ -n "$LOCAL_API" ] || stack_build_local_api
    if ddbl_port_open "$api_port"; then
        die "port $api_port is already in use; choose another with API_PORT=..."
    fi
    if ddbl_port_open "$dynamodb_port"; then
        if ddbl_is_dynamodb "$dynamodb_port"; then
            note "reusing the DynamoDB already listening on port $dynamodb_port (it keeps running after this)"
        else
            die "port $dynamodb_port is in use by something that is not DynamoDB; choose another with DYNAMODB_PORT=..."
        fi
    else
        ddbl_start "$dynamodb_port"
        STACK_STARTED_DYNAMODB=1
    fi

    export DYNAMODB_ENDPOINT="http://127.0.0.1:$dynamodb_port"
    # DynamoDB Local accepts any credentials; these match the static ones the code uses locally.
    export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
    export AWS_REGION=${AWS_REGION:-us-east-1}
    export AWS_EC2_METADATA_DISABLED=true
    unset AWS_SESSION_TOKEN AWS_PROFILE

    # The AuthZEN metadata names its endpoints under this origin (API.md §7, §9).
    export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$api_port}
    # The development defaults (one source: the Rust constants), applied to whatever is unset.
    STACK_ENV=$("$LOCAL_API" dev-env) || die "local-api dev-env failed"
    eval "$STACK_ENV"

    # The explorer's files (/docs; scripts/install-tools.sh swagger-ui installs them).
    export SWAGGER_UI_DIR=${SWAGGER_UI_DIR:-$(swagger_ui_dir)}

    "$LOCAL_API" serve --port "$api_port" &
    STACK_API_PID=$!
    until ddbl_port_open "$api_port"; do
        kill -0 "$STACK_API_PID" 2>/dev/null || {
            STACK_API_PID=
            die "local-api exited before it listened on port $api_port (see its output above)"
        }
        [ "$waited" -lt $((API_START_TIMEOUT * 5)) ] ||
            die "local-api did not listen on port $api_port within ${API_START_TIMEOUT}s"
        sleep 0.2
        waited=$((waited + 1))
    done
}

stack_stop() {
    if [ -n "$STACK_API_PID" ]; then
        kill -TERM "$STACK_API_PID" 2>/dev/null || true
        wait "$STACK_API_PID" 2>/dev/null || true
        STACK_API_PID=
    fi
    if [ "$STACK_STARTED_DYNAMODB" -eq 1 ]; then
        ddbl_stop
        STACK_STARTED_DYNAMODB=0
    fi
}

stack_start_private() {
    local dynamodb_port
    trap 'stack_stop; exit 130' INT
    trap 'stack_stop; exit 143' TERM
    trap 'stack_stop' EXIT
    # A table of its own: nothing another stack or an earlier run left can answer for this one.
    export TABLE_NAME="$1-$(date +%s)-$$"
    # The API logs every request; keep them out of the check's output unless asked for.
    export RUST_LOG=${RUST_LOG:-warn}
    STACK_API_PORT=$(ddbl_free_port) || exit 1
    dynamodb_port=$(ddbl_free_port) || exit 1
    stack_start "$STACK_API_PORT" "$dynamodb_port"
}
