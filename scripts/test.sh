#!/usr/bin/env bash
# `make test` / `make bench`: install what is missing, start a private DynamoDB Local on a free
# port, run the checks against it, and always stop it.
#
#   scripts/test.sh test    cargo fmt --check, clippy -D warnings, cargo test --workspace,
#                           cfn-lint, `sam validate --lint` and the template consistency
#                           checks, and `make fuzz` (schemathesis against its own stack), the
#                           SDK's tests and the explorer's browser test (each against a stack
#                           of its own)
#   scripts/test.sh bench   the function binaries and their baselines (bench profile), then
#                           cargo bench (the root package's benches/)
#
# Every step of `test` runs even when an earlier one failed (so one run shows every problem); the
# exit status is non-zero when any failed. Tests read DYNAMODB_ENDPOINT and make their own tables.
set -uo pipefail

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"
cd "$TECH_ROOT" || exit 1

mode=${1:-test}
case $mode in
test) "$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local cfn-lint schemathesis sam rustfmt clippy || exit 1 ;;
bench) "$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local || exit 1 ;;
*) die "usage: $0 test|bench" ;;
esac

trap 'ddbl_stop; exit 130' INT
trap 'ddbl_stop; exit 143' TERM
trap 'ddbl_stop' EXIT

port=$(ddbl_free_port) || exit 1
ddbl_start "$port"

export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE

failed=()
step() {
    local name=$1
    shift
    note "$name"
    if ! "$@"; then
        printf 'FAILED: %s\n' "$name" >&2
        failed+=("$name")
    fi
}

if [ "$mode" = bench ]; then
    # benches/lambda.rs runs function binaries against their hello-world-with-client baselines
    # (bench-baseline/): both built here with the profile cargo bench uses, in one cargo run, so
    # the same dependency builds (features unified once) go into every one of them.
    lambda_bins=(technology-get technology-create technology-list access-evaluation
        hello-getitem hello-transactwrite hello-query hello-batchget)
    step "cargo build --profile bench (lambda binaries)" cargo build --profile bench --quiet \
        -p functions -p bench-baseline "${lambda_bins[@]/#/--bin=}"
    # The benches belong to the root package; `default-members` would skip it without -p.
    step "cargo bench" cargo bench -p technology-api
else
    step "cargo fmt --check" cargo fmt --all -- --check
    step "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
    # What the tests see each function issue (tests/common) is checked against the IAM table next.
    rm -rf "$TECH_ROOT/target/tmp/iam-observed"
    step "cargo test" cargo test --workspace --no-fail-fast
    # cfn-lint, plus template ↔ binaries ↔ events ↔ routes ↔ IAM consistency.
    step "scripts/check-template.sh" "$TECH_ROOT/scripts/check-template.sh"
    # The SAM CLI's own view of the template (its transform, then cfn-lint on the result); the
    # region and --lint come from samconfig.toml. No account or credentials are needed.
    step "sam validate --lint" env SAM_CLI_TELEMETRY=0 "$(sam_bin)" validate --lint
    # Its own DynamoDB Local and API on free ports: nothing the tests above left can answer.
    step "make fuzz" "$TECH_ROOT/scripts/fuzz.sh"
    # A newcomer's Ctrl-C on `make dev`: everything stops, nothing is left behind.
    step "make dev stops on Ctrl-C" "$TECH_ROOT/scripts/test-dev-stop.sh"
    # The TypeScript SDK (clients/typescript) against its own stack; its types against openapi.yaml.
    step "SDK tests" "$TECH_ROOT/scripts/sdk-test.sh"
    # /docs in headless chromium: "try it" on list technology assets answers 200 with an asset.
    step "explorer browser test" "$TECH_ROOT/scripts/explorer-test.sh"
fi

if [ "${#failed[@]}" -gt 0 ]; then
    (
        IFS=,
        printf '\nmake %s: %d step(s) failed: %s\n' "$mode" "${#failed[@]}" "${failed[*]}" >&2
    )
    exit 1
fi
note "make $mode: all steps passed"
