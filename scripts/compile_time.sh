#!/usr/bin/env bash
# What #[llm_trace] costs at compile time: a crate of N functions (default 200), each
# calling mistralai-client's `chat` once, rebuilt in debug mode with and without the
# attribute. Prints the median of RUNS (default 3) whole-crate rebuilds of each, in wall
# time and in CPU time (user + sys, which other load on the machine disturbs less).
#
#   scripts/compile_time.sh [path-to-an-llm-trace-checkout]
#
# FEATURES (default "mistral") lists llm-trace's features, space-separated: e.g.
# FEATURES="mistral tracing" measures the `tracing` feature's expansion.
#
# INSTRUCTIONS=1 also counts the instructions of one rebuild of each (cargo and rustc,
# under valgrind's callgrind): the same count on every run, however busy the machine.
#
# The crates are generated under target/compile-time; their dependencies are built once.
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
n=${N:-200}
runs=${RUNS:-3}
features=$(printf '"%s", ' ${FEATURES:-mistral})
work=${WORK:-$(cd "$(dirname "$0")/.." && pwd)/target/compile-time}
export CARGO_TARGET_DIR=$work/target

generate() { # variant attribute
    local dir=$work/$1-$(basename "$repo")
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<EOF
[package]
name = "compile-time-$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
llm-trace = { path = "$repo/llm-trace", features = [${features%, }] }
mistralai-client = "0.14"

[workspace]
EOF
    {
        echo "use mistralai_client::v1::{chat::ChatMessage, client::Client, constants::Model, error::ApiError};"
        for i in $(seq 0 $((n - 1))); do
            echo "$2"
            echo "pub fn ask_$i(client: &Client) -> Result<String, ApiError> {"
            echo "    let question = vec![ChatMessage::new_user_message(\"question $i\")];"
            echo "    let answer = client.chat(Model::MistralSmallLatest, question, None)?;"
            echo "    Ok(answer.id)"
            echo "}"
        done
    } > "$dir/src/lib.rs"
    echo "$dir"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

rebuild() { # dir: "wall cpu" seconds for one whole-crate rebuild (cpu = user + sys of cargo and rustc)
    touch "$1/src/lib.rs"
    local TIMEFORMAT="%R %U %S"
    { time (cd "$1" && cargo build -q -j 2) ; } 2>&1 | awk '{ printf "%s %.3f\n", $1, $2 + $3 }'
}

plain=$(generate plain "")
traced=$(generate traced "#[llm_trace::llm_trace]")
(cd "$plain" && cargo build -q -j 2 2>/dev/null)
(cd "$traced" && cargo build -q -j 2 2>/dev/null)
# Interleaved, so a machine getting busier or quieter affects both sides alike.
: > "$work/times"
# Each line: plain wall, plain cpu, traced wall, traced cpu.
for _ in $(seq "$runs"); do
    echo "$(rebuild "$plain") $(rebuild "$traced")" >> "$work/times"
done
report() { # label, plain column, traced column
    local p t r
    p=$(cut -d' ' -f"$2" "$work/times" | median)
    t=$(cut -d' ' -f"$3" "$work/times" | median)
    r=$(awk -v a="$2" -v b="$3" '{ printf "%.3f\n", $b / $a }' "$work/times" | median)
    echo "  $1: plain ${p}s, #[llm_trace] ${t}s, ratio of medians $(echo "scale=2; $t / $p" | bc), median ratio $r"
}
instructions() { # dir: instructions executed by one whole-crate rebuild
    local out=$work/callgrind
    mkdir -p "$out" && rm -f "$out"/*
    touch "$1/src/lib.rs"
    (cd "$1" && valgrind --tool=callgrind --trace-children=yes \
        --callgrind-out-file="$out/%p" cargo build -q -j 2) 2> "$out/log" > /dev/null
    grep -E "Collected" "$out/log" | tr -d , | awk '{ s += $NF } END { print s }'
}

echo "$n functions, debug rebuild, median of $runs interleaved runs:"
report "wall time" 1 3
# CPU time is what a busy machine disturbs least: compare it when other work is running.
report "cpu time (user + sys)" 2 4
if [ "${INSTRUCTIONS:-0}" = 1 ]; then
    p=$(instructions "$plain")
    t=$(instructions "$traced")
    echo "  instructions (cargo + rustc): plain $p, #[llm_trace] $t, ratio $(echo "scale=3; $t / $p" | bc)"
fi
