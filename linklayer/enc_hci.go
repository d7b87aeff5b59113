package linklayer

import (
	"encoding/binary"

	"blesim/vhci/hci"
)

// encHandlers are the HCI commands of LE encryption (Vol 4 Part E §7.8.24
// to §7.8.26). With them the LE Encryption feature bit is set (leFeatures).
//
// HCI Read Encryption Key Size (§7.5.7) is left out: the Linux kernel (6.1)
// reads the key size only for BR/EDR links (hci_encrypt_change_evt: "Try
// reading the encryption key size for encrypted ACL links", conn->type ==
// ACL_LINK); for LE it takes the size from SMP.
func encHandlers() []handler {
	return []handler{
		{op: hci.OpLEEnableEncryption, plen: 28, async: (*Controller).cmdEnableEncryption},
		{op: hci.OpLELongTermKeyRequestReply, plen: 18, sync: (*Controller).cmdLTKReply},
		{op: hci.OpLELongTermKeyRequestNegReply, plen: 2, sync: (*Controller).cmdLTKNegReply},
	}
}

// cmdEnableEncryption is LE Enable Encryption (§7.8.24): Connection_Handle,
// Random_Number (8), Encrypted_Diversifier (2), Long_Term_Key (16). Only
// the central may start encryption (0x0C for a peripheral); one request at
// a time. On an encrypted link it refreshes the key (pause, then start).
// The outcome is Encryption Change or Encryption Key Refresh Complete.
func (c *Controller) cmdEnableEncryption(p []byte) (hci.Status, func()) {
	cn := c.liveConn(binary.LittleEndian.Uint16(p))
	if cn == nil {
		return hci.StatusUnknownConnectionID, nil
	}
	if cn.role != RoleCentral || cn.arq.terminating || cn.arq.termRx || cn.procs.hasHostProc(procEncrypt) {
		return hci.StatusCommandDisallowed, nil
	}
	var k encKey
	copy(k.rand[:], p[2:10])
	k.ediv = binary.LittleEndian.Uint16(p[10:])
	copy(k.ltk[:], p[12:28])
	return hci.StatusSuccess, func() { cn.queueProc(&llProc{kind: procEncrypt, host: true, key: &k}) }
}

// ltkConn returns the peripheral connection waiting for its host's LTK, or
// the status that refuses the reply.
func (c *Controller) ltkConn(h uint16) (*conn, hci.Status) {
	cn := c.liveConn(h)
	switch {
	case cn == nil:
		return nil, hci.StatusUnknownConnectionID
	case cn.role != RolePeripheral || cn.enc.phase != encPerLTK:
		return nil, hci.StatusCommandDisallowed
	}
	return cn, hci.StatusSuccess
}

// cmdLTKReply is LE Long Term Key Request Reply (§7.8.25): the host's LTK
// for the pending LE Long Term Key Request.
func (c *Controller) cmdLTKReply(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn, st := c.ltkConn(h)
	if cn != nil {
		var ltk [16]byte
		copy(ltk[:], p[2:18])
		cn.ltkReply(ltk)
	}
	return handleStatus(st, h)
}

// cmdLTKNegReply is LE Long Term Key Request Negative Reply (§7.8.26).
func (c *Controller) cmdLTKNegReply(p []byte) []byte {
	h := binary.LittleEndian.Uint16(p)
	cn, st := c.ltkConn(h)
	if cn != nil {
		cn.ltkNegativeReply()
	}
	return handleStatus(st, h)
}
