#!/usr/bin/env bash
# DynamoDB Local: install (Java 17 + the emulator jar) and start/stop helpers.
#
# Source it for the functions, or call it:
#   scripts/dynamodb-local.sh install           ensure Java 17 and the emulator; print the emulator folder
#   scripts/dynamodb-local.sh free-port         print a free TCP port on 127.0.0.1
#   scripts/dynamodb-local.sh run [PORT]        start on PORT (default: a free one) in the foreground
#                                               of this script; Ctrl-C stops it
#   scripts/dynamodb-local.sh is-dynamodb PORT  exit 0 when PORT answers like DynamoDB
#
# The emulator is AWS's own DynamoDB Local, shipped inside the npm package amplify-dynamodb-simulator
# (it cannot be downloaded from AWS here). It is fetched once per machine with `npm pack` (no
# dependencies), checked against a pinned checksum, and its emulator/ folder is unpacked into
#   ${DYNAMODB_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/technology-api/dynamodb-local-<version>}
#
# Functions (after sourcing):
#   ddbl_ensure_java            sets DDBL_JAVA to a Java >= 17 (installs openjdk-17-jre-headless if needed)
#   ddbl_install                sets DDBL_DIR to the emulator folder (downloads it if needed)
#   ddbl_free_port              prints a free port
#   ddbl_port_open PORT         exit 0 when something accepts TCP connections on 127.0.0.1:PORT
#   ddbl_is_dynamodb PORT       exit 0 when PORT answers like DynamoDB
#   ddbl_start PORT             starts it in the background; sets DDBL_PID, DDBL_STATE, DDBL_PORT and
#                               writes $DDBL_STATE/dynamodb-local.pid; waits until the port answers
#   ddbl_stop                   stops exactly the process ddbl_start started (no-op when none)

# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DDBL_VERSION=2.9.30
DDBL_PACKAGE=amplify-dynamodb-simulator
# sha256 of amplify-dynamodb-simulator-2.9.30.tgz as `npm pack` fetched it (npm also checks the
# registry's sha512 integrity).
DDBL_TGZ_SHA256=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
DDBL_START_TIMEOUT=${DDBL_START_TIMEOUT:-30}

DDBL_JAVA=${DDBL_JAVA:-}
DDBL_DIR=${DDBL_DIR:-}
DDBL_PID=
DDBL_PORT=
DDBL_STATE=

# _ddbl_java_major JAVA: print the major version of that java, or nothing.
_ddbl_java_major() {
    "$1" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\)\(\.[0-9][0-9.]*\)\{0,1\}[^"]*".*/\1/p' | head -n1
}

