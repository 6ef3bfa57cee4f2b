#!/bin/sh
# Recall and damage of the default redaction policy on a generated export:
# prints the figures per family and fails below 99.5 % recall or 99 %
# look-alike survival. REDARC_RECALL_SEED and REDARC_RECALL_BYTES pick
# another or a larger export, e.g.
#   REDARC_RECALL_SEED=7 REDARC_RECALL_BYTES=50000000 scripts/recall.sh
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release -p redarc --test it -- recall:: --nocapture --test-threads 1 "$@"
