package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"blesim/scenarios/engine"
)

const ctlAbout = `
Steers a running 'blesim serve --control PATH': the command runs inside the
simulation, on the named device, and its result is printed.

Commands:
  %s

The socket comes from --control, else $BLESIM_CONTROL.

Examples:
  blesim serve world.yaml --vhci 1 --control /tmp/blesim.sock &
  blesim ctl --control /tmp/blesim.sock Oximeter forget-keys
  BLESIM_CONTROL=/tmp/blesim.sock blesim ctl Oximeter move 40 0`

func runCtl(args []string, stdout, stderr io.Writer) error {
	about := fmt.Sprintf(ctlAbout, strings.Join(engine.ControlCommands(), "\n  "))
	fs := newFlagSet("ctl", "[--control PATH] DEVICE COMMAND [ARGS...]", about, stdout)
	path := fs.String("control", os.Getenv("BLESIM_CONTROL"), "the control socket of 'blesim serve --control PATH'")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("want DEVICE COMMAND [ARGS...] (see: blesim help ctl)")
	}
	if *path == "" {
		return usagef("no control socket: give --control PATH (the one 'blesim serve --control PATH' opened) or set BLESIM_CONTROL")
	}
	c, err := net.DialTimeout("unix", *path, 5*time.Second)
	if err != nil {
		return fmt.Errorf("cannot reach blesim serve at %s: %w (is it running with --control %s?)", *path, err, *path)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := engine.ControlRequest{Device: pos[0], Command: pos[1], Args: pos[2:]}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("no answer from blesim serve: %w", err)
	}
	var resp engine.ControlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("bad answer from blesim serve: %w", err)
	}
	if !resp.OK {
		return fmt.Errorf("%s", resp.Message)
	}
	fmt.Fprintln(stdout, resp.Message)
	return nil
}
