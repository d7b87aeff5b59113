package engine

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"blesim/hosts/mesh/prov"
	"blesim/hosts/meshnode"
	"blesim/hosts/smp"
	"blesim/linklayer/radio"
	"blesim/vhci/hci"
)

// The control socket lets a running `blesim serve` be steered from outside
// (`blesim ctl`): one JSON request per line, one JSON response per line.

// ControlRequest is one command for a device.
type ControlRequest struct {
	Device  string   `json:"device"`
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
}

// ControlResponse answers a ControlRequest.
type ControlResponse struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// KeyForgetter is implemented by built-in hosts that keep bonds.
type KeyForgetter interface {
	// ForgetKeys drops every bond and returns how many there were.
	ForgetKeys() (int, error)
	// ForgetBond drops the bond with one peer.
	ForgetBond(a smp.Address) error
}

// UserInput is implemented by built-in hosts whose user can type a
// passkey or answer a numeric comparison.
type UserInput interface {
	EnterPasskey(passkey uint32) error
	ConfirmNumber(yes bool) error
}

// controlCommand runs on the simulation goroutine.
type controlCommand struct {
	usage string
	run   func(w *World, d *Device, args []string) (string, error)
}

// ControlCommands documents the commands for `blesim ctl --help`.
func ControlCommands() []string {
	var out []string
	for name, c := range controlCommands() {
		out = append(out, name+" "+c.usage)
	}
	sort.Strings(out)
	return out
}

func controlCommands() map[string]controlCommand {
	return map[string]controlCommand{
		"forget-keys": {"[PEER_ADDRESS]  drop the device's bond with PEER, or all its bonds (the lost-bond fault)",
			func(w *World, d *Device, args []string) (string, error) {
				kf, ok := d.Host.(KeyForgetter)
				if !ok {
					return "", fmt.Errorf("%s (%s) keeps no bonds", d.Spec.Name, d.Spec.Profile)
				}
				if len(args) > 1 {
					return "", errors.New("want at most one peer address")
				}
				if len(args) == 1 {
					a, err := hci.ParseBDAddr(args[0])
					if err != nil {
						return "", err
					}
					errR := kf.ForgetBond(smp.Address{Type: hci.AddrRandom, Addr: a})
					errP := kf.ForgetBond(smp.Address{Type: hci.AddrPublic, Addr: a})
					if errR != nil && errP != nil {
						return "", fmt.Errorf("%s has no bond with %s: %v", d.Spec.Name, a, errR)
					}
					return fmt.Sprintf("%s forgot its bond with %s", d.Spec.Name, a), nil
				}
				n, err := kf.ForgetKeys()
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%s forgot %d bond(s)", d.Spec.Name, n), nil
			}},
		"passkey": {"N  type the 6-digit passkey the other device shows, on this device's keyboard",
			func(w *World, d *Device, args []string) (string, error) {
				ui, ok := d.Host.(UserInput)
				if !ok {
					return "", fmt.Errorf("%s (%s) has no user input", d.Spec.Name, d.Spec.Profile)
				}
				if len(args) != 1 {
					return "", errors.New("want the passkey, 0 to 999999")
				}
				n, err := strconv.ParseUint(args[0], 10, 32)
				if err != nil || n > 999999 {
					return "", fmt.Errorf("want a passkey 0 to 999999, got %q", args[0])
				}
				if err := ui.EnterPasskey(uint32(n)); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: passkey %06d entered", d.Spec.Name, n), nil
			}},
		"confirm": {"yes|no  answer a numeric comparison waiting on the device",
			func(w *World, d *Device, args []string) (string, error) {
				ui, ok := d.Host.(UserInput)
				if !ok {
					return "", fmt.Errorf("%s (%s) has no user input", d.Spec.Name, d.Spec.Profile)
				}
				if len(args) != 1 || (args[0] != "yes" && args[0] != "no") {
					return "", errors.New("want yes or no")
				}
				if err := ui.ConfirmNumber(args[0] == "yes"); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: answered %s", d.Spec.Name, args[0]), nil
			}},
		"oob": {"UUID VALUE  a mesh provisioner's user enters the value a device output (output OOB)",
			func(w *World, d *Device, args []string) (string, error) {
				p, ok := d.Host.(*meshnode.Provisioner)
				if !ok {
					return "", fmt.Errorf("%s is not a mesh provisioner", d.Spec.Name)
				}
				if len(args) != 2 {
					return "", errors.New("want the device UUID (32 hex digits) and the value it output")
				}
				b, err := hex.DecodeString(strings.ReplaceAll(args[0], "-", ""))
				if err != nil || len(b) != 16 {
					return "", fmt.Errorf("want a 16-byte UUID as 32 hex digits, got %q", args[0])
				}
				var u [16]byte
				copy(u[:], b)
				v := prov.Text(args[1])
				if n, err := strconv.ParseUint(args[1], 10, 32); err == nil {
					v = prov.Num(uint32(n))
				}
				if err := p.Enter(u, v); err != nil {
					return "", err
				}
				return fmt.Sprintf("%s: entered %s for %x", d.Spec.Name, args[1], u), nil
			}},
		"move": {"X Y  move the device to (X, Y) metres",
			func(w *World, d *Device, args []string) (string, error) {
				if len(args) != 2 {
					return "", errors.New("want X Y in metres")
				}
				x, err1 := strconv.ParseFloat(args[0], 64)
				y, err2 := strconv.ParseFloat(args[1], 64)
				if err1 != nil || err2 != nil {
					return "", fmt.Errorf("want X Y in metres, got %q %q", args[0], args[1])
				}
				d.Ctrl.SetPosition(radio.Position{X: x, Y: y})
				return fmt.Sprintf("%s moved to [%g, %g]", d.Spec.Name, x, y), nil
			}},
		"status": {" show the device's profile, address and position",
			func(w *World, d *Device, args []string) (string, error) {
				p := d.Ctrl.Position()
				return fmt.Sprintf("%s: profile %s, address %s, position [%g, %g]", d.Spec.Name, d.Spec.Profile, d.Spec.Address, p.X, p.Y), nil
			}},
	}
}

