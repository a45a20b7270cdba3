#!/usr/bin/env bash
# The first hour of a new user: Ctrl-C on `make dev` must stop everything it started and leave
# nothing behind. Starts `make dev` on free ports in a process group of its own (as a terminal
# runs it), waits until it serves, sends SIGINT to the whole group (what Ctrl-C does), then
# checks: exit status 0, no "Error" from make, .local/dev.env gone, both ports closed, and no
# DynamoDB Local state folder left in $TMPDIR.
set -uo pipefail

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

fail() {
    echo "make dev stop: $*" >&2
    [ -f "$out" ] && tail -n 20 "$out" >&2
    exit 1
}

tmp=${TMPDIR:-/tmp}
api_port=$(ddbl_free_port) || exit 1
dynamodb_port=$(ddbl_free_port) || exit 1
out=$(mktemp "$tmp/make-dev-stop.XXXXXX")
before=$(ls -d "$tmp"/dynamodb-local.* 2>/dev/null | sort)
had_env=0
[ -f .local/dev.env ] && had_env=1

API_PORT=$api_port DYNAMODB_PORT=$dynamodb_port setsid make dev >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    grep -q "Ctrl-C stops" "$out" && break
    kill -0 "$pid" 2>/dev/null || fail "make dev ended before it served"
    sleep 0.5
done
grep -q "Ctrl-C stops" "$out" || fail "make dev did not start within 5 minutes"
[ -f .local/dev.env ] || fail "no .local/dev.env while it ran"

kill -INT -- "-$pid"
status=0
wait "$pid" || status=$?
rm_out() { rm -f "$out"; }

[ "$status" -eq 0 ] || fail "exit status $status after Ctrl-C, not 0"
! grep -q "Error [0-9]" "$out" || fail "make reported an error"
if [ "$had_env" -eq 0 ] && [ -f .local/dev.env ]; then
    fail ".local/dev.env left behind"
fi
for port in "$api_port" "$dynamodb_port"; do
    ! ddbl_port_open "$port" || fail "port $port still open"
done
after=$(ls -d "$tmp"/dynamodb-local.* 2>/dev/null | sort)
[ "$before" = "$after" ] || fail "a DynamoDB Local state folder was left: $(comm -13 <(echo "$before") <(echo "$after"))"
rm_out
echo "make dev stops cleanly on Ctrl-C (exit 0, nothing left)"
