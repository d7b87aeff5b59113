package fakectl

import (
	"blesim/vhci/hci"
)

// encryptionCommand runs the encryption start procedure the way a
// controller shows it to its hosts (Core v5.4 Vol 4 Part E §7.8.24–26,
// Vol 6 Part B §5.1.3): LE Enable Encryption from the central's host gets
// Command Status and an LE Long Term Key Request at the peripheral's host
// (when its LE event mask allows; otherwise the controller answers
// negatively itself). The peripheral's Reply with the same key encrypts
// the link: Encryption Change (0x00, on) on both sides, or Encryption Key
// Refresh Complete when it was encrypted already. A different key is a
// MIC failure: both sides are disconnected with 0x3D. A Negative Reply
// gives the central Encryption Change with 0x06 PIN or Key Missing.
func (c *Controller) encryptionCommand(op hci.Opcode, p []byte) {
	r := hci.NewReader(p)
	h := r.U16() & 0x0fff
	switch op {
	case hci.OpLEEnableEncryption:
		rand, ediv := r.U64(), r.U16()
		var ltk [16]byte
		copy(ltk[:], r.Bytes(16))
		if r.Exact() != nil {
			c.Status(op, hci.StatusInvalidParameters)
			return
		}
		l := c.links[h]
		switch {
		case l == nil:
			c.Status(op, hci.StatusUnknownConnectionID)
			return
		case l.role != 0 || l.encPending:
			c.Status(op, hci.StatusCommandDisallowed)
			return
		}
		c.Status(op, hci.StatusSuccess)
		l.encPending, l.pendingLTK = true, ltk
		c.EncryptionRequests++
		c.w.Sched.After(c.w.Delay, func() {
			if c.links[l.handle] != l {
				return
			}
			pl := l.peerLink
			if l.peer.leEventMask&(1<<4) == 0 {
				l.peer.finishEncryption(pl, nil)
				return
			}
			l.peer.leMeta(hci.LELongTermKeyRequest, (&hci.Writer{}).U16(pl.handle).U64(rand).U16(ediv).B)
		})
	case hci.OpLELongTermKeyRequestReply, hci.OpLELongTermKeyRequestNegReply:
		var ltk *[16]byte
		if op == hci.OpLELongTermKeyRequestReply {
			var k [16]byte
			copy(k[:], r.Bytes(16))
			ltk = &k
		}
		ret := []byte{byte(h), byte(h >> 8)}
		if r.Exact() != nil {
			c.Complete(op, hci.StatusInvalidParameters, ret...)
			return
		}
		l := c.links[h]
		switch {
		case l == nil:
			c.Complete(op, hci.StatusUnknownConnectionID, ret...)
			return
		case l.role != 1 || !l.peerLink.encPending:
			c.Complete(op, hci.StatusCommandDisallowed, ret...)
			return
		}
		c.Complete(op, hci.StatusSuccess, ret...)
		if ltk == nil {
			c.NegativeReplies++
		}
		c.w.Sched.After(c.w.Delay, func() { c.finishEncryption(l, ltk) })
	}
}

// finishEncryption ends the procedure on peripheral link l with the key
// its host gave (nil: negative reply).
func (c *Controller) finishEncryption(l *link, ltk *[16]byte) {
	if c.links[l.handle] != l {
		return
	}
	cl := l.peerLink
	central := l.peer
	cl.encPending = false
	if ltk == nil {
		cl.encrypted, l.encrypted = false, false
		central.event(hci.EvtEncryptionChange, (&hci.Writer{}).U8(uint8(hci.StatusPINOrKeyMissing)).U16(cl.handle).U8(0).B)
		return
	}
	if *ltk != cl.pendingLTK {
		// The LL would decrypt the first encrypted PDU with the wrong
		// session key: MIC failure, and the link is gone.
		c.drop(l, hci.StatusMICFailure, hci.StatusMICFailure)
		return
	}
	refresh := cl.encrypted
	cl.encrypted, l.encrypted = true, true
	cl.ltk, l.ltk = *ltk, *ltk
	for _, side := range []struct {
		c *Controller
		l *link
	}{{central, cl}, {c, l}} {
		if refresh {
			side.c.event(hci.EvtEncryptionKeyRefreshComplete, (&hci.Writer{}).U8(0).U16(side.l.handle).B)
		} else {
			side.c.event(hci.EvtEncryptionChange, (&hci.Writer{}).U8(0).U16(side.l.handle).U8(1).B)
		}
	}
}

// Encrypted reports whether the connection with handle is encrypted, and
// with which key (HCI order).
func (c *Controller) Encrypted(handle uint16) (bool, [16]byte) {
	l := c.links[handle]
	if l == nil {
		return false, [16]byte{}
	}
	return l.encrypted, l.ltk
}
