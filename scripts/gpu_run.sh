#!/usr/bin/env bash
# The real Kedro pipeline and the throughput checks on a GPU machine, with every figure printed.
#
#   bash scripts/gpu_run.sh            # on the GPU machine (a few minutes)
#   bash scripts/gpu_run.sh --tiny     # the same steps at toy sizes on this CPU (< 2 minutes)
#   bash scripts/gpu_run.sh --wheelhouse   # here, with PyPI: fill .whl/ for the GPU machine
#
# The GPU machine has torch, torchvision and lightning but not kedro, kedro-datasets,
# kedro-mlflow, mlflow-skinny or pydantic, no package registry, and maybe another Python. When
# the project is not importable, the pure-Python wheels of scripts/gpu-wheels.txt (about 23 MB,
# built for the device's Python by --wheelhouse and carried in the git-ignored .whl/) go into a
# private folder with `pip install --no-index --no-deps --target`: its torch is never touched.
#
# Steps (each prints what it measured; a summary ends the output, and everything is written to
# $OUT, default a new temporary folder):
#   1. versions of every package the run imports, and the device;
#   2. `kedro run --pipeline=harm --env paper` shrunk with --params (one seed, fewer samples and
#      epochs, one C.3 point each way), sequentially: wall time, Table 1, images/s of the trainings;
#   3. the same run with the project's ParallelRunner (WORKERS processes sharing the device);
#   4. benchmarks/probe_batched.py: batched against separate probes, P = 1, 16, 64;
#   5. benchmarks/gpu_check.py: training images/s at batch 128 and 512, k trainings side by side,
#      rendering on the device.
# Environment: PYTHON (default python3), OUT, WORKERS (default 4; 2 with --tiny).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
MODE=full
case "${1:-}" in
  --tiny) MODE=tiny ;;
  --wheelhouse) MODE=wheelhouse ;;
  "") ;;
  *) echo "usage: bash scripts/gpu_run.sh [--tiny | --wheelhouse]" >&2; exit 2 ;;
esac
export DO_NOT_TRACK=true MLFLOW_ENABLE_TELEMETRY=false KEDRO_DISABLE_TELEMETRY=true

if [ "$MODE" = wheelhouse ]; then
  # the GPU machine runs Python 3.12 (docs/benchmarks.md, "The real pipeline on the GPU machine"); set
  # GPU_PYTHON_VERSION for another one
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "${GPU_PYTHON_VERSION:-3.12}" --implementation cp \
    --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any \
    -d "$REPO/.whl" -r "$REPO/scripts/gpu-wheels.txt"
  echo "wheelhouse: $(ls "$REPO/.whl" | wc -l) wheels, $(du -sh "$REPO/.whl" | cut -f1) in .whl/"
  exit 0
fi

OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
SUMMARY="$OUT/summary.md"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

