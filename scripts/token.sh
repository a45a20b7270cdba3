#!/usr/bin/env bash
# `make token`: print a development HS256 token (arguments go to `local-api token`).
# Uses the environment of a running `make dev` (.local/dev.env) when there is one, so the token
# matches that stack's secret, issuer and audience; else the environment and the dev defaults.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TECH_ROOT"

if [ -f .local/dev.env ]; then
    set -a
    # shellcheck disable=SC1091
    . .local/dev.env
    set +a
fi
exec cargo run --quiet -p local-api -- token "$@"
