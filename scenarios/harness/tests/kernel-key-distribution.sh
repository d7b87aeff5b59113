#!/bin/sh
# The key-distribution library scenario with the real kernel and BlueZ as Raspberry Pi.
. tests/kernel-scenario.inc
run key-distribution "Raspberry Pi"
finish
