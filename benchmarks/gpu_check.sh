#!/usr/bin/env bash
# The GPU check, prepared for the day a GPU is lent (issue 14). Run it once on a machine with
# a CUDA GPU, from the repository root with the environment active, and commit what it writes:
#
#   benchmarks/gpu_check.sh results/gpu_check        # about 5-9 minutes on an H100/H200
#
# It writes JSON only, under the folder given:
#   device.json        the GPU, driver, torch/triton versions, the commit
#   tests.json         the CUDA tests (oracle on torch-cuda and Triton, momentum, Nesterov and
#                      Adam on torch-cuda, determinism, Triton compile/launch rules):
#                      passed/failed/skipped and each failure's message
#   bench.json         benchmarks/bench_engine.py --device cuda: one object per batch size
#                      (updates_per_s, eval_share, kernel rate, ratio to the naive loop)
#   optimizers.json    benchmarks/bench_engine.py --device cuda --optimizers, one epoch a case:
#                      momentum and Adam (the torch path on CUDA, on-line and at batch 100)
#                      beside plain SGD, with their ratios to it
#   crossover.json     benchmarks/bench_engine.py --device cuda --crossover: Triton against
#                      torch at small batch sizes (what engine.TRITON_MAX_BATCH should be)
#   quick.json         the quick profile with training.engine.device: cuda, end to end:
#                      seconds, exit status, and its tasks and large-task tables as records
#   summary.json       each stage's exit status and seconds
# Each stage has a time limit (STAGE_LIMITS below), so the whole stays under 9 minutes; a stage
# that fails or times out is recorded as such (exit status 124) and the next one runs.
# GPU_CHECK_DEVICE=cpu runs the same stages on the CPU: a smoke test of this script, not a
# measurement.
set -uo pipefail

out=${1:?usage: benchmarks/gpu_check.sh OUT_DIR}
device=${GPU_CHECK_DEVICE:-cuda}
cores=${GPU_CHECK_CORES:-8}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
# seconds per stage: 520 in all, about 9 minutes with the set-up (the quick profile, with the
# scaling study and size sweep, took 115 s on 2 idle CPU cores) (GPU_CHECK_LIMITS="tests=20,..."
# overrides them, e.g. for a smoke test)
declare -A STAGE_LIMITS=([tests]=130 [bench]=90 [optimizers]=60 [crossover]=60 [quick]=180)
for pair in ${GPU_CHECK_LIMITS//,/ }; do STAGE_LIMITS[${pair%%=*}]=${pair#*=}; done
summary="$out/summary.tsv"
: >"$summary"

stage() {  # stage NAME COMMAND...: run with its time limit, record status and seconds
  local name=$1 start status
  shift
  start=$(date +%s)
  timeout "${STAGE_LIMITS[$name]}" "$@"
  status=$?
  printf '%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - start))" >>"$summary"
  echo "gpu_check: $name exit $status after $(($(date +%s) - start)) s" >&2
}

python - "$device" >"$out/device.json" <<'EOF'
import json, subprocess, sys
import torch
from batch_inefficiency.provenance import provenance
info = {"requested_device": sys.argv[1], "cuda_available": torch.cuda.is_available(), **provenance()}
if torch.cuda.is_available():
    info["device_name"] = torch.cuda.get_device_name(0)
    info["capability"] = list(torch.cuda.get_device_capability(0))
    info["cuda_runtime"] = torch.version.cuda
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                          "--format=csv,noheader"], capture_output=True, text=True)
    info["nvidia_smi"] = smi.stdout.strip()
print(json.dumps(info, indent=2))
EOF

# 1. CUDA tests: the oracle (torch on CUDA, Triton compiled), determinism, divergence, Triton rules.
stage tests pytest -q -p no:cacheprovider tests/test_engine_oracle.py tests/test_engine.py \
  tests/test_engine_triton.py tests/test_engine_optimizers.py -k "cuda or triton" \
  --junitxml "$out/tests.xml"
python - "$out" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
from pathlib import Path
out = Path(sys.argv[1])
status = {line.split("\t")[0]: int(line.split("\t")[1]) for line in open(out / "summary.tsv")}
result = {"exit_status": status.get("tests"), "passed": 0, "failed": 0, "skipped": 0, "failures": []}
if (out / "tests.xml").exists():
    for case in ET.parse(out / "tests.xml").iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            result["failed"] += 1
            result["failures"].append({"test": name, "message": (bad.get("message") or "")[:2000]})
        elif case.find("skipped") is not None:
            result["skipped"] += 1
        else:
            result["passed"] += 1
    (out / "tests.xml").unlink()
(out / "tests.json").write_text(json.dumps(result, indent=2) + "\n")
EOF

# 2. Throughput on the GPU (each line a JSON object), the optimizers beside plain SGD (one
# epoch a case: the torch path launches ~40 kernels an on-line Adam step), and the
# Triton/torch crossover.
stage bench python benchmarks/bench_engine.py --device "$device" --threads 2 >"$out/bench.jsonl"
stage optimizers python benchmarks/bench_engine.py --device "$device" --threads 2 --optimizers \
  --epochs 1 --repeats 1 >"$out/optimizers.jsonl"
stage crossover python benchmarks/bench_engine.py --device "$device" --threads 2 --crossover \
  >"$out/crossover.jsonl"
for name in bench optimizers crossover; do
  python -c 'import json, sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1]) if l.strip()], indent=2))' \
    "$out/$name.jsonl" >"$out/$name.json" && rm "$out/$name.jsonl"
done

# 3. The quick profile on the GPU, end to end, into its own results folder.
printf 'results: %s\ntraining:\n  engine:\n    device: %s\n' "$out/quick_results" "$device" \
  >"$out/device_config.yaml"
quick_start=$(date +%s)
stage quick snakemake --cores "$cores" --configfile config/quick.yaml "$out/device_config.yaml" \
  --quiet rules
python - "$out" "$(($(date +%s) - quick_start))" <<'EOF'
import json, sys
from pathlib import Path
import pandas as pd
out, seconds = Path(sys.argv[1]), int(sys.argv[2])
status = {line.split("\t")[0]: int(line.split("\t")[1]) for line in open(out / "summary.tsv")}
tables = out / "quick_results" / "tables"
quick = {"seconds": seconds, "exit_status": status.get("quick")}
for name in ("tasks", "large_task_grid"):
    if (tables / f"{name}.csv").exists():
        quick[name] = pd.read_csv(tables / f"{name}.csv").to_dict(orient="records")
(out / "quick.json").write_text(json.dumps(quick, indent=2, default=str) + "\n")
rows = [line.rstrip("\n").split("\t") for line in open(out / "summary.tsv")]
summary = {name: {"exit_status": int(code), "seconds": int(sec)} for name, code, sec in rows}
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
EOF
rm -rf "$out/quick_results" "$out/device_config.yaml" "$summary"
echo "gpu_check: results in $out" >&2
