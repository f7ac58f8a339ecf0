#!/usr/bin/env bash
# Prepare, here, what a lent GPU machine (the `device` tool) lacks for scripts/gpu_session.sh:
# wheels of the Python packages its image does not hold (datasets and what it needs beyond the
# image: dill, multiprocess; for its Python 3.12) and the few shared files the checks read
# (../shared does not travel). Everything goes to .gpu-kit/ (git-ignored, about 10 MB), which the
# device call carries:   run(command="bash scripts/gpu_session.sh", carry=[".gpu-kit"], timeout_s=570)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TEXTROBUST_SHARED:-../shared}
kit=.gpu-kit
rm -rf "$kit"
mkdir -p "$kit/whl" "$kit/shared/data/sst2" "$kit/shared/data/wordnet" "$kit/shared/models/minilm-l6-sst2" \
    "$kit/shared/models/all-minilm-l6-v2"
version() { python3 -c "import importlib.metadata as m; print(m.version('$1'))"; }
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
    -d "$kit/whl" "datasets==$(version datasets)" "dill==$(version dill)" "multiprocess==$(version multiprocess)"
cp "$shared"/data/sst2/validation-*.parquet "$kit/shared/data/sst2/"
cp "$shared/data/wordnet/oewn_synonyms.json" "$kit/shared/data/wordnet/"
cp "$shared"/models/minilm-l6-sst2/{config.json,tokenizer.json,tokenizer_config.json} "$kit/shared/models/minilm-l6-sst2/"
# the tests' tiny sentence encoder takes the shared encoder's tokenizer (tests/conftest.py)
cp "$shared"/models/all-minilm-l6-v2/{tokenizer.json,tokenizer_config.json,special_tokens_map.json} \
    "$kit/shared/models/all-minilm-l6-v2/"
du -sh "$kit"
ls "$kit/whl"
