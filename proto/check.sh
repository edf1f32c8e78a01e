#!/usr/bin/env bash
# Fails when the committed proto/*.pb.go differ from what proto/gen.sh
# generates from proto/tailrace.proto.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
proto/gen.sh "$tmp"
stale=0
for f in tailrace.pb.go tailrace_grpc.pb.go; do
	if ! diff -u "proto/$f" "$tmp/$f"; then
		stale=1
	fi
done
if [ "$stale" != 0 ]; then
	echo "proto: generated code is stale: run proto/gen.sh and commit the result" >&2
	exit 1
fi
echo "proto: generated code is current"
