// Package vhci is the virtual HCI boundary: the Transport interface that
// carries H4 packets between a controller and its host, and its
// implementations — the Linux /dev/vhci attachment (device_linux.go), an H4
// socket server for stacks outside the process (socket.go) and an in-memory
// pipe for the built-in Go hosts (pipe.go) — plus a btsnoop trace writer
// (btsnoop.go).
//
// Packets are H4 packets: the packet indicator (Core v5.4 Vol 4 Part A §2,
// hci.CommandPacket, hci.EventPacket...) first, then the HCI packet. Use
// hci.SplitH4 to take them apart.
package vhci

import (
	"errors"
)

// Transport carries H4 packets (packet-type byte first) between one controller and its host.
type Transport interface {
	// ReadPacket blocks until the host sends one packet. The slice is owned by the caller. io.EOF when the host has gone.
	ReadPacket() ([]byte, error)
	// WritePacket sends one packet to the host. Safe for concurrent use with ReadPacket; callers serialise their own writes.
	WritePacket(pkt []byte) error
	// Close detaches; a blocked ReadPacket returns.
	Close() error
	// Name describes the link for logs, e.g. "vhci hci0" or "tcp 127.0.0.1:54321".
	Name() string
}

// ErrClosed is returned by WritePacket (and by ReadPacket where io.EOF
// would hide the cause) after Close on the same side.
var ErrClosed = errors.New("vhci: transport closed")

// ErrPeerStalled is the cause recorded when a socket peer stops reading
// and its bounded write queue fills: the connection is dropped rather than
// stalling the simulation.
var ErrPeerStalled = errors.New("vhci: peer is not reading")
