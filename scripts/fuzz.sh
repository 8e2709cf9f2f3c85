#!/usr/bin/env bash
# fuzz.sh TIME TARGET... runs each native fuzz target (package:FuzzName) for
# TIME with `go test -fuzz` (extra flags in $FUZZFLAGS, the go command in
# $GO) and fails if any target fails.
#
# Go 1.26's fuzzing coordinator can report "context deadline exceeded" and
# fail a target at the -fuzztime boundary with nothing found, when a worker
# is slow to stop (golang/go#75804, fixed in Go 1.27). A real failure always
# writes its input to testdata/fuzz ("Failing input written to"), so a
# failure with the deadline message and no written input is run once more;
# a second one fails.
set -u
time=$1
shift
go=${GO:-go}
failed=
for t in "$@"; do
	pkg=./${t%%:*} name=${t#*:}
	for try in 1 2; do
		echo "== $name ($pkg, $time)"
		out=$("$go" test -run '^$' -fuzz "^$name\$" -fuzztime "$time" ${FUZZFLAGS:-} "$pkg" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		[ $rc -eq 0 ] && break
		if [ $try -eq 1 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
			echo "== $name: the fuzzing engine's deadline race (golang/go#75804), nothing found: once more"
			continue
		fi
		failed="$failed $name"
		break
	done
done
if [ -n "$failed" ]; then
	echo "fuzz targets failed:$failed"
	exit 1
fi
