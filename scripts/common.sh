# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; it defines functions and nothing runs.
#
# Conventions: quiet on success (one line when something is installed or started), loud on failure
# (the captured output of whatever failed is printed).

# Repository root (the folder above scripts/).
TECH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Tools installed with pip --user or rustup live here; make sure they are found.
for _d in "$HOME/.local/bin" "$HOME/.cargo/bin"; do
    case ":$PATH:" in *":$_d:"*) ;; *) [ -d "$_d" ] && PATH="$_d:$PATH" ;; esac
done
unset _d
export PATH

note() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# quietly DESCRIPTION CMD [ARGS...]: run CMD with its output captured; print it only on failure.
quietly() {
    local desc=$1 log rc=0
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/technology-api.XXXXXX") || return 1
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf 'error: %s failed (exit %s): %s\n' "$desc" "$rc" "$*" >&2
        sed 's/^/    /' "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

# as_root CMD [ARGS...]: run as root, through sudo only when we are not root already.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $* (and sudo is not installed)"
    fi
}

# apt_install PKG...: apt-get update once per process, then install quietly.
_APT_UPDATED=
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
    note "installing $* (apt)"
    if [ -z "$_APT_UPDATED" ]; then
        quietly "apt-get update" as_root apt-get update -q || return 1
        _APT_UPDATED=1
    fi
    quietly "apt-get install $*" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@"
}

# schemathesis (`make fuzz`), pinned, in a private virtualenv that scripts/install-tools.sh builds.
SCHEMATHESIS_VERSION=4.32.5
schemathesis_bin() {
    printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/technology-api/schemathesis-$SCHEMATHESIS_VERSION/bin/st"
}

# Node packages of the TypeScript SDK (clients/typescript, `npm ci` from its package-lock.json)
# and Swagger UI for the explorer at /docs (`make dev`), both from the npm registry through this
# download cache; Swagger UI is installed, pinned, into a folder of its own that local-api serves.
TECH_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/technology-api
NPM_CACHE=$TECH_CACHE/npm
SWAGGER_UI_VERSION=5.35.0
swagger_ui_dir() {
    printf '%s\n' "$TECH_CACHE/swagger-ui-dist-$SWAGGER_UI_VERSION/node_modules/swagger-ui-dist"
}

# The AWS SAM CLI (`sam validate --lint` in `make test`, `sam build` for deploys), pinned, in a
# private virtualenv like schemathesis: it pins many AWS packages of its own.
SAM_CLI_VERSION=1.170.0
sam_bin() {
    printf '%s\n' "$TECH_CACHE/aws-sam-cli-$SAM_CLI_VERSION/bin/sam"
}

# selenium (the explorer's browser test), pinned, in a private virtualenv like schemathesis.
SELENIUM_VERSION=4.41.0
selenium_python() {
    printf '%s\n' "$TECH_CACHE/selenium-$SELENIUM_VERSION/bin/python"
}
