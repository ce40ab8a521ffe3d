#!/usr/bin/env bash
# Regenerates the demo checkpoints and word-attention statistics shipped in assets/.
# Trained with the project's own CLI on ../shared/data (see its README.md). About an hour
# on 2 CPU cores. Usage: bash scripts/train_demo.sh [yelp|imdb|all]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${HAN_DATA:-../shared/data}
WHICH=${1:-all}
YELP=("$DATA/yelp/yelp_10k.csv.gz" "$DATA/yelp/yelp_open_5k.csv.gz")
IMDB="$DATA/imdb/aclImdb_v1.tar.gz"
resume() { [[ -d $1/.resume ]] && echo --resume || true; }  # continue an interrupted run

if [[ $WHICH == yelp || $WHICH == all ]]; then
  for variant in att ave max; do
    python -m han train --data "${YELP[@]}" --variant "$variant" --out "assets/yelp/$variant" $(resume "assets/yelp/$variant") \
      --epochs 8 --lr 0.1 0.05 --patience 3 --seed 0 --max-vocab 20000 --half --quiet
    python -m han stats --checkpoint "assets/yelp/$variant" --data "${YELP[@]}" \
      --split test --out "assets/yelp/$variant/word_stats.npz"
  done
fi

if [[ $WHICH == imdb || $WHICH == all ]]; then
  python -m han train --data "$IMDB" --variant att --out assets/imdb/att $(resume assets/imdb/att) \
    --epochs 5 --lr 0.05 --patience 2 --seed 0 --max-vocab 15000 --half --quiet
  python -m han stats --checkpoint assets/imdb/att --data "$IMDB" --split test \
    --sample 3000 --out assets/imdb/att/word_stats.npz
fi
