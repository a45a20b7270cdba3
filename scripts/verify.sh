#!/usr/bin/env bash
# `make verify TENANT=…`: recompute every history chain of a tenant's records against the stack a
# running `make dev` started (its environment from .local/dev.env); exits 1 if any chain breaks.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$TECH_ROOT"

if [ ! -f .local/dev.env ]; then
    echo "make verify: no running 'make dev' stack found (.local/dev.env is missing); start 'make dev' in another shell first" >&2
    exit 1
fi
set -a
# shellcheck disable=SC1091
. .local/dev.env
set +a
exec cargo run --quiet -p local-api -- verify --tenant "${TENANT:-dev-tenant}"
