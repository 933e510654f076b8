#!/bin/sh
# Runs a program and compares its standard output with a file, byte for byte.
# Usage: check_output.sh PROGRAM EXPECTED_FILE
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
"$1" >"$out" || { echo "$1 exited with status $?"; exit 1; }
cmp -s "$out" "$2" && exit 0
echo "output of $1 differs from $2:"
diff "$2" "$out"
exit 1
