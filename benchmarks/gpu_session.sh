#!/usr/bin/env bash
# One device session's GPU work, run in the background so that it outlives one device call (each
# call may last 10 minutes; the session's device time is 30). Steps run in order of priority and
# each logs its start, end, wall time and exit status to $W/steps.log.
#
#   bash benchmarks/gpu_session.sh start [STEP ...]   # launch (setsid) and return at once
#   bash benchmarks/gpu_session.sh wait SECONDS       # wait until done or SECONDS, then pack
#                                                     # logs, figures and JSON lines into $OUT/session.tgz
#
# Steps (default: all, in this order):
#   build      programs compiled at once on the host's cores (nvcc), while `pytest -m gpu` and the
#              first trial of the GPU profile search (which compiles its own program) run beside them
#   sweep      sims/info_strength.toml --scale paper (1 260 runs) batched on the GPU, 2 workers
#   cpusweep   the same sweep on the host's CPU cores, cpp, 2 of its 20 seeds, unbatched and batch 8
#   fig4 figA2 figA3 info_strength   lamina figures ID --scale paper --backend cuda (info_strength
#              reuses the sweep's runs)
#   search     trials 2-12 of the GPU profile search (13 x 1000, 90 runs per trial, batch 90)
#   scale      the Het FFN at 13 x 10^3: lamina cuda double/single, the plain brian2cuda script,
#              lamina cpp on one core
#   build2     the programs of the figure steps given after it compiled in the background (5 at a
#              time, in the order of the steps) while `pytest -m gpu` and fig1 (runtime backend, CPU) run beside
#              them; the figure steps after it wait for their program where it is not built yet
#   FIGURE     any other figure id: lamina figures ID --scale paper --backend cuda
#   peers      benchmarks/peer_nest.py's network (10 x 10 000 LIF, 1 s) on cuda: lamina run (compiles,
#              then cached) and the 16-point sweep in one batch (compiles, then cached)
#   search16   trials 2-5 of the GPU profile search at its shipped 16 seeds (144 runs per trial; the
#              first, which compiles, runs during build2)
set -u
W=${LAMINA_SESSION_DIR:-/tmp/gs}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
ALL="build sweep cpusweep fig4 info_strength search figA2 figA3 scale"

step() {  # name, command...
    local name=$1; shift
    local t0; t0=$(date +%s%N)
    echo "$(date -u +%H:%M:%S) start $name" >> "$W/steps.log"
    "$@" > "$W/log_$name.txt" 2>&1
    local rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "$(date -u +%H:%M:%S) end $name rc $rc wall_s $((ms / 1000)).$(printf %03d $((ms % 1000)))" >> "$W/steps.log"
}

figure() {
    $PY -m lamina figures "$1" --scale paper --backend cuda --workers 2 --results "$W/results" -o "$W/figures" &&
        $PY benchmarks/collect_analysis.py "$W/results/$1" "$W/figures/${1}_analysis.jsonl" &&
        gzip -f "$W/figures/${1}_analysis.jsonl"
}

search() {  # --trials N: completed trials to reach (the study resumes)
    $PY -m lamina search sims/profile_search.toml --backend cuda --batch 90 --trials "$1" --no-reevaluate \
        -o "$W/search"
}

search16() {  # the shipped spec (16 seeds: 144 runs per trial), default batching
    $PY -m lamina search sims/profile_search.toml --backend cuda --trials "$1" --no-reevaluate -o "$W/search16"
}

specs_of() {  # the sims specs behind the figure steps given (build2 compiles only those, in order)
    local out="" s spec
    for s in "$@"; do
        case $s in
        build|build2|sweep|cpusweep|search|search16|scale|peers|fig1) continue ;;
        ou_filters) spec=ou_ffn ;;
        fig3_packets) spec=fig3 ;;
        *) spec=$s ;;
        esac
        case " $out " in *" $spec "*) ;; *) out="$out $spec" ;; esac
    done
    echo $out
}

run_steps() {
    cd "$ROOT" || exit 1
    export LAMINA_CACHE=$W/cache OMP_NUM_THREADS=1
    for s in "$@"; do
        case $s in
        build)
            step pytest_gpu $PY -m pytest -m gpu tests/test_cuda.py -q -p no:cacheprovider &
            step search_first search 1 &
            step prebuild $PY benchmarks/prebuild.py "$W/bench" info_strength:180 fig4 figA2 figA3 --jobs 16 &
            step build_scale $PY benchmarks/bench_gpu.py --out "$W/bench" --phases scale --build-only --sizes 1000 \
                --jobs 6 --scale-variants double/compiled,single/compiled &
            wait ;;
        build2)
            step pytest_gpu $PY -m pytest -m gpu tests/test_cuda.py -q -p no:cacheprovider &
            step fig1 figure fig1 &
            step search16_first search16 1 &
            step prebuild2 $PY benchmarks/prebuild.py "$W/bench" $(specs_of "$@") --jobs 5 &
            sleep 20 ;;  # the figure steps that follow wait on their program's lock
        peers)
            mkdir -p "$W/peers" &&
                $PY benchmarks/peer_nest.py --full --backend cuda --sweep 16 --write-specs "$W/peers" > "$W/peers/specs.txt" 2>&1
            for pass in cold warm; do
                step "peers_run_$pass" $PY -m lamina run "$W/peers/peer_nest_counter.toml" --seed 1 -o "$W/peers/run_$pass" \
                    --figure none
                step "peers_sweep_$pass" $PY -m lamina sweep "$W/peers/peer_nest_counter_sweep.toml" --workers 1 --batch 16 \
                    -o "$W/peers/sweep_$pass" --quiet
            done
            step peers_info $PY -m lamina info "$(find "$W/peers/run_warm" -name '*.h5' | head -1)" ;;
        search16) step search16 search16 5 ;;
        sweep) step sweep $PY benchmarks/bench_gpu.py --out "$W/bench" --phases sweep --sweep-batch 180 \
                   --sweep-workers 2 --sweep-out "$W/results/info_strength" ;;
        cpusweep) step cpusweep $PY benchmarks/bench_cpu_sweep.py --out "$W/cpu_sweep" --seeds 2 --workers 16 ;;
        search) step search search 12 ;;
        scale) step scale $PY benchmarks/bench_gpu.py --out "$W/bench" --phases scale --sizes 1000 \
                   --scale-variants double/compiled,single/compiled ;;
        *) step "$s" figure "$s" ;;
        esac
    done
    wait  # build2's background steps
    echo "$(date -u +%H:%M:%S) done" >> "$W/steps.log"
}

collect() {  # one tarball: a device call brings back only a few files from $OUT
    local out=${OUT:?}
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$W/gpu.txt" 2>&1
    (cd "$W" && tar czf "$out/session.tgz" gpu.txt steps.log log_*.txt bench/bench_gpu.jsonl figures \
        $(find cpu_sweep search search16 peers -maxdepth 1 -type f 2>/dev/null) 2>/dev/null)
    true
}

case ${1:-} in
start)
    shift
    mkdir -p "$W"
    [ $# -gt 0 ] || set -- $ALL
    setsid bash "$0" run "$@" < /dev/null > "$W/session.txt" 2>&1 &
    echo "started: $W/steps.log" ;;
run) shift; run_steps "$@" ;;
wait)
    end=$(( $(date +%s) + ${2:-540} ))
    while [ "$(date +%s)" -lt "$end" ] && ! grep -q ' done$' "$W/steps.log" 2>/dev/null; do sleep 5; done
    cat "$W/steps.log"; collect ;;
*) sed -n '2,20p' "$0"; exit 2 ;;
esac
