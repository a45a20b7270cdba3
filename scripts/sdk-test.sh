#!/usr/bin/env bash
# The TypeScript SDK's tests (clients/typescript), with node's built-in runner, against a stack of
# their own (a private DynamoDB Local + the local API, on free ports, as `make fuzz` does):
#   1. `npm run build` generates src/schema.ts from openapi.yaml now (it is not committed, so it
#      cannot drift) and tsc builds the SDK: its hand-written layer type-checks against those types;
#   2. node --test test/ — the seeds' example verbatim, every namespace, paging, errors, If-Match,
#      idempotency keys, token rotation, and (against a scripted fake server) retries and timeouts.
# Always stops what it started.
set -uo pipefail

# shellcheck source=scripts/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
sdk=$TECH_ROOT/clients/typescript
cd "$sdk" || exit 1

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local sdk-node || exit 1

status=0
note "SDK: generate src/schema.ts from openapi.yaml, tsc"
quietly "npm run build (clients/typescript)" npm run --silent build || exit 1

stack_start_private sdk

export TECHNOLOGY_API_URL="http://127.0.0.1:$STACK_API_PORT" LOCAL_API
note "SDK: node --test against $TECHNOLOGY_API_URL"
started=$(date +%s)
node --test --test-concurrency=1 --test-reporter=spec test/ || status=1
note "SDK tests finished in $(($(date +%s) - started)) s"
exit "$status"
