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
for tool in btexpect meshsend; do
	if [ ! -x "$(dirname "$bin")/$tool" ]; then
		echo "vmtest.sh: $(dirname "$bin")/$tool missing: CGO_ENABLED=0 go build -o $(dirname "$bin")/$tool ./scenarios/harness/$tool (make vmtest does)" >&2
		exit 2
	fi
done
if ! file "$bin" 2>/dev/null | grep -q 'statically linked' && ldd "$bin" >/dev/null 2>&1; then
	echo "vmtest.sh: $bin is dynamically linked; build it with CGO_ENABLED=0" >&2
	exit 2
fi
mkdir -p "$out"
failed=()
logs=()
for t in "$here"/tests/*.sh; do
	case $t in *.host.sh) continue ;; esac
	name=$(basename "$t" .sh)
	# VMTEST_ONLY="pairing mesh" runs just those tests.
	if [ -n "${VMTEST_ONLY:-}" ] && ! printf ' %s ' "$VMTEST_ONLY" | grep -q " $name "; then
		continue
	fi
	echo "=== vmtest $name"
	logs+=("$out/$name.log")
	attempts=${VMTEST_ATTEMPTS:-20}
	for attempt in $(seq 1 "$attempts"); do
		# pipefail is on: keep the pipeline out of `|| true` so
		# PIPESTATUS really is vm-run.sh's exit status.
		set +e
		"$here/vm-run.sh" --timeout 300 --out "$out/$name" --append "oops=panic" \
			--file "$bin:/usr/bin/blesim" \
			--file "$(dirname "$bin")/btexpect:/usr/bin/btexpect" \
			--file "$(dirname "$bin")/meshsend:/usr/bin/meshsend" \
			--file "$top/examples/world.yaml:world.yaml" \
			--file "$here/tests:tests" \
			--script "$t" 2>&1 | tee "$out/$name.log" | grep --line-buffered -E '^(PASS|FAIL|==|vm-run.sh|mkinitramfs.sh)'
		rc=${PIPESTATUS[0]}
		set -e
		# Debian's 6.1 kernel has a race in L2CAP/HCI channel teardown
		# (list_del corruption in hci_chan_del from l2cap_sock_release,
		# fixed upstream by "Bluetooth: L2CAP: Fix corrupted list in
		# hci_chan_del") that the VM hits when a link drops while a
		# process closes its socket. It is the kernel's bug, not blesim's:
		# say so and try again, at most VMTEST_ATTEMPTS times in all.
		# It hits where the kernel disconnects with 0x05 after an
		# authentication failure while bluetoothd closes its ATT socket:
		# the pairing test's lost-bond step and the kernel-lost-bond and
		# kernel-reboot scenarios, in half or more of the attempts on an
		# idle machine (7 attempts in a row once; a 100 ms connection
		# interval did not help). Up to VMTEST_ATTEMPTS (20) attempts: at
		# 0.75 per attempt that leaves 0.3 % of runs failing; the kernel-*
		# tests are one short scenario per VM so that a retry is cheap.
		if [ "$rc" -ne 0 ] && [ "$attempt" -lt "$attempts" ] && grep -qE 'Kernel panic|kernel BUG|list_del corruption|Oops:' "$out/$name.log"; then
			echo "vmtest: $name: the VM's kernel oopsed (see $out/$name.oops$attempt.txt); trying again" >&2
			cp "$out/$name.log" "$out/$name.oops$attempt.txt"
			continue
		fi
		break
	done
	if [ "$rc" -ne 0 ]; then
		failed+=("$name (exit $rc; full log: $out/$name.log)")
	elif grep -q '^FAIL: ' "$out/$name.log"; then
		failed+=("$name (FAIL lines but exit 0; full log: $out/$name.log)")
	elif ! grep -q '^PASS: ' "$out/$name.log"; then
		failed+=("$name (no PASS line: the test did not run; full log: $out/$name.log)")
	fi
	host=${t%.sh}.host.sh
	if [ -x "$host" ]; then
		if ! "$host" "$out/$name" 2>&1 | tee -a "$out/$name.log"; then
			failed+=("$name host-side checks")
		fi
	fi
done
# The logs of the tests run now (not older ones in OUTDIR, nor the
# .oopsN.txt copies of retried runs).
pass=$(cat "${logs[@]}" /dev/null | grep -c '^PASS: ' || true)
fail=$(cat "${logs[@]}" /dev/null | grep -c '^FAIL: ' || true)
echo "vmtest: $pass passed, $fail failed"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'vmtest: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