_ddbl_find_java() {
    local candidate major
    for candidate in "$(command -v java 2>/dev/null)" /usr/lib/jvm/java-17-openjdk-*/bin/java \
        /usr/lib/jvm/*/bin/java; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        major=$(_ddbl_java_major "$candidate")
        if [ -n "$major" ] && [ "$major" -ge 17 ]; then
            DDBL_JAVA=$candidate
            return 0
        fi
    done
    return 1
}

ddbl_ensure_java() {
    if [ -n "$DDBL_JAVA" ] && [ -x "$DDBL_JAVA" ]; then return 0; fi
    _ddbl_find_java && return 0
    apt_install openjdk-17-jre-headless || die "could not install Java 17 (openjdk-17-jre-headless)"
    _ddbl_find_java || die "Java 17 was installed but no java >= 17 was found"
}

ddbl_default_dir() {
    printf '%s\n' "${DYNAMODB_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/technology-api/dynamodb-local-$DDBL_VERSION}"
}

_ddbl_installed() {
    [ -f "$1/DynamoDBLocal.jar" ] && [ -d "$1/DynamoDBLocal_lib" ]
}

_ddbl_sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        python3 -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# _ddbl_fetch TMP: download and unpack into TMP/package/emulator; non-zero (after saying why) on failure.
_ddbl_fetch() {
    local tmp=$1 tgz sum
    quietly "npm pack $DDBL_PACKAGE@$DDBL_VERSION" \
        npm pack --silent --pack-destination "$tmp" "$DDBL_PACKAGE@$DDBL_VERSION" || return 1
    tgz="$tmp/$DDBL_PACKAGE-$DDBL_VERSION.tgz"
    [ -f "$tgz" ] || {
        warn "npm pack did not produce $tgz"
        return 1
    }
    sum=$(_ddbl_sha256 "$tgz")
    [ "$sum" = "$DDBL_TGZ_SHA256" ] || {
        warn "checksum mismatch for $DDBL_PACKAGE@$DDBL_VERSION: got $sum, want $DDBL_TGZ_SHA256"
        return 1
    }
    quietly "unpacking $tgz" tar -xzf "$tgz" -C "$tmp" package/emulator || return 1
    _ddbl_installed "$tmp/package/emulator" || {
        warn "$tgz has no emulator/DynamoDBLocal.jar"
        return 1
    }
}

ddbl_install() {
    local dir parent tmp ok=1
    dir=$(ddbl_default_dir)
    if _ddbl_installed "$dir"; then
        DDBL_DIR=$dir
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm || die "npm is needed to fetch DynamoDB Local; could not install it"
    fi
    note "installing DynamoDB Local $DDBL_VERSION into $dir"
    parent=$(dirname "$dir")
    mkdir -p "$parent" || die "cannot create $parent"
    # Unpack next to the destination (same file system), then rename: never a half-written folder.
    tmp=$(mktemp -d "$parent/.dynamodb-local.XXXXXX") || die "cannot create a temp folder in $parent"
    if _ddbl_fetch "$tmp"; then
        # Another process may have finished meanwhile: its copy is as good as ours (and in use).
        if ! _ddbl_installed "$dir"; then
            rm -rf "$dir" 2>/dev/null # an incomplete copy from before the atomic rename, if any
            mv -T "$tmp/package/emulator" "$dir" 2>/dev/null || _ddbl_installed "$dir" || ok=0
        fi
    else
        ok=0
    fi
    rm -rf "$tmp"
    [ "$ok" -eq 1 ] || die "could not install DynamoDB Local ($DDBL_PACKAGE@$DDBL_VERSION) into $dir"
    DDBL_DIR=$dir
}

ddbl_port_open() {
    # A subshell so the file descriptor never leaks; timeout guards against a silent firewall.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

ddbl_free_port() {
    local port
    if command -v python3 >/dev/null 2>&1; then
        port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null) && [ -n "$port" ] && {
            printf '%s\n' "$port"
            return 0
        }
    fi
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! ddbl_port_open "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    die "found no free port"
}

# ddbl_is_dynamodb PORT: DynamoDB answers an unsigned request with a MissingAuthenticationToken error
# whose __type names the DynamoDB API.
ddbl_is_dynamodb() {
    local port=$1 body
    if command -v curl >/dev/null 2>&1; then
        body=$(curl -s --max-time 3 -X POST -H 'x-amz-target: DynamoDB_20120810.ListTables' \
            -H 'content-type: application/x-amz-json-1.0' -d '{}' "http://127.0.0.1:$port/" 2>/dev/null)
    else
        body=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nx-amz-target: DynamoDB_20120810.ListTables\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}" >&3
            cat <&3' _ "$port" 2>/dev/null)
    fi
    case $body in *dynamodb*) return 0 ;; *) return 1 ;; esac
}

# _ddbl_is_ours PID PORT: that pid is a DynamoDB Local java started on that port.
_ddbl_is_ours() {
    local cmdline
    [ -r "/proc/$1/cmdline" ] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    case $cmdline in *DynamoDBLocal.jar*"-port $2"*) return 0 ;; *) return 1 ;; esac
}

ddbl_start() {
    local port=$1 waited=0
    [ -n "$port" ] || die "ddbl_start: no port given"
    [ -z "$DDBL_PID" ] || die "ddbl_start: DynamoDB Local already started (pid $DDBL_PID)"
    ddbl_ensure_java
    ddbl_install
    if ddbl_port_open "$port"; then
        die "port $port is already in use on 127.0.0.1"
    fi
    # It writes dynamodb-local-metadata.json into its working directory: give it its own.
    # -sharedDb: one database whatever the credentials and region of the client (without it, a
    # client with other keys or another region sees other tables, e.g. the aws CLI).
    DDBL_STATE=$(mktemp -d "${TMPDIR:-/tmp}/dynamodb-local.XXXXXX") || die "cannot create a state folder"
    (
        cd "$DDBL_STATE" || exit 1
        exec "$DDBL_JAVA" "-Djava.library.path=$DDBL_DIR/DynamoDBLocal_lib" -jar "$DDBL_DIR/DynamoDBLocal.jar" \
            -inMemory -sharedDb -disableTelemetry -port "$port"
    ) </dev/null >"$DDBL_STATE/dynamodb-local.log" 2>&1 &
    DDBL_PID=$!
    DDBL_PORT=$port
    printf '%s\n' "$DDBL_PID" >"$DDBL_STATE/dynamodb-local.pid"
    while ! ddbl_port_open "$port"; do
        if ! kill -0 "$DDBL_PID" 2>/dev/null; then
            printf 'error: DynamoDB Local exited before it listened on port %s; its log:\n' "$port" >&2
            sed 's/^/    /' "$DDBL_STATE/dynamodb-local.log" >&2
            wait "$DDBL_PID" 2>/dev/null
            DDBL_PID=
            rm -rf "$DDBL_STATE"
            DDBL_STATE=
            exit 1
        fi
        if [ "$waited" -ge $((DDBL_START_TIMEOUT * 5)) ]; then
            printf 'error: DynamoDB Local did not listen on port %s within %ss; its log:\n' \
                "$port" "$DDBL_START_TIMEOUT" >&2
            sed 's/^/    /' "$DDBL_STATE/dynamodb-local.log" >&2
            ddbl_stop
            exit 1
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

ddbl_stop() {
    local pid=$DDBL_PID
    if [ -n "$pid" ]; then
        if _ddbl_is_ours "$pid" "$DDBL_PORT"; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null || true
    fi
    [ -n "$DDBL_STATE" ] && rm -rf "$DDBL_STATE"
    DDBL_PID=
    DDBL_PORT=
    DDBL_STATE=
    return 0
}

_ddbl_main() {
    set -uo pipefail
    case ${1:-} in
    install)
        ddbl_ensure_java
        ddbl_install
        printf '%s\n' "$DDBL_DIR"
        ;;
    free-port) ddbl_free_port ;;
    is-dynamodb)
        [ -n "${2:-}" ] || die "usage: $0 is-dynamodb PORT"
        ddbl_is_dynamodb "$2"
        ;;
    run)
        local port=${2:-}
        [ -n "$port" ] || port=$(ddbl_free_port)
        trap 'ddbl_stop; exit 130' INT
        trap 'ddbl_stop; exit 143' TERM
        trap 'ddbl_stop' EXIT
        ddbl_start "$port"
        note "DynamoDB Local on http://127.0.0.1:$port (pid $DDBL_PID); Ctrl-C stops it"
        wait "$DDBL_PID"
        ;;
    *)
        printf 'usage: %s install | free-port | is-dynamodb PORT | run [PORT]\n' "$0" >&2
        exit 2
        ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _ddbl_main "$@"
fi
