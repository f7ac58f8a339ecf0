#!/usr/bin/env bash
# The GPU checks, as one prepared command for a lent GPU machine (see scripts/gpu_kit.sh, run here
# first, and docs/host-pipeline.md "GPU"): the device tests (eval and certify on CUDA equal to the
# CPU run), scripts/bench_gpu.py (bert-base-sized bf16: eval against the raw-forward floor) and
# scripts/bench_host.py's tiny case on CUDA (model calls/s). Logs and JSON go to $OUT (the device
# tool's folder that comes back). SMOKE=1 DEVICE=cpu runs the same steps tiny, here, to check them.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-session}
mkdir -p "$out"
device=${DEVICE:-cuda}
kit=$PWD/.gpu-kit
if [ -d "$kit/whl" ] && ! python3 -c "import datasets" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$kit"/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$kit/shared" ]; then export TEXTROBUST_SHARED="$kit/shared"; fi
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
(nvidia-smi || true; python3 -c "import torch, transformers, datasets; print(torch.__version__, torch.cuda.is_available(), transformers.__version__, datasets.__version__)") 2>&1 | tee "$out/environment.txt"
if [ -n "${SMOKE:-}" ]; then
    gpu_args=(--dtype fp32 --layers 1 --limit 6 --max-steps 4 --batch-size 16)
    host_args=(--limit 6 --max-steps 10 --repeats 1)
else
    gpu_args=()
    host_args=(--limit 872)
fi
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log, remember a failure
    local name=$1 seconds=$2
    shift 2
    echo "== $name: $*" | tee "$out/$name.log"
    timeout "$seconds" "$@" 2>&1 | tee -a "$out/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc" | tee -a "$out/$name.log"
    [ "$rc" -eq 0 ] || status=1
}
step test_devices 180 python3 -m pytest -q -p no:cacheprovider -rs tests/test_devices.py
step bench_gpu 240 python3 scripts/bench_gpu.py --device "$device" "${gpu_args[@]}" --json "$out/bench_gpu.json"
step bench_host_tiny 150 python3 scripts/bench_host.py --cases tiny --device "$device" "${host_args[@]}" --json "$out/host_tiny_$device.json"
exit $status
