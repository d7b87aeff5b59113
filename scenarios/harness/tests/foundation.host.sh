#!/usr/bin/env bash
# Host-side checks after the foundation VM run ($1: the run's output dir).
set -u
out=$1
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
check "the VM's kernel log came back" test -s "$out/dmesg.txt"
check "kernel log: no oops or BUG" sh -c "! grep -qE 'BUG|Oops|general protection|list_del corruption' '$out/dmesg.txt'"
check "kernel log: no HCI command timed out" sh -c "! grep -qi 'command .* tx timeout' '$out/dmesg.txt'"
check "kernel log: no Bluetooth errors about the controllers" sh -c "! grep -E 'Bluetooth: hci[0-9]+: .*(error|fail|unexpected)' '$out/dmesg.txt'"
check "the kernel's btmon trace came back" test -s "$out/btmon.snoop"
check "blesim's traces came back (hci0, hci1, Oximeter, HeartRate, Thermometer)" sh -c "cd '$out/traces' && ls hci0.btsnoop hci1.btsnoop Oximeter.btsnoop HeartRate.btsnoop Thermometer.btsnoop >/dev/null"
[ $fails -eq 0 ]
