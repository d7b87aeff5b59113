package hcihost

import (
	"encoding/binary"
	"fmt"

	"go.uber.org/zap"

	"blesim/vhci/hci"
)

// EventMask is what Bringup sets with Set Event Mask (Vol 4 Part E §7.3.1):
// Disconnection Complete (bit 4), Encryption Change (bit 7), Read Remote
// Version Information Complete (bit 11), Hardware Error (bit 15), Data
// Buffer Overflow (bit 25), Encryption Key Refresh Complete (bit 47) and LE
// Meta (bit 61).
const EventMask uint64 = 1<<4 | 1<<7 | 1<<11 | 1<<15 | 1<<25 | 1<<47 | 1<<61

// LEEventMask is what Bringup sets with LE Set Event Mask (§7.8.1): bit n
// enables subevent n+1. Connection Complete (0), Advertising Report (1),
// Connection Update Complete (2), Read Remote Features Complete (3), Long
// Term Key Request (4), Remote Connection Parameter Request (5), Data Length
// Change (6) and Enhanced Connection Complete (9). With both connection
// complete bits set, a controller that implements the enhanced event sends
// only that one (§7.7.65.10).
const LEEventMask uint64 = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<9

type step struct {
	op     hci.Opcode
	params []byte
	ret    func(ret []byte) error // parses return parameters; nil = ignore
}

// Bringup initialises the controller the way a real host does after power
// on: Reset, Read Local Version Information, Read BD_ADDR, Read Local
// Supported Commands, Read Local Supported Features, LE Read Local Supported
// Features, LE Read Buffer Size (with Read Buffer Size when the LE values are
// zero, §7.8.2), Set Event Mask and LE Set Event Mask. It fills h.Info and
// calls cb(nil) when done, or cb(err) at the first failure.
func (h *Host) Bringup(cb func(error)) {
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	steps := []step{
		{op: hci.OpReset, ret: func([]byte) error {
			// Reset forgets every connection and every buffer.
			h.acl.init()
			h.setBuffers(0, 0)
			return nil
		}},
		{op: hci.OpReadLocalVersion, ret: func(b []byte) error {
			r := hci.NewReader(b)
			h.Info.HCIVersion, h.Info.HCIRevision = r.U8(), r.U16()
			h.Info.LMPVersion, h.Info.Manufacturer, h.Info.LMPSubversion = r.U8(), r.U16(), r.U16()
			return r.Exact()
		}},
		{op: hci.OpReadBDADDR, ret: func(b []byte) error {
			r := hci.NewReader(b)
			h.Info.Addr = r.Addr()
			return r.Exact()
		}},
		{op: hci.OpReadLocalSupportedCommands, ret: func(b []byte) error {
			if len(b) != 64 {
				return fmt.Errorf("%w: %d bytes of supported commands", ErrBadReturn, len(b))
			}
			copy(h.Info.SupportedCommands[:], b)
			return nil
		}},
		{op: hci.OpReadLocalSupportedFeatures, ret: func(b []byte) error {
			if len(b) != 8 {
				return fmt.Errorf("%w: %d bytes of LMP features", ErrBadReturn, len(b))
			}
			copy(h.Info.LMPFeatures[:], b)
			return nil
		}},
		{op: hci.OpLEReadLocalSupportedFeatures, ret: func(b []byte) error {
			if len(b) != 8 {
				return fmt.Errorf("%w: %d bytes of LE features", ErrBadReturn, len(b))
			}
			copy(h.Info.LEFeatures[:], b)
			return nil
		}},
		{op: hci.OpLEReadBufferSize, ret: func(b []byte) error {
			r := hci.NewReader(b)
			h.Info.ACLDataLen, h.Info.ACLNumPackets = int(r.U16()), int(r.U8())
			return r.Exact()
		}},
		{op: hci.OpSetEventMask, params: le64(EventMask)},
		{op: hci.OpLESetEventMask, params: le64(LEEventMask)},
	}
	var run func(i int)
	run = func(i int) {
		if i == len(steps) {
			h.finishBringup(cb)
			return
		}
		s := steps[i]
		h.Command(s.op, s.params, func(ret []byte, err error) {
			if err == nil && s.ret != nil {
				err = s.ret(ret)
			}
			if err != nil {
				err = fmt.Errorf("bring-up: %s: %w", s.op, err)
				h.log.Error("controller bring-up failed", zap.Error(err))
				cb(err)
				return
			}
			run(i + 1)
		})
	}
	run(0)
}

// finishBringup settles the ACL buffers: an LE Read Buffer Size of zero
// means LE shares the BR/EDR buffers, read with Read Buffer Size (§7.4.5).
func (h *Host) finishBringup(cb func(error)) {
	done := func() {
		if h.Info.ACLDataLen < 27 || h.Info.ACLNumPackets < 1 {
			err := fmt.Errorf("bring-up: controller reports %d LE ACL buffers of %d bytes (need >= 1 of >= 27)", h.Info.ACLNumPackets, h.Info.ACLDataLen)
			h.log.Error("controller bring-up failed", zap.Error(err))
			cb(err)
			return
		}
		h.setBuffers(h.Info.ACLDataLen, h.Info.ACLNumPackets)
		h.log.Info("controller up",
			zap.Stringer("addr", h.Info.Addr),
			zap.Int("acl_len", h.Info.ACLDataLen), zap.Int("acl_bufs", h.Info.ACLNumPackets))
		cb(nil)
	}
	if h.Info.ACLDataLen != 0 && h.Info.ACLNumPackets != 0 {
		done()
		return
	}
	h.Command(hci.OpReadBufferSize, nil, func(ret []byte, err error) {
		if err != nil {
			err = fmt.Errorf("bring-up: %s: %w", hci.OpReadBufferSize, err)
			cb(err)
			return
		}
		r := hci.NewReader(ret)
		aclLen, _, aclNum, _ := r.U16(), r.U8(), r.U16(), r.U16()
		if err := r.Exact(); err != nil {
			cb(fmt.Errorf("bring-up: %s: %w", hci.OpReadBufferSize, err))
			return
		}
		h.Info.ACLDataLen, h.Info.ACLNumPackets = int(aclLen), int(aclNum)
		done()
	})
}

// SetRandomAddress sends LE Set Random Address (§7.8.4).
func (h *Host) SetRandomAddress(a hci.BDAddr, cb CommandFunc) {
	h.Command(hci.OpLESetRandomAddress, a[:], cb)
}
