#!/usr/bin/env bash
# The project's test command (the README's): unit and integration tests with
# the race detector, end-to-end tests of the built binary, then the public
# conformance cases against the freshly built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="$(pwd)/../shared"

echo "== go vet"
go vet ./...
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

echo "== go test -race ./..."
go test -race -timeout 20m ./...

echo "== fuzz (bounded): input parsers and HTTP bodies"
for target in runtime/input:FuzzJSONLine runtime/input:FuzzTSVRow runtime/input:FuzzTSVHeader internal/httpapi:FuzzEventBody; do
  # A count, not a duration: a -fuzztime duration can end a run with a
  # spurious "context deadline exceeded" while workers are mid-input.
  go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "${FUZZTIME:-50000x}" "./${target%%:*}/"
done

echo "== conformance"
bin=$(mktemp -d)/scriptd
go build -o "$bin" ./cmd/scriptd
if [ -d "$shared/conformance" ]; then
  "$shared/conformance/run.sh" "$bin" \
    "$shared/conformance/cases/01-awaiting-context.sh" \
    "$shared/conformance/cases/02-sqlite-semantics.sh" \
    "$shared/conformance/cases/03-events.sh" \
    "$shared/conformance/cases/04-input.sh" \
    "$shared/conformance/cases/05-storage-v2.sh" \
    "$shared/conformance/cases/06-replay-timers-order.sh" \
    "$shared/conformance/cases/07-modules-globals.sh"
else
  echo "conformance: $shared/conformance not found; skipped"
fi
