#!/usr/bin/env bash
# `make bench-instructions`: the user-space instructions each function spends on one warm
# request, against its hello-world-with-client baseline, counted by valgrind's callgrind.
#
#   scripts/bench-instructions.sh [FUNCTION...]   (default: the four of `make bench`)
#
# `make bench` times the functions, and a shared machine moves those times by ±0.1 between
# runs; instruction counts stay within about 1% from run to run (what DynamoDB Local answers
# varies a little), so a change of a few thousand instructions per request shows. Each function
# and its baseline run through the bench's own Lambda Runtime API emulator (benches/lambda, one
# repetition, no cold-start series) twice, with 100 and with 300 measured invocations; the
# difference ÷ 200 is one warm request, init and warm-up cancelled out. Kernel time (sockets,
# the log pipe) is not in these counts, nor cache misses; `make bench` has those. Under valgrind
# SHA-256 runs the portable code instead of the CPU's SHA instructions, which overstates what
# hashing (token digests, history events) costs.
#
# The binaries are built with the bench profile, unstripped, in target/instructions
# (INSTRUCTIONS_TARGET_DIR names another), so `callgrind_annotate` can name functions; the
# profiles stay in that folder, under callgrind/.
set -uo pipefail

# shellcheck source=scripts/dynamodb-local.sh
. "$(dirname "${BASH_SOURCE[0]}")/dynamodb-local.sh"
cd "$TECH_ROOT" || exit 1

"$TECH_ROOT/scripts/install-tools.sh" java dynamodb-local valgrind || exit 1

functions=("$@")
[ ${#functions[@]} -gt 0 ] || functions=(technology-get technology-create technology-list access-evaluation)
baseline_of() {
    case $1 in
    technology-get) echo hello-getitem ;;
    technology-create) echo hello-transactwrite ;;
    technology-list) echo hello-query ;;
    access-evaluation) echo hello-batchget ;;
    *) die "no baseline for '$1' (technology-get, technology-create, technology-list, access-evaluation)" ;;
    esac
}
bins=()
for f in "${functions[@]}"; do bins+=("$f" "$(baseline_of "$f")"); done

export CARGO_TARGET_DIR="${INSTRUCTIONS_TARGET_DIR:-$TECH_ROOT/target/instructions}"
export CARGO_PROFILE_BENCH_STRIP=false CARGO_PROFILE_BENCH_DEBUG=line-tables-only
note "cargo build --profile bench (unstripped, $CARGO_TARGET_DIR)"
cargo build --profile bench --quiet -p functions -p bench-baseline "${bins[@]/#/--bin=}" || exit 1
harness=$(cargo bench -p technology-api --no-run 2>&1 |
    sed -n 's/.*Executable benches\/lambda\/main.rs (\(.*\))$/\1/p')
[ -x "$harness" ] || die "could not find the lambda bench harness"

trap 'ddbl_stop; exit 130' INT
trap 'ddbl_stop; exit 143' TERM
trap 'ddbl_stop' EXIT
port=$(ddbl_free_port) || exit 1
ddbl_start "$port"

out="$CARGO_TARGET_DIR/callgrind"
rm -rf "$out"
mkdir -p "$out/bin"
# The emulator kills a process when it is done with it; callgrind writes its profile only when
# the process exits, so each binary runs as a child of a shell the emulator may kill, and exits
# by itself once the emulator is gone.
for b in "${bins[@]}"; do
    cat >"$out/bin/$b" <<EOF
#!/bin/sh
valgrind --tool=callgrind --callgrind-out-file="$out/\$(cat "$out/tag").$b.%p" \
    "$CARGO_TARGET_DIR/release/$b" "\$@" &
wait \$!
EOF
    chmod +x "$out/bin/$b"
done

# The instructions of the process of `bin` that served the measured invocations (the largest
# profile: the bench also starts each binary once to record its requests).
total() {
    local best=0 n f
    for f in "$out/$1.$2".*; do
        n=$(sed -n 's/^summary: //p' "$f")
        [ "${n:-0}" -gt "$best" ] && best=$n
    done
    echo "$best"
}

export DYNAMODB_ENDPOINT="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_EC2_METADATA_DISABLED=true
export BENCH_LAMBDA_BIN_DIR="$out/bin" BENCH_LAMBDA_PART3=0 BENCH_LAMBDA_REPS=1
export BENCH_LAMBDA_COLD=0 BENCH_LAMBDA_WARMUP=10
printf '%-20s %-20s %14s %14s %8s %10s\n' function baseline "function/req" "baseline/req" ratio "diff/req"
for f in "${functions[@]}"; do
    b=$(baseline_of "$f")
    for warm in 100 300; do
        echo "$f-$warm" >"$out/tag"
        BENCH_LAMBDA_FUNCTIONS=$f BENCH_LAMBDA_WARM=$warm "$harness" --bench \
            >"$out/$f-$warm.log" 2>&1 || die "bench of $f failed: $out/$f-$warm.log"
        # Each process writes its profile once it has seen the emulator go.
        for _ in $(seq 100); do
            [ -n "$(find "$out" -maxdepth 1 -name "$f-$warm.*" -size 0)" ] || break
            sleep 0.1
        done
    done
    fn=$((($(total "$f-300" "$f") - $(total "$f-100" "$f")) / 200))
    bn=$((($(total "$f-300" "$b") - $(total "$f-100" "$b")) / 200))
    [ "$bn" -gt 0 ] || die "no baseline profile for $f in $out"
    printf '%-20s %-20s %14d %14d %8s %10d\n' "$f" "$b" "$fn" "$bn" \
        "$(awk "BEGIN { printf \"%.3f\", $fn / $bn }")" $((fn - bn))
done
note "profiles: $out/<function>-<invocations>.<binary>.<pid> (callgrind_annotate)"
