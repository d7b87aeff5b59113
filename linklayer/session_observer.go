package linklayer

import (
	"blesim/linklayer/ccm"
	"blesim/linklayer/radio"
)

// SessionKeys is the key material of an LL encryption session as one side
// of a connection put it into use (Core v5.4 Vol 6 Part B §5.1.3.1: SK =
// e(LTK, SKD), IV = IVp || IVc; Vol 6 Part E §1, §2). Traces use it to
// write a decrypted copy of the air for teaching: what this side sends from
// now on is sealed with these keys in direction TxDir, what it receives is
// opened with them in the other direction.
//
// All values are most significant octet first (ccm.NewSession's order).
type SessionKeys struct {
	// AccessAddress is the connection's access address.
	AccessAddress uint32
	// Role is the side that derived the keys.
	Role Role
	// TxDir is the nonce direction bit of what this side sends.
	TxDir ccm.Direction
	// Port is the connection's radio port: the sender the medium's tap
	// reports for this side's packets.
	Port *radio.Port
	// LTK is the long-term key the host gave (LE Enable Encryption, LE
	// Long Term Key Request Reply), SKD = SKDp || SKDc, IV = IVp || IVc.
	LTK, SKD [16]byte
	IV       [8]byte
}

// SetSessionObserver sets a function that sees the key material of every
// encryption session a connection of this controller puts into use, at
// the moment it does (before the first PDU sealed or opened with it goes
// on air). It is called on the simulation goroutine; nil removes it.
// Nothing in the controller depends on it.
func (c *Controller) SetSessionObserver(fn func(SessionKeys)) { c.onSession = fn }

// keysInUse reports the keys the connection just switched to (enc.sess).
func (cn *conn) keysInUse() {
	if cn.c.onSession == nil {
		return
	}
	k := cn.enc.keys
	k.AccessAddress, k.Role, k.TxDir, k.Port = cn.aa, cn.role, cn.txDir(), cn.port
	cn.c.onSession(k)
}
