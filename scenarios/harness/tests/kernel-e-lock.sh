#!/bin/sh
# The e-lock library scenario with the real kernel and BlueZ as Phone2.
. tests/kernel-scenario.inc
run e-lock "Phone2"
finish
