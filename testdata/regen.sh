#!/usr/bin/env bash
# Regenerates every generated fixture in testdata/: the test PKIs, TSA and tokens
# (tsa/regen.sh), then the sample evidence bundle, which is stamped by that TSA.
# Run from anywhere: `bash testdata/regen.sh`. Needs openssl and cargo.
set -euo pipefail
cd "$(dirname "$0")"
bash tsa/regen.sh
cargo run --quiet -p custody-verifier --example sample_bundle
