#!/usr/bin/env bash
# Regenerates the demo checkpoints shipped in assets/, with their word-attention statistics and
# faithfulness figures. Trained with the project's own CLI and default recipe on ../shared/data
# (see its README.md): the same settings as the seed-0 runs of `scripts/reproduce.py default`.
# Usage: bash scripts/train_demo.sh [yelp|imdb|all]   (Yelp about 15 min on 2 cores; aclImdb about an hour)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${HAN_DATA:-../shared/data}
WHICH=${1:-all}
LIMIT=${FAITHFULNESS_LIMIT:-1000}  # test reviews the faithfulness figures are measured on
YELP=("$DATA/yelp/yelp_10k.csv.gz" "$DATA/yelp/yelp_open_5k.csv.gz")
IMDB="$DATA/imdb/aclImdb_v1.tar.gz"
resume() { [[ -d $1/.resume ]] && echo --resume || true; }  # continue an interrupted run

demo() {  # demo NAME VARIANT SAMPLE DATA...: train, then word statistics and faithfulness of its test split
  local out=assets/$1/$2 sample=$3
  shift 3
  python -m han train --data "$@" --variant "${out##*/}" --out "$out" $(resume "$out") --seed 0 --half --quiet
  python -m han stats --checkpoint "$out" --data "$@" --split test ${sample:+--sample $sample} \
    --out "$out/word_stats.npz"
  python -m han faithfulness --checkpoint "$out" --data "$@" --limit "$LIMIT" --out "$out/faithfulness.json" >/dev/null
}

if [[ $WHICH == yelp || $WHICH == all ]]; then
  for variant in ave max att; do
    demo yelp "$variant" "" "${YELP[@]}"
  done
fi

if [[ $WHICH == imdb || $WHICH == all ]]; then
  demo imdb att 3000 "$IMDB"
fi
