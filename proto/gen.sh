#!/usr/bin/env bash
# Regenerates the Go code of proto/tailrace.proto with pinned generators.
# Needs protoc (Debian: apt-get install protobuf-compiler) and Go.
#
#   proto/gen.sh          write proto/*.pb.go
#   proto/gen.sh OUTDIR   write into OUTDIR instead (proto/check.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: change these together with google.golang.org/grpc and
# google.golang.org/protobuf in go.mod.
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
PROTOC_WANT="libprotoc 3.21.12"

out=${1:-proto}
command -v protoc >/dev/null || { echo "gen.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
if [ "$(protoc --version)" != "$PROTOC_WANT" ]; then
	# protoc's version is written into the generated headers: another one
	# would make CI's staleness check fail on a comment.
	echo "gen.sh: $(protoc --version), want $PROTOC_WANT (Debian bookworm's protobuf-compiler)" >&2
	exit 1
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "$PROTOC_GEN_GO"
GOBIN="$bin" go install "$PROTOC_GEN_GO_GRPC"
mkdir -p "$out"
PATH="$bin:$PATH" protoc -I proto \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
	proto/tailrace.proto