// ServeControl listens on the unix socket path and answers requests until
// the listener is closed (close the returned listener to stop).
func (w *World) ServeControl(path string) (net.Listener, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go w.controlConn(c)
		}
	}()
	return ln, nil
}

func (w *World) controlConn(c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req ControlRequest
		var resp ControlResponse
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Message = "bad request: " + err.Error()
		} else {
			resp = w.Control(req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// Control runs one request on the simulation goroutine and waits for the
// answer. Call it from any goroutine but the simulation's.
func (w *World) Control(req ControlRequest) ControlResponse {
	done := make(chan ControlResponse, 1)
	w.Sched.Post(func() { done <- w.control(req) })
	return <-done
}

func (w *World) control(req ControlRequest) ControlResponse {
	cmd, ok := controlCommands()[req.Command]
	if !ok {
		return ControlResponse{Message: fmt.Sprintf("unknown command %q; commands: %s", req.Command, strings.Join(ControlCommands(), "; "))}
	}
	d := w.Device(req.Device)
	if d == nil {
		var names []string
		for _, d := range w.Devices {
			names = append(names, d.Spec.Name)
		}
		return ControlResponse{Message: fmt.Sprintf("no device %q; devices: %s", req.Device, strings.Join(names, ", "))}
	}
	msg, err := cmd.run(w, d, req.Args)
	if err != nil {
		return ControlResponse{Message: err.Error()}
	}
	w.log.Info("control", zap.String("device", d.Spec.Name), zap.String("command", req.Command), zap.String("result", msg))
	return ControlResponse{OK: true, Message: msg}
}
