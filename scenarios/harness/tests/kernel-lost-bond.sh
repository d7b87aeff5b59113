#!/bin/sh
# The lost-bond library scenario with the real kernel and BlueZ as Phone.
. tests/kernel-scenario.inc
run lost-bond "Phone"
finish
