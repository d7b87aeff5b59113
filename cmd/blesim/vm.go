package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"blesim/scenarios/harness"
)

const vmAbout = `
Runs a shell command inside a small QEMU VM with Debian's Linux kernel, its
Bluetooth modules and BlueZ (bluetoothd, bluetoothctl, btmgmt, btmon, gatttool,
bluetooth-meshd), for machines that have no /dev/vhci. This blesim binary is
inside the VM as /usr/bin/blesim; files given with --file are copied in.
dbus-daemon, bluetoothd and btmon (writing /tmp/out/btmon.snoop) are running
when the command starts; everything the command writes to /tmp/out comes back
into --out DIR. The exit status is the command's.

The first run builds the VM image from installed Debian packages (as root it
apt-get installs qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
bluez bluez-meshd dbus when missing) and caches it in /var/tmp/blesim-vm.
It boots in about 5-10 s (TCG, no KVM needed).

Examples:
  blesim vm --file world.yaml:world.yaml -- \
    'blesim serve world.yaml --vhci 2 > /tmp/out/serve.log 2>&1 & sleep 3; btmgmt info; bluetoothctl --timeout 10 scan on'
  blesim vm --out run1 -- 'btmgmt info'       # then: btmon -r run1/btmon.snoop`

func runVM(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("vm", "[flags] -- COMMAND...", vmAbout, stdout)
	timeout := fs.Int("timeout", 600, "time limit for the command inside the VM, seconds")
	out := fs.String("out", "", "directory for the VM's /tmp/out (btmon.snoop, logs) and console.log (default: a new /tmp/blesim-vm-out.*)")
	var files multiFlag
	fs.Var(&files, "file", "SRC:DEST: copy SRC into the VM (relative DEST: under the working directory /payload); repeatable")
	script := fs.String("script", "", "run this /bin/sh script file instead of a command line")
	debug := fs.Bool("debug", false, "run bluetoothd with -d")
	noBluetoothd := fs.Bool("no-bluetoothd", false, "do not start bluetoothd (e.g. to give the controllers to bluetooth-meshd)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if (len(pos) == 0) == (*script == "") {
		return usagef("give a command after -- or --script FILE (see: blesim help vm)")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "blesim-cache")
	}
	runner, err := harness.Extract(filepath.Join(cache, "blesim"))
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find this blesim binary to copy into the VM: %w", err)
	}
	argv := []string{"--timeout", fmt.Sprint(*timeout), "--file", self + ":/usr/bin/blesim"}
	if *out != "" {
		argv = append(argv, "--out", *out)
	}
	for _, f := range files {
		if !strings.Contains(f, ":") {
			return usagef("--file %q: want SRC:DEST", f)
		}
		argv = append(argv, "--file", f)
	}
	if *debug {
		argv = append(argv, "--debug")
	}
	if *noBluetoothd {
		argv = append(argv, "--no-bluetoothd")
	}
	if *script != "" {
		argv = append(argv, "--script", *script)
	} else {
		argv = append(argv, "--", strings.Join(pos, " "))
	}
	cmd := exec.Command(runner, argv...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return exitError(ee.ExitCode())
		}
		return err
	}
	return nil
}
