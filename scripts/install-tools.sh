#!/usr/bin/env bash
# Install whatever the local tooling needs and is missing. Quiet when everything is there.
#
#   scripts/install-tools.sh [TOOL...]
#
# TOOL is one of: java, dynamodb-local, cargo-lambda, cfn-lint, schemathesis, sam, rustfmt, clippy,
# node (node + npm, apt), sdk-node (the TypeScript SDK's node_modules, `npm ci`), swagger-ui (the
# explorer's assets, npm), chromium (chromium + chromium-driver, apt), selenium (pip, its own
# virtualenv), valgrind (apt, `make bench-instructions`), aarch64 (the aarch64-unknown-linux-gnu
# target for `make build`). Without arguments: all but aarch64, chromium, selenium (the browser
# test's) and valgrind.
#
# schemathesis (`make fuzz`) goes into a private virtualenv of its own, pinned, so its many
# dependencies never meet the user's Python packages:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/technology-api/schemathesis-<version>/bin/st
set -euo pipefail

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"

# pip_install PKG: into the current Python; --user outside a virtualenv when not root.
pip_install() {
    local args=(-m pip install -q --disable-pip-version-check) out rc=0
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-pip
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    if [ "$(id -u)" -ne 0 ] && [ -z "${VIRTUAL_ENV:-}" ]; then
        args+=(--user)
    fi
    note "installing $1 (pip)"
    out=$(python3 "${args[@]}" "$1" 2>&1) || rc=$?
    if [ "$rc" -ne 0 ] && [[ $out == *externally-managed-environment* ]]; then
        # Debian's own Python refuses global installs; a --user install is what we want here.
        rc=0
        out=$(python3 "${args[@]}" --user --break-system-packages "$1" 2>&1) || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        printf 'error: pip install %s failed:\n' "$1" >&2
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        exit 1
    fi
    # pyenv puts new console scripts on PATH only after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
    hash -r
}

# A virtualenv records its own path, so it is built in place; `.installed` is written last, so a
# half-built one (an interrupted install) is rebuilt rather than used.
#   venv_install BIN PKG VERSION CHECK...: BIN is the venv's bin/<something>; CHECK (a command) says
#   whether the install runs, before (skip when it does) and after (die when it does not).
venv_install() {
    local bin=$1 pkg=$2 version=$3 venv
    shift 3
    venv=$(dirname "$(dirname "$bin")")
    [ -f "$venv/.installed" ] && "$@" >/dev/null 2>&1 && return 0
    command -v python3 >/dev/null 2>&1 || apt_install python3
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
    note "installing $pkg $version (pip, into $venv)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")" || die "cannot create $(dirname "$venv")"
    quietly "python3 -m venv $venv" python3 -m venv "$venv" || exit 1
    quietly "pip install $pkg==$version" "$venv/bin/python" -m pip install \
        -q --disable-pip-version-check "$pkg==$version" || exit 1
    "$@" >/dev/null 2>&1 || die "$pkg was installed into $venv but $bin does not run"
    touch "$venv/.installed"
}

install_schemathesis() {
    local st
    st=$(schemathesis_bin)
    venv_install "$st" schemathesis "$SCHEMATHESIS_VERSION" "$st" --version
}

# The SAM CLI (`sam validate --lint`, `sam build`); same layout as schemathesis. No AWS account is
# needed for validate or build.
install_sam() {
    local sam
    sam=$(sam_bin)
    venv_install "$sam" aws-sam-cli "$SAM_CLI_VERSION" env SAM_CLI_TELEMETRY=0 "$sam" --version
}

# The explorer's browser test drives selenium; same layout as schemathesis.
install_selenium() {
    local py
    py=$(selenium_python)
    venv_install "$py" selenium "$SELENIUM_VERSION" "$py" -c 'import selenium'
}

ensure_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
    apt_install nodejs npm
}

