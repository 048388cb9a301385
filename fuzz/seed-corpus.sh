#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (git-ignored) with the valid inputs the repository already has,
# so each target starts from bytes that reach its deepest checks. Idempotent; run from anywhere.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
testdata="$root/testdata"
corpus="$root/fuzz/corpus"

seed() { # seed <target> <file>...
    local target="$1"
    shift
    mkdir -p "$corpus/$target"
    for file in "$@"; do
        cp "$file" "$corpus/$target/seed-$(basename "$file")"
    done
}

# fenced <first line>: the ```text block of the worked example that starts with that line.
fenced() {
    awk -v first="$1" '
        /^```/ { if (inside) exit; block = ($0 == "```text"); started = 0; next }
        block && !started { started = 1; inside = ($0 == first) }
        inside { print }
    ' "$root/schemas/log-and-checkpoints.md"
}

# bundle: the sample bundle, a real one that verifies with the fuzz target's trust inputs.
seed bundle "$testdata/sample-bundle.tar"

# timestamp_token: RFC 3161 tokens and responses over testdata/tsa/data.txt.
seed timestamp_token "$testdata"/tsa/*.tst "$testdata"/tsa/*.tsr

# tsa_response: the TimeStampResps over testdata/tsa/data.txt; ec.tsr answers the target's
# fixed request, so it is accepted.
seed tsa_response "$testdata"/tsa/*.tsr

# command: no signed command is committed, so the target signs its own (see its doc comment).
# Mode 0 with no edits is its valid command; mode 1 is a command object the target signs.
mkdir -p "$corpus/command"
printf '\000' >"$corpus/command/seed-valid"
printf '\001%s' '{"action":"lock","case_id":"case-9","command_id":"cmd-2","device_id":"dev-1",'\
'"expires_at":"2026-03-02T10:00:00Z","issued_at":"2026-03-01T10:00:00Z",'\
'"nonce":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","org":"acme","subject":"emp-7"}' \
    >"$corpus/command/seed-signed-here.json"

# checkpoint and tlog_proof: the sample bundle's (well-formed, another log's key) and the
# worked example of schemas/log-and-checkpoints.md (signed by the key the targets trust).
seed checkpoint "$testdata"/sample-bundle/checkpoints/*.note
fenced "log.example.com/custody/acme" >"$corpus/checkpoint/seed-worked-example.note"
seed tlog_proof "$testdata"/sample-bundle/proofs/*.tlog-proof
fenced "c2sp.org/tlog-proof@v1" >"$corpus/tlog_proof/seed-worked-example.tlog-proof"

# node: each canonical node of the sample bundle's nodes.log (`<index> <json>` per line),
# without its index or newline.
mkdir -p "$corpus/node"
while read -r index json; do
    printf '%s' "$json" >"$corpus/node/seed-sample-$index.json"
done <"$testdata/sample-bundle/nodes.log"

for target in "$corpus"/*/; do
    echo "$(basename "$target"): $(find "$target" -type f | wc -l) files"
done
