//go:build !linux

package vhci

import (
	"errors"
	"fmt"
)

// DefaultVHCIPath is the Linux virtual HCI device.
const DefaultVHCIPath = "/dev/vhci"

// VHCI is a controller attached through Linux's /dev/vhci; on this system
// OpenVHCI always fails.
type VHCI struct{}

// OpenVHCI fails: /dev/vhci exists only on Linux.
func OpenVHCI(path string) (*VHCI, error) {
	if path == "" {
		path = DefaultVHCIPath
	}
	return nil, fmt.Errorf("open %s: %w", path, errors.New("/dev/vhci exists only on Linux: run inside `blesim vm`, or attach the host over an H4 socket (tcp:HOST:PORT)"))
}

// Index is never reached on this system.
func (v *VHCI) Index() uint16 { return 0 }

// ReadPacket is never reached on this system.
func (v *VHCI) ReadPacket() ([]byte, error) { return nil, ErrClosed }

// WritePacket is never reached on this system.
func (v *VHCI) WritePacket([]byte) error { return ErrClosed }

// Close is never reached on this system.
func (v *VHCI) Close() error { return nil }

// Name returns "vhci".
func (v *VHCI) Name() string { return "vhci" }

var _ Transport = (*VHCI)(nil)
