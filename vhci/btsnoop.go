package vhci

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"blesim/vhci/hci"
)

// Direction says which way a packet crossed the HCI.
type Direction uint8

// Directions, as btsnoop's flags bit 0 encodes them: the trace is written
// from the host's point of view, so "sent" is host to controller.
const (
	HostToController Direction = 0
	ControllerToHost Direction = 1
)

func (d Direction) String() string {
	switch d {
	case HostToController:
		return "host->controller"
	case ControllerToHost:
		return "controller->host"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// btsnoop file format (RFC 1761 snoop, as extended by the Bluetooth
// btsnoop format that btmon, Wireshark and Android use): a 16-octet file
// header, then one record per packet. All integers are big-endian.
const (
	// BtsnoopDatalinkH4 is datalink type 1002, "HCI UART (H4)": every
	// record's data starts with the H4 packet indicator.
	BtsnoopDatalinkH4 = 1002
	btsnoopVersion    = 1
	// btsnoopEpochOffset is the number of microseconds from midnight,
	// January 1st, 0 AD (the btsnoop epoch) to the Unix epoch.
	btsnoopEpochOffset = 0x00dcddb30f2f8000
	flagReceived       = 1 << 0 // controller to host
	flagCommandEvent   = 1 << 1 // command or event, not data
)

// Btsnoop writes a btsnoop trace of H4 packets. It is safe for concurrent
// use. Timestamps are parameters, never the wall clock, so a simulation
// that passes virtual time mapped to a fixed epoch writes byte-identical
// files on every run.
type Btsnoop struct {
	mu  sync.Mutex
	w   io.Writer
	err error
	rec []byte // reused record buffer
}

// NewBtsnoop writes the btsnoop file header (datalink 1002, HCI UART/H4)
// to w and returns a writer for the records.
func NewBtsnoop(w io.Writer) (*Btsnoop, error) {
	var h [16]byte
	copy(h[:8], "btsnoop\x00")
	binary.BigEndian.PutUint32(h[8:], btsnoopVersion)
	binary.BigEndian.PutUint32(h[12:], BtsnoopDatalinkH4)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("btsnoop: writing the file header: %w", err)
	}
	return &Btsnoop{w: w}, nil
}

// Write records one H4 packet (indicator first) at time ts.
func (b *Btsnoop) Write(ts time.Time, dir Direction, pkt []byte) error {
	return b.WriteMicros(ts.UnixMicro(), dir, pkt)
}

// WriteMicros records one H4 packet at unixMicros microseconds after the
// Unix epoch. Commands and events get flags bit 1; packets from the
// controller get bit 0. After a write error every later call returns it.
func (b *Btsnoop) WriteMicros(unixMicros int64, dir Direction, pkt []byte) error {
	if len(pkt) == 0 {
		return errors.New("btsnoop: empty packet: an H4 packet starts with its packet-type byte")
	}
	if dir > ControllerToHost {
		return fmt.Errorf("btsnoop: bad direction %d", dir)
	}
	var flags uint32
	if dir == ControllerToHost {
		flags |= flagReceived
	}
	if t := hci.PacketType(pkt[0]); t == hci.CommandPacket || t == hci.EventPacket {
		flags |= flagCommandEvent
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	rec := b.rec[:0]
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(pkt))) // original length
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(pkt))) // included length
	rec = binary.BigEndian.AppendUint32(rec, flags)
	rec = binary.BigEndian.AppendUint32(rec, 0) // cumulative drops
	rec = binary.BigEndian.AppendUint64(rec, uint64(unixMicros+btsnoopEpochOffset))
	rec = append(rec, pkt...)
	b.rec = rec
	if _, err := b.w.Write(rec); err != nil {
		b.err = fmt.Errorf("btsnoop: writing a record: %w", err)
		return b.err
	}
	return nil
}
