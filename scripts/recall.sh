#!/bin/sh
# Recall and damage of the default redaction policy on a generated export:
# prints the figures per family and fails below 99.5 % recall or 99 %
# look-alike survival.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release -p redarc --test it -- recall:: --nocapture --test-threads 1 "$@"
