#!/usr/bin/env bash
# gpu-check.sh checks spadepaint's GPU build on a machine with an NVIDIA GPU
# (issue 7): the CUDA kernels, GPU vs CPU renders, `spadepaint bench`'s
# table on the GPU and on this machine's CPU engine (default model, ade20k
# 256²), a few training steps on both, nvidia-smi, and the cu package's C
# side against this machine's CUDA headers.
#
#   scripts/gpu-check.sh build   build the test binaries into build/gpucheck/
#                                (here, with Go: the GPU machines have none)
#   scripts/gpu-check.sh [run]   run the check; with Go the binaries are built
#                                first, else build/gpucheck/'s are used
#
# The binaries are built without the openblas tag (the GPU machine may have
# no libopenblas) and without the UI toolkit, stripped, checked to need only
# libc/libm/libdl/libpthread (libcuda is opened at run time), and gzipped to
# travel light. Tests run from their package folder (they read assets by
# relative paths), verbose, with SPADEPAINT_GPU_TESTS=1: there a missing GPU
# fails instead of skipping. Everything is printed and, when $OUT is set,
# written to $OUT/gpu-check.log. The exit status is non-zero if any step
# failed.
#
# Environment: GPU_TAG (build tag of the GPU code, default gpu),
# GPU_CHECK_PREBUILT=1 (use build/gpucheck/ even where Go is installed),
# GPU_CHECK_RUN (a -test.run pattern), GPU_CHECK_TIMEOUT (per binary,
# default 9m).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tag=${GPU_TAG:-gpu}
bindir=$root/build/gpucheck
# Packages whose tests make up the check, in the order they run.
pkgs=(model/gpu model/device)

binname() { echo "${1//\//_}.test"; }

# build DIR: test binaries for every package into DIR.
build() {
	local dir=$1 p bin bad=0
	mkdir -p "$dir"
	for p in "${pkgs[@]}"; do
		bin=$dir/$(binname "$p")
		echo "build $p → $bin"
		(cd "$root" && CGO_ENABLED=1 go test -c -tags "$tag" -trimpath -ldflags='-s -w' -o "$bin" "./$p") || return 1
		[ -f "$bin" ] || { echo "  $p has no tests with -tags $tag" >&2; return 1; }
		# Only the C library's parts: libcuda is dlopened, not linked.
		local libs
		libs=$(ldd "$bin" 2>&1 | awk '{print $1}' | grep -v -E '^(not$|linux-vdso\.so|/lib.*/ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|statically)' || true)
		if [ -n "$libs" ]; then
			echo "  $bin needs libraries the GPU machine may lack: $libs" >&2
			bad=1
		fi
		if (cd "$root" && go list -tags "$tag" -test -deps "./$p" | grep -q '^fyne.io/'); then
			echo "  $p's test binary pulls in Fyne: keep the UI out of it" >&2
			bad=1
		fi
	done
	return $bad
}

case "${1:-run}" in
build)
	command -v go >/dev/null || { echo "gpu-check.sh build: needs Go" >&2; exit 2; }
	rm -rf "$bindir"
	build "$bindir" || exit 1
	for p in "${pkgs[@]}"; do gzip -9 -f "$bindir/$(binname "$p")"; done
	{
		echo "built $(date -u +%FT%TZ) by $(go version) with -tags $tag"
		echo "commit $(git -C "$root" rev-parse HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
	} >"$bindir/BUILD_INFO"
	ls -l "$bindir"
	du -sh "$bindir"
	exit 0
	;;
run) ;;
*)
	echo "usage: scripts/gpu-check.sh [build|run]" >&2
	exit 2
	;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
step() { # step NAME CMD...: run a step, remember a failure
	local name=$1
	shift
	echo
	echo "==== $name"
	"$@"
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "==== $name: FAILED (exit $rc)"
		failed+=("$name")
	fi
	return 0
}

# check runs every step and says whether all passed.
check() {
	echo "spadepaint GPU check, $(date -u +%FT%TZ), $(uname -n), $(nproc) CPUs"
	if command -v go >/dev/null && [ "${GPU_CHECK_PREBUILT:-}" != 1 ]; then
		step "build test binaries (-tags $tag)" build "$work"
	else
		echo "no Go here: the prebuilt binaries of build/gpucheck/"
		cat "$bindir/BUILD_INFO" 2>/dev/null || echo "(no BUILD_INFO: run scripts/gpu-check.sh build where Go is)"
		for p in "${pkgs[@]}"; do
			gz=$bindir/$(binname "$p").gz
			if [ -f "$gz" ]; then
				gzip -dc "$gz" >"$work/$(binname "$p")" && chmod +x "$work/$(binname "$p")"
			else
				echo "missing $gz"
				failed+=("binary for $p")
			fi
		done
	fi

	if command -v nvidia-smi >/dev/null; then
		step "nvidia-smi" nvidia-smi
	else
		echo "no nvidia-smi"
		failed+=("nvidia-smi")
	fi

	cuinc=/usr/local/cuda/include
	if [ -f "$cuinc/cuda.h" ]; then
		if command -v "${CC:-gcc}" >/dev/null; then
			step "cu's C side against $cuinc" "$root/third_party/cu/check_headers.sh" "$cuinc"
		else
			echo "no C compiler: cu's header check skipped"
		fi
	else
		echo "no $cuinc/cuda.h: cu's header check skipped"
	fi

	# runtests PKG: one package's tests, from its folder; a test skipped for
	# want of a GPU counts as a failure here.
	runtests() {
		local p=$1 bin=$work/$(binname "$1") out=$work/$(binname "$1").out rc
		[ -x "$bin" ] || { echo "no test binary for $p"; return 1; }
		args=(-test.v -test.count=1 -test.timeout="${GPU_CHECK_TIMEOUT:-9m}")
		[ -n "${GPU_CHECK_RUN:-}" ] && args+=(-test.run="$GPU_CHECK_RUN")
		(cd "$root/$p" && SPADEPAINT_GPU_TESTS=1 "$bin" "${args[@]}") 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		if grep -B1 -e '--- SKIP' "$out" | grep -qi 'gpu'; then
			echo "$p: tests skipped for want of a GPU:"
			grep -B1 -e '--- SKIP' "$out" | grep -v -e '^--$'
			rc=1
		fi
		return $rc
	}
	for p in "${pkgs[@]}"; do
		step "tests of $p" runtests "$p"
	done

	echo
	if [ ${#failed[@]} -gt 0 ]; then
		echo "GPU CHECK FAILED: ${failed[*]}"
		return 1
	fi
	echo "GPU CHECK PASSED"
}

log=/dev/null
if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT"
	log=$OUT/gpu-check.log
fi
check 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
