#!/usr/bin/env bash
# vmtest.sh BLESIM [OUTDIR]: the real-stack tests. Boots the harness VM
# (Debian's kernel + BlueZ, see README.md here) once per test script in
# tests/, with the static blesim binary and the README's world file, and
# fails if any check failed. Outputs (btmon trace, blesim traces and logs,
# console) go to OUTDIR/<test>/ (default: out/vmtest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${1:?usage: vmtest.sh BLESIM [OUTDIR]}
out=${2:-$top/out/vmtest}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
if ! file "$bin" 2>/dev/null | grep -q 'statically linked' && ldd "$bin" >/dev/null 2>&1; then
	echo "vmtest.sh: $bin is dynamically linked; build it with CGO_ENABLED=0" >&2
	exit 2
fi
mkdir -p "$out"
failed=()
for t in "$here"/tests/*.sh; do
	case $t in *.host.sh) continue ;; esac
	name=$(basename "$t" .sh)
	echo "=== vmtest $name"
	rc=0
	"$here/vm-run.sh" --timeout 300 --out "$out/$name" --append "oops=panic" \
		--file "$bin:/usr/bin/blesim" \
		--file "$top/examples/world.yaml:world.yaml" \
		--script "$t" 2>&1 | tee "$out/$name.log" | grep -E '^(PASS|FAIL|==|vm-run.sh|mkinitramfs.sh)' || true
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ]; then
		failed+=("$name (exit $rc; full log: $out/$name.log)")
	fi
	host=${t%.sh}.host.sh
	if [ -x "$host" ]; then
		if ! "$host" "$out/$name" 2>&1 | tee -a "$out/$name.log"; then
			failed+=("$name host-side checks")
		fi
	fi
done
pass=$(cat "$out"/*.log | grep -c '^PASS: ' || true)
fail=$(cat "$out"/*.log | grep -c '^FAIL: ' || true)
echo "vmtest: $pass passed, $fail failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'vmtest: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
