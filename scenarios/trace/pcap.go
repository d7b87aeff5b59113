// Package trace writes what happened in a simulation in forms other tools
// read: the air as pcap for Wireshark/tshark, as it was on the air or, for
// teaching, with the encrypted links decrypted (Decryptor).
package trace

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
)

// LinkTypeBLELLWithPHDR is LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR: a 10-byte
// pseudo-header, then the packet from the access address to the CRC
// (tcpdump.org link types; Wireshark's btle_rf dissector).
const LinkTypeBLELLWithPHDR = 256

// Pseudo-header flags (LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR).
const (
	phdrDewhitened     = 0x0001
	phdrSignalValid    = 0x0002
	phdrDecrypted      = 0x0008
	phdrRefAAValid     = 0x0010
	phdrCRCChecked     = 0x0400
	phdrCRCValid       = 0x0800
	phdrMICChecked     = 0x1000
	phdrMICValid       = 0x2000
	pcapMagic          = 0xa1b2c3d4
	pcapSnapLen        = 65535
	pcapRecordOverhead = 16
)

// Pcap writes air packets as a pcap file. It is not safe for concurrent
// use; the simulation goroutine owns it.
type Pcap struct {
	w     *bufio.Writer
	epoch time.Time
	err   error
}

// NewPcap writes the pcap file header to w. Packets are stamped with
// epoch plus their virtual time, so runs with the same seed give
// byte-identical files.
func NewPcap(w io.Writer, epoch time.Time) (*Pcap, error) {
	p := &Pcap{w: bufio.NewWriter(w), epoch: epoch}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], LinkTypeBLELLWithPHDR)
	if _, err := p.w.Write(h[:]); err != nil {
		return nil, err
	}
	return p, nil
}

// Packet describes one packet for the trace.
type Packet struct {
	At  sim.Time
	Air radio.Packet
	// RSSI is written as the signal power when HasRSSI is set.
	RSSI    int8
	HasRSSI bool
	// Decrypted marks a copy whose payload was decrypted for teaching
	// (the MIC was checked and removed): the pseudo-header says
	// "decrypted, MIC checked, MIC valid".
	Decrypted bool
	// MICInvalid, with Decrypted, says "MIC checked, invalid" instead:
	// the receiver's keys differ from the sender's, so it saw a MIC
	// failure (Core v5.4 Vol 6 Part B §5.1.3.1).
	MICInvalid bool
}

// rfChannel maps an LL channel index to the RF channel number 0..39 the
// pseudo-header carries (Core v5.4 Vol 6 Part B §1.4.1).
func rfChannel(ch radio.Channel) uint8 {
	switch {
	case ch == 37:
		return 0
	case ch == 38:
		return 12
	case ch == 39:
		return 39
	case ch <= 10:
		return uint8(ch) + 1
	default:
		return uint8(ch) + 2
	}
}

// Write appends one packet.
func (p *Pcap) Write(pk Packet) error {
	if p.err != nil {
		return p.err
	}
	crcInit := pk.Air.CRCInit
	if pk.Air.Channel >= 37 {
		crcInit = pdu.AdvertisingCRCInit
	}
	flags := uint16(phdrDewhitened | phdrRefAAValid)
	if pk.HasRSSI {
		flags |= phdrSignalValid
	}
	if crcInit != 0 {
		flags |= phdrCRCChecked | phdrCRCValid
	}
	if pk.Decrypted {
		flags |= phdrDecrypted | phdrMICChecked
		if !pk.MICInvalid {
			flags |= phdrMICValid
		}
	}
	n := 10 + 4 + len(pk.Air.PDU) + 3
	rec := make([]byte, 0, pcapRecordOverhead+n)
	ts := p.epoch.Add(time.Duration(pk.At) * time.Microsecond)
	rec = binary.LittleEndian.AppendUint32(rec, uint32(ts.Unix()))
	rec = binary.LittleEndian.AppendUint32(rec, uint32(ts.Nanosecond()/1000))
	rec = binary.LittleEndian.AppendUint32(rec, uint32(n))
	rec = binary.LittleEndian.AppendUint32(rec, uint32(n))
	rec = append(rec, rfChannel(pk.Air.Channel), byte(pk.RSSI), 0x80 /* noise: invalid */, 0)
	rec = binary.LittleEndian.AppendUint32(rec, pk.Air.AccessAddress)
	rec = binary.LittleEndian.AppendUint16(rec, flags)
	rec = binary.LittleEndian.AppendUint32(rec, pk.Air.AccessAddress)
	rec = append(rec, pk.Air.PDU...)
	var crc [3]byte
	if crcInit != 0 {
		crc = pdu.CRCBytes(pdu.CRC24(crcInit, pk.Air.PDU))
	}
	rec = append(rec, crc[:]...)
	_, p.err = p.w.Write(rec)
	return p.err
}

// Flush writes buffered packets out.
func (p *Pcap) Flush() error {
	if p.err != nil {
		return p.err
	}
	return p.w.Flush()
}

// Close flushes; it does not close the underlying writer.
func (p *Pcap) Close() error {
	return errors.Join(p.err, p.w.Flush())
}
