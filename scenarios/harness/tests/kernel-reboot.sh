#!/bin/sh
# The reboot library scenario with the real kernel and BlueZ as Phone2.
. tests/kernel-scenario.inc
run reboot "Phone2"
finish
