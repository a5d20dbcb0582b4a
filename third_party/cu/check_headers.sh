#!/usr/bin/env bash
# check_headers.sh compiles the C side of this package against the CUDA
# headers in INCLUDE_DIR, without Go, e.g. on a machine with a newer CUDA
# toolkit than the one the package was developed with:
#
#   third_party/cu/check_headers.sh /usr/local/cuda/include
#
# It compiles every C file of the package (the driver loader and its
# forwarders, the CUDA-version compat helpers, the batch helpers) and
# check_protos_gen.c, which holds, for each driver function the Go code calls
# directly, the prototype its cgo call sites were type-checked against, plus
# every CU*/CUDA_* type and constant the Go code names (see gen_stubs.sh).
# A driver call whose prototype changed, or a type or constant that is gone,
# is a compile error. The cgo preambles only include cuda.h and the package's
# headers, which these files include as well.
set -euo pipefail
inc=${1:?usage: check_headers.sh INCLUDE_DIR}
[ -f "$inc/cuda.h" ] || { echo "check_headers.sh: no cuda.h in $inc" >&2; exit 2; }
dir=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
ver=$(printf '#include <cuda.h>\nCUDA_VERSION\n' | "$cc" -E -P -I"$inc" - | tail -1)
echo "check_headers.sh: CUDA_VERSION $ver from $inc"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Same language mode as the cgo build (batch.go sets -std=c99 for the package).
flags=(-std=c99 -O1 -Wall -Wno-deprecated-declarations -Wno-unused-variable -Wno-maybe-uninitialized
	-Werror=incompatible-pointer-types -Werror=implicit-function-declaration
	-Werror=int-conversion -Werror=int-to-pointer-cast -Werror=pointer-to-int-cast
	-I"$inc" -I"$dir")
fail=0
for f in "$dir"/*.c; do
	if "$cc" "${flags[@]}" -c "$f" -o "$tmp/$(basename "$f").o"; then
		echo "ok   $(basename "$f")"
	else
		echo "FAIL $(basename "$f")"; fail=1
	fi
done
# The forwarders must define exactly the symbols the call sites reference.
if [ $fail = 0 ]; then
	undef=$(nm -u "$tmp"/*.o | awk '{print $2}' | grep '^cu[A-Z]' | sort -u || true)
	defined=$(nm --defined-only "$tmp"/*.o | awk '$2 == "T" {print $3}' | grep '^cu[A-Z]' | sort -u || true)
	missing=$(comm -23 <(printf '%s\n' $undef) <(printf '%s\n' $defined))
	if [ -n "$missing" ]; then
		echo "FAIL driver functions called but not forwarded (re-run gen_stubs.sh): $missing"; fail=1
	else
		echo "ok   $(printf '%s\n' $defined | grep -c .) forwarded driver symbols cover all C call sites"
	fi
fi
[ $fail = 0 ] && echo "check_headers.sh: PASS ($inc)" || { echo "check_headers.sh: FAILED ($inc)"; exit 1; }