# `npm ci` of clients/typescript, again only when its package-lock.json changed since the last one.
install_sdk_node() {
    local dir=$TECH_ROOT/clients/typescript stamp want
    ensure_node
    stamp=$dir/node_modules/.installed-lock
    want=$(cksum <"$dir/package-lock.json")
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    note "installing the TypeScript SDK's node packages (npm ci, cache $NPM_CACHE)"
    quietly "npm ci (clients/typescript)" npm ci --prefix "$dir" --cache "$NPM_CACHE" \
        --prefer-offline --no-audit --no-fund || exit 1
    printf '%s\n' "$want" >"$stamp"
}

install_swagger_ui() {
    local dist prefix
    dist=$(swagger_ui_dir)
    prefix=${dist%/node_modules/swagger-ui-dist}
    [ -f "$prefix/.installed" ] && [ -f "$dist/swagger-ui-bundle.js" ] && return 0
    ensure_node
    note "installing swagger-ui-dist $SWAGGER_UI_VERSION (npm, into $prefix)"
    rm -rf "$prefix"
    mkdir -p "$prefix" || die "cannot create $prefix"
    quietly "npm install swagger-ui-dist@$SWAGGER_UI_VERSION" npm install --prefix "$prefix" \
        --cache "$NPM_CACHE" --prefer-offline --no-audit --no-fund --no-save --no-package-lock \
        "swagger-ui-dist@$SWAGGER_UI_VERSION" || exit 1
    [ -f "$dist/swagger-ui-bundle.js" ] || die "swagger-ui-dist was installed but $dist has no swagger-ui-bundle.js"
    touch "$prefix/.installed"
}

need_rustup() {
    command -v rustup >/dev/null 2>&1 || die "rustup not found: install Rust with rustup (https://rustup.rs)"
}

# pip_tool PKG CHECK...: pip-installs PKG unless CHECK (a command) runs; dies when it still does not.
pip_tool() {
    local pkg=$1
    shift
    "$@" >/dev/null 2>&1 && return 0
    pip_install "$pkg"
    "$@" >/dev/null 2>&1 || die "$pkg was installed but '$*' does not run (is its bin folder on PATH?)"
}

# rustup_component NAME SUBCOMMAND: `rustup component add NAME` unless `cargo SUBCOMMAND` runs.
rustup_component() {
    cargo "$2" --version >/dev/null 2>&1 && return 0
    need_rustup
    note "installing $1 (rustup)"
    quietly "rustup component add $1" rustup component add "$1" || exit 1
}

ensure() {
    case $1 in
    java) ddbl_ensure_java ;;
    dynamodb-local) ddbl_install ;;
    cargo-lambda) pip_tool cargo-lambda cargo lambda --version ;;
    cfn-lint) pip_tool cfn-lint cfn-lint --version ;;
    schemathesis) install_schemathesis ;;
    sam) install_sam ;;
    node) ensure_node ;;
    sdk-node) install_sdk_node ;;
    swagger-ui) install_swagger_ui ;;
    chromium)
        command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
        apt_install chromium chromium-driver
        ;;
    selenium) install_selenium ;;
    valgrind)
        command -v valgrind >/dev/null 2>&1 || apt_install valgrind
        ;;
    rustfmt) rustup_component rustfmt fmt ;;
    clippy) rustup_component clippy clippy ;;
    aarch64)
        need_rustup
        rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu && return 0
        note "installing the aarch64-unknown-linux-gnu target (rustup)"
        quietly "rustup target add aarch64-unknown-linux-gnu" \
            rustup target add aarch64-unknown-linux-gnu || exit 1
        ;;
    *) die "unknown tool '$1' (java, dynamodb-local, cargo-lambda, cfn-lint, schemathesis, rustfmt, clippy, node, sdk-node, swagger-ui, chromium, selenium, valgrind, sam, aarch64)" ;;
    esac
}

if [ "$#" -eq 0 ]; then
    set -- java dynamodb-local cargo-lambda cfn-lint schemathesis sam rustfmt clippy sdk-node swagger-ui
fi
for tool in "$@"; do
    ensure "$tool"
done
