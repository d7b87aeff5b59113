package vhci

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"blesim/vhci/hci"
)

// DefaultVHCIPath is the Linux virtual HCI device (drivers/bluetooth/hci_vhci.c).
const DefaultVHCIPath = "/dev/vhci"

// vhciHandshakeTimeout bounds the wait for the kernel's reply to the
// vendor packet that creates the controller.
const vhciHandshakeTimeout = 2 * time.Second

// vhciCreatePrimary is the vendor packet that asks hci_vhci for a primary
// (BR/EDR/LE) controller: HCI_VENDOR_PKT, then the device type HCI_PRIMARY.
// The kernel creates one anyway if nothing is written within a second.
var vhciCreatePrimary = [2]byte{byte(hci.VendorPacket), 0x00}

// VHCI is a virtual controller attached to the Linux kernel through
// /dev/vhci. The kernel sees a new hciN and drives it like any Bluetooth
// controller; this side plays the controller. After the handshake every
// read returns exactly one H4 packet from the host and every write takes
// exactly one. Closing the device unplugs the controller.
//
// The fd is non-blocking and registered with Go's poller, so a blocked
// ReadPacket returns as soon as Close is called.
type VHCI struct {
	f     *os.File
	index uint16
	name  string

	readMu sync.Mutex // guards buf: one ReadPacket at a time
	buf    []byte
}

var _ Transport = (*VHCI)(nil)

// OpenVHCI opens path (DefaultVHCIPath when empty), asks the kernel for a
// primary controller and waits up to 2 s for its index.
func OpenVHCI(path string) (*VHCI, error) {
	if path == "" {
		path = DefaultVHCIPath
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	return attachFD(fd, path, vhciHandshakeTimeout)
}

// openError turns an open(2) failure into advice.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("open %s: no such file — this kernel has no vhci (modprobe hci_vhci), or run inside `blesim vm`: %w", path, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("open %s: permission denied — run as root, or give your user read/write access to %s (a udev rule or chmod): %w", path, path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// attachFD wraps an open non-blocking fd that speaks the vhci protocol and
// performs the handshake. On error the fd is closed.
func attachFD(fd int, path string, timeout time.Duration) (*VHCI, error) {
	f := os.NewFile(uintptr(fd), path)
	if f == nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: bad file descriptor %d", path, fd)
	}
	idx, err := vhciHandshake(f, timeout)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &VHCI{
		f:     f,
		index: idx,
		name:  fmt.Sprintf("vhci hci%d", idx),
		buf:   make([]byte, hci.MaxH4Size),
	}, nil
}

// vhciHandshake writes the create-controller vendor packet and reads the
// kernel's reply {0xff, 0x00, idx_lo, idx_hi} (drivers/bluetooth/hci_vhci.c,
// vhci_create_device). If rw can take a read deadline (an *os.File on a
// pollable fd, a net.Conn) the wait is bounded by timeout.
func vhciHandshake(rw io.ReadWriter, timeout time.Duration) (uint16, error) {
	if _, err := rw.Write(vhciCreatePrimary[:]); err != nil {
		return 0, fmt.Errorf("writing the create-controller packet: %w", err)
	}
	if d, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		if err := d.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return 0, fmt.Errorf("cannot bound the wait for the kernel's reply: %w", err)
		}
		defer d.SetReadDeadline(time.Time{})
	}
	var buf [64]byte
	n, err := rw.Read(buf[:])
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, fmt.Errorf("no reply to the create-controller packet within %v: hci_vhci did not create a controller (see dmesg)", timeout)
	}
	if err != nil {
		return 0, fmt.Errorf("reading the kernel's reply: %w", err)
	}
	r := buf[:n]
	if n != 4 || r[0] != byte(hci.VendorPacket) || r[1] != vhciCreatePrimary[1] {
		return 0, fmt.Errorf("unexpected reply % x to the create-controller packet (want ff 00 idx_lo idx_hi): is this really a vhci device?", r)
	}
	return binary.LittleEndian.Uint16(r[2:]), nil
}

// Index returns the controller index the kernel assigned: N in "hciN".
func (v *VHCI) Index() uint16 { return v.index }

// Name returns "vhci hciN".
func (v *VHCI) Name() string { return v.name }

// ReadPacket returns the next packet from the kernel: a command (0x01),
// ACL (0x02), SCO (0x03) or ISO (0x05) packet. Packets of other types are
// returned as they are; the caller logs and drops them. After Close it
// returns io.EOF.
func (v *VHCI) ReadPacket() ([]byte, error) {
	v.readMu.Lock()
	defer v.readMu.Unlock()
	for {
		n, err := v.f.Read(v.buf)
		if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read: %w", v.name, err)
		}
		if n == 0 {
			continue
		}
		return append([]byte(nil), v.buf[:n]...), nil
	}
}

// WritePacket hands one packet to the kernel: an event (0x04), ACL
// (0x02), SCO (0x03) or ISO (0x05) packet.
func (v *VHCI) WritePacket(pkt []byte) error {
	if len(pkt) == 0 {
		return fmt.Errorf("%s: empty packet: an H4 packet starts with its packet-type byte", v.name)
	}
	n, err := v.f.Write(pkt)
	if errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%s: %w", v.name, ErrClosed)
	}
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s: the kernel rejected a %s packet (it takes only event, ACL, SCO and ISO packets from a controller): %w", v.name, hci.PacketType(pkt[0]), err)
	}
	if err != nil {
		return fmt.Errorf("%s: write: %w", v.name, err)
	}
	if n != len(pkt) {
		return fmt.Errorf("%s: short write: %d of %d bytes", v.name, n, len(pkt))
	}
	return nil
}

// Close unplugs the controller: the kernel unregisters hciN. A blocked
// ReadPacket returns io.EOF.
func (v *VHCI) Close() error {
	err := v.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
