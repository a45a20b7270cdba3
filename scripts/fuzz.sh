#!/usr/bin/env bash
# `make fuzz`: openapi.yaml is the truth; schemathesis checks the running API against it.
#
# Starts its own stack (a private DynamoDB Local and the local API, each on a free port), mints a
# token with every scope, and runs schemathesis with every default check over all its phases
# (examples, coverage, fuzzing, and the stateful phase that follows the document's links from a
# create to the get / patch / delete / actions of what it made). The seed and the example count
# are fixed, so a run is reproducible and bounded. Exit status non-zero on any failure, and also
# when an operation answered nothing but 401/403 (it was never really tested). Always stops what
# it started.
#
# Environment (optional): FUZZ_SEED (default 9), FUZZ_MAX_EXAMPLES (default 12, per operation and
# phase), FUZZ_WORKERS (default 2), FUZZ_REPORT_DIR (default target/fuzz).
set -uo pipefail

# shellcheck source=scripts/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$TECH_ROOT" || exit 1

seed=${FUZZ_SEED:-9}
max_examples=${FUZZ_MAX_EXAMPLES:-12}
workers=${FUZZ_WORKERS:-2}
report_dir=${FUZZ_REPORT_DIR:-$TECH_ROOT/target/fuzz}

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local schemathesis || exit 1
st=$(schemathesis_bin)

stack_start_private fuzz
api_port=$STACK_API_PORT
token=$("$LOCAL_API" token --sub fuzz-user --tenant fuzz-tenant) || die "local-api token failed"

rm -rf "$report_dir"
mkdir -p "$report_dir"
note "schemathesis $SCHEMATHESIS_VERSION against http://127.0.0.1:$api_port (seed $seed, $max_examples examples per operation)"
started=$(date +%s)
# Well-formed Idempotency-Keys made unique per request (why: scripts/fuzz_hooks.py).
SCHEMATHESIS_HOOKS="$TECH_ROOT/scripts/fuzz_hooks.py" \
"$st" --no-color --config-file scripts/schemathesis.toml run openapi.yaml \
    --url "http://127.0.0.1:$api_port" \
    --header "Authorization: Bearer $token" \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --workers "$workers" \
    --generation-database none \
    --request-timeout 10 \
    --report ndjson,junit --report-ndjson-path "$report_dir/events.ndjson" \
    --report-dir "$report_dir" \
    --warnings off
status=$?
note "schemathesis finished in $(($(date +%s) - started)) s (exit $status); reports in $report_dir"

# An operation that only ever answered 401/403 was not tested at all (bad token or scopes, or a
# security declaration schemathesis misreads): that is a failure of this check, not a pass.
auth_only=$("$TECH_ROOT/scripts/fuzz-auth-only.py" "$report_dir/events.ndjson") || status=1
if [ -n "$auth_only" ]; then
    printf 'error: operations that answered nothing but 401/403:\n%s\n' "$auth_only" >&2
    status=1
fi
exit "$status"
