#!/usr/bin/env bash
# The explorer's browser test: a stack of its own (free ports), an asset created with the
# development token, then scripts/explorer-test.py drives Debian's headless chromium through
# /docs ("List technology assets" → Try it out → Execute → 200 with that asset). The screenshot is
# kept in target/explorer/docs.png (EXPLORER_REPORT_DIR). Always stops what it started.
set -uo pipefail

# shellcheck source=scripts/stack.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$TECH_ROOT" || exit 1
report_dir=${EXPLORER_REPORT_DIR:-$TECH_ROOT/target/explorer}

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local swagger-ui chromium selenium || exit 1

stack_start_private explorer
base="http://127.0.0.1:$STACK_API_PORT"

# The page's token is the development one (dev-tenant, dev-user): the asset goes there too.
token=$("$LOCAL_API" token) || die "local-api token failed"
name="explorer-check-$$"
curl -fsS -o /dev/null -X POST "$base/api/v1/technology" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"name\":\"$name\",\"display_name\":\"Explorer check\",\"criticality\":\"high\"}" ||
    die "could not create the asset the page should list"

# /docs and its files need no token; the API's routes still do.
for path in /docs /docs/openapi.yaml /docs/init.js /docs/assets/swagger-ui-bundle.js; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
    [ "$code" = 200 ] || die "GET $path without a token answered $code, not 200"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/technology")
[ "$code" = 401 ] || die "GET /api/v1/technology without a token answered $code, not 401"

mkdir -p "$report_dir"
started=$(date +%s)
"$(selenium_python)" "$TECH_ROOT/scripts/explorer-test.py" "$base" "$name" "$report_dir/docs.png"
status=$?
note "explorer browser test finished in $(($(date +%s) - started)) s (exit $status)"
exit "$status"