# ---------------------------------------------------------------- 1. the environment
if ! "$PY" -c "import kedro, kedro_datasets, kedro_mlflow, mlflow, pydantic" 2>/dev/null; then
  if ! ls "$REPO"/.whl/*.whl >/dev/null 2>&1; then
    echo "error: kedro, kedro-mlflow, mlflow or pydantic cannot be imported and there is no" >&2
    echo "wheelhouse in $REPO/.whl/. Build it where PyPI is reachable with" >&2
    echo "  bash scripts/gpu_run.sh --wheelhouse   (GPU_PYTHON_VERSION=3.12 by default)" >&2
    echo "and carry .whl/ to this machine." >&2
    exit 2
  fi
  "$PY" -m pip install --quiet --no-index --no-deps --target "$SCRATCH/site" "$REPO"/.whl/*.whl
  export PYTHONPATH="$SCRATCH/site:$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
  note "installed $(ls "$REPO"/.whl/*.whl | wc -l) wheels from .whl/ into a private folder"
elif ! "$PY" -c "import transfer_invariance" 2>/dev/null; then
  export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" - <<'EOF' | tee -a "$SUMMARY"
import importlib, importlib.metadata as md, platform, sys
missing = []
for pkg in ("torch", "torchvision", "lightning", "kedro", "kedro_datasets", "kedro_mlflow",
            "mlflow", "pydantic", "numpy", "pandas", "matplotlib", "protobuf", "opentelemetry"):
    name = {"protobuf": "google.protobuf", "opentelemetry": "opentelemetry.sdk"}.get(pkg, pkg)
    try:
        mod = importlib.import_module(name)
        dist = {"kedro_datasets": "kedro-datasets", "kedro_mlflow": "kedro-mlflow",
                "opentelemetry": "opentelemetry-sdk"}.get(pkg, pkg)
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = getattr(mod, "__version__", "?")
        print(f"- {pkg} {version}")
    except Exception as exc:  # a broken dependency: say which and why, then stop
        missing.append(f"{pkg}: {type(exc).__name__}: {exc}")
import torch
dev = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device (CPU)"
print(f"- Python {platform.python_version()}, {dev}")
if missing:
    sys.exit("error: cannot import " + "; ".join(missing))
EOF

# ---------------------------------------------------------------- 2-3. the real pipeline
if [ "$MODE" = tiny ]; then
  WORKERS="${WORKERS:-2}"
  SIZES="harm.data.n_train=120,harm.data.n_val=40,harm.data.n_test=60,harm.data.n_pairs=40"
  SIZES="$SIZES,harm.training.width=0.125,harm.training.epochs=1,harm.training.batch_size=32"
  SIZES="$SIZES,harm.probe.epochs=3,harm.invariance.n_random_pairs=200,harm.data.object_size=8"
else
  WORKERS="${WORKERS:-4}"
  SIZES="harm.data.n_train=20000,harm.data.n_val=2000,harm.data.n_test=5000"
  SIZES="$SIZES,harm.data.n_pairs=5000,harm.training.epochs=3,harm.probe.epochs=50"
fi
PARAMS="harm.seeds=[0],harm.grid.seeds=[0],harm.grid.rhos=[0.9],harm.grid.betas=[0.5]"
PARAMS="$PARAMS,harm.training.progress=false,harm.probe.progress=false,render.progress=false,$SIZES"
CIFAR="data/01_raw/cifar-10-python.tar.gz"
if [ ! -e "$REPO/$CIFAR" ] && [ ! -d "$REPO/data/01_raw/cifar-10-batches-py" ]; then
  PARAMS="$PARAMS,harm.data.c_source=scenes"  # no CIFAR-10 here: the embedded scene stand-in
  note "C: the embedded scenes (no $CIFAR on this machine)"
fi

run_harm() {  # run_harm <label> [kedro run options...]: one shrunk paper-env harm run
  local label="$1"; shift
  local project="$SCRATCH/project_$label"
  mkdir -p "$project/data" "$project/src" "$project/conf/local"
  cp "$REPO/pyproject.toml" "$project/"
  cp -r "$REPO/conf/base" "$REPO/conf/paper" "$project/conf/"
  [ -d "$REPO/data/01_raw" ] && cp -r "$REPO/data/01_raw" "$project/data/"
  local start end
  start=$(date +%s)
  if ! (cd "$project" && "$PY" -m kedro run --pipeline=harm --env paper --params "$PARAMS" "$@" \
        > "$OUT/harm_$label.log" 2>&1); then
    tail -n 40 "$OUT/harm_$label.log" >&2
    echo "error: the $label harm run failed (log: $OUT/harm_$label.log)" >&2
    exit 1
  fi
  end=$(date +%s)
  cp -r "$project/data/08_reporting/harm" "$OUT/harm_$label"
  local rate
  rate=$("$PY" -c '
import sys, mlflow
mlflow.set_tracking_uri(f"sqlite:///{sys.argv[1]}/mlflow.db")
runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.stage = \"pretrain\"")
images = (runs["params.n_train"].astype(int) * runs["params.epochs"].astype(int)).sum()
seconds = runs["metrics.duration_s"].sum()
print(f"{len(runs)} pretrainings, {images / seconds:,.0f} training images/s each "
      f"({images:,} images in {seconds:.1f} s, validation and test passes included), "
      f"{images / float(sys.argv[2]):,.0f} images/s over the whole run")
' "$project" "$((end - start))")
  note ""
  note "### harm --env paper, shrunk, $label: $((end - start)) s wall; $rate"
  note ""
  sed -n '/^| model/,/^$/p' "$OUT/harm_$label/table1.md" | tee -a "$SUMMARY"
}
run_harm sequential
run_harm parallel --runner=transfer_invariance.runners.ParallelRunner "--runner-params=max_workers=$WORKERS"
if cmp -s "$OUT/harm_sequential/table1.csv" "$OUT/harm_parallel/table1.csv"; then
  note "Table 1: ParallelRunner ($WORKERS workers) identical to sequential"
else
  note "Table 1: ParallelRunner ($WORKERS workers) differs from sequential (threads / kernel choice)"
fi

# ---------------------------------------------------------------- 4-5. throughput checks
cd "$REPO/benchmarks"
if [ "$MODE" = tiny ]; then
  "$PY" probe_batched.py --tiny | tee -a "$SUMMARY"
  "$PY" gpu_check.py --tiny --parts render train concurrent --out "$OUT/gpu_check.json" \
    > "$OUT/gpu_check.log" 2>&1 || { tail -n 30 "$OUT/gpu_check.log" >&2; exit 1; }
else
  "$PY" probe_batched.py --devices cuda | tee -a "$SUMMARY"
  "$PY" gpu_check.py --parts train concurrent render --compile-backend none \
    --train-batches 128 512 --ks 1 2 4 --concurrent-batch 512 --concurrent-steps 200 \
    --out "$OUT/gpu_check.json" > "$OUT/gpu_check.log" 2>&1 \
    || { tail -n 30 "$OUT/gpu_check.log" >&2; exit 1; }
fi
"$PY" - "$OUT/gpu_check.json" <<'EOF' | tee -a "$SUMMARY"
import json, sys
report = json.load(open(sys.argv[1]))
print()
print(report["markdown"])
if report["failed"]:
    sys.exit(f"error: gpu_check parts failed: {report['failed']}")
EOF
echo
echo "summary: $SUMMARY"
