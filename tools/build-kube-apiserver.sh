#!/usr/bin/env bash
# Build a pinned kube-apiserver from the Go module proxy into the file $1; $2 is its
# version (v1.35.4). k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the
# k8s.io staging modules with local folders. A wrapper module that requires it and
# replaces each staging module with its published version builds it
# (see ../shared/kube-apiserver.md). Go's caches make a rebuild take seconds.
set -euo pipefail
out=$1 version=${2#v}
case "$version" in 1.[0-9]*.[0-9]*) ;; *) echo "usage: $0 OUT vMAJOR.MINOR.PATCH" >&2; exit 2;; esac
staging="0.${version#1.}"              # k8s.io/api etc. are published as v0.MINOR.PATCH
minor=$(echo "$version" | cut -d. -f2)
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")   # absolute: the build runs elsewhere
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
echo "kube-apiserver v$version: resolving modules (the first build downloads ~200 MB and takes ~7 min on 2 cores)"
gomod=$(go mod download -json "k8s.io/kubernetes@v$version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
{
  printf 'module example.local/kapi\n\ngo 1.25.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$version"
  sed -n '/^replace (/,/^)/p' "$gomod" | grep '=>' | awk -v s="$staging" '{print "\t"$1" => "$1" v"s}'
  echo ')'
} > go.mod
GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@v$version"
echo "kube-apiserver v$version: building"
go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$version \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
  -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out.tmp" "$out"
