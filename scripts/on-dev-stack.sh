#!/usr/bin/env bash
# `make sweep`, `make verify`, `make events`: one local-api command (its arguments are this
# script's) against the stack a running `make dev` started, with exactly the environment `make dev`
# recorded in .local/dev.env, so no other variables are needed.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TECH_ROOT"

if [ ! -f .local/dev.env ]; then
    echo "local-api $1: no running 'make dev' stack found (.local/dev.env is missing); start 'make dev' in another shell first" >&2
    exit 1
fi
set -a
# shellcheck disable=SC1091
. .local/dev.env
set +a
exec cargo run --quiet -p local-api -- "$@"
