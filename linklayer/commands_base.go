package linklayer

import (
	"crypto/aes"
	"encoding/binary"
	"slices"

	"blesim/vhci/hci"
)

// Local version information (Core v5.4 Vol 4 Part E §7.4.1). 0x0D is
// Bluetooth Core 5.4; 0x05F1 is The Linux Foundation's company identifier.
const (
	hciVersion     = 0x0D
	hciRevision    = 0x0000
	lmpVersion     = 0x0D
	manufacturer   = 0x05F1
	lmpSubversion  = 0x0000
	llVersionNr    = 0x0D // LL_VERSION_IND VersNr (Vol 6 Part B §2.4.2.13)
	llCompanyID    = manufacturer
	llSubVersionNr = 0x0000
)

// LE feature bits (Core v5.4 Vol 6 Part B §4.6).
const (
	featLEEncryption          = 0
	featConnParamReq          = 1
	featExtRejectInd          = 2
	featPeripheralFeatureExch = 3
	featDataLengthExtension   = 5
)

func baseHandlers() []handler {
	return []handler{
		{op: hci.OpReset, plen: 0, sync: (*Controller).cmdReset},
		{op: hci.OpSetEventMask, plen: 8, sync: func(c *Controller, p []byte) []byte {
			c.eventMask = binary.LittleEndian.Uint64(p)
			return status(hci.StatusSuccess)
		}},
		{op: hci.OpSetEventMaskPage2, plen: 8, sync: func(c *Controller, p []byte) []byte {
			c.eventMask2 = binary.LittleEndian.Uint64(p)
			return status(hci.StatusSuccess)
		}},
		{op: hci.OpReadLocalVersion, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U8(hciVersion).U16(hciRevision).U8(lmpVersion).U16(manufacturer).U16(lmpSubversion)
			return w.B
		}},
		{op: hci.OpReadLocalSupportedCommands, plen: 0, sync: func(c *Controller, p []byte) []byte {
			mask := hci.SupportedCommandsMask(c.supportedOpcodes())
			return append([]byte{0}, mask[:]...)
		}},
		{op: hci.OpReadLocalSupportedFeatures, plen: 0, sync: func(c *Controller, p []byte) []byte {
			// LMP features page 0 (Vol 2 Part C §3.3): only "LE Supported
			// (Controller)" (byte 4 bit 6) and "BR/EDR Not Supported"
			// (byte 4 bit 5): an LE-only controller.
			return []byte{0, 0, 0, 0, 0, 0x60, 0, 0, 0}
		}},
		{op: hci.OpReadBDADDR, plen: 0, sync: func(c *Controller, p []byte) []byte {
			return append([]byte{0}, c.cfg.Address[:]...)
		}},
		{op: hci.OpReadBufferSize, plen: 0, sync: func(c *Controller, p []byte) []byte {
			// No BR/EDR buffers: an LE-only controller; the host uses LE
			// Read Buffer Size (Vol 4 Part E §7.8.2).
			var w hci.Writer
			w.U8(0).U16(0).U8(0).U16(0).U16(0)
			return w.B
		}},
		{op: hci.OpLESetEventMask, plen: 8, sync: func(c *Controller, p []byte) []byte {
			c.leEventMask = binary.LittleEndian.Uint64(p)
			return status(hci.StatusSuccess)
		}},
		{op: hci.OpLEReadBufferSize, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U16(aclDataPacketLength).U8(aclNumDataPackets)
			return w.B
		}},
		{op: hci.OpLEReadLocalSupportedFeatures, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U64(c.leFeatures())
			return w.B
		}},
		{op: hci.OpLESetRandomAddress, plen: 6, sync: (*Controller).cmdSetRandomAddress},
		{op: hci.OpLEReadSupportedStates, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			// Every state and state combination up to bit 41 (Vol 4 Part E §7.8.27).
			w.U8(0).U64(0x000003FFFFFFFFFF)
			return w.B
		}},
		{op: hci.OpLERand, plen: 0, sync: func(c *Controller, p []byte) []byte {
			var w hci.Writer
			w.U8(0).U64(c.sched.Rand().Uint64())
			return w.B
		}},
		{op: hci.OpLEEncrypt, plen: 32, sync: func(c *Controller, p []byte) []byte {
			return append([]byte{0}, leEncrypt(p[:16], p[16:32])...)
		}},
		{op: hci.OpLESetHostChannelClassification, plen: 5, sync: (*Controller).cmdSetHostChannelClassification},
		{op: hci.OpLEReadAcceptListSize, plen: 0, sync: func(c *Controller, p []byte) []byte {
			return []byte{0, acceptListSize}
		}},
		{op: hci.OpLEClearAcceptList, plen: 0, sync: (*Controller).cmdClearAcceptList},
		{op: hci.OpLEAddDeviceToAcceptList, plen: 7, sync: (*Controller).cmdAddToAcceptList},
		{op: hci.OpLERemoveDeviceFromAcceptList, plen: 7, sync: (*Controller).cmdRemoveFromAcceptList},
	}
}

// cmdSetRandomAddress is LE Set Random Address (Vol 4 Part E §7.8.4).
// Command Disallowed while legacy advertising, active scanning or
// initiating: each of those puts the address on the air (in the
// advertising PDU, SCAN_REQ or CONNECT_IND), and changing it mid-way would
// leave the peer with an address the next PDU contradicts.
//
// Passive scanning sends nothing, so the controller accepts the command
// then, as Zephyr's link layer does (ll_addr_set refuses only active
// scanning and initiating) and as Core 4.2 allowed ("shall take effect for
// scanning no later than the next successful LE Set Scan Enable"). Core 5.2
// words it more strictly (any scanning), but the Linux kernel sets a fresh
// non-resolvable address for every non-connectable advertising set while
// its passive scan runs (hci_set_random_addr_sync defers only for
// advertising and initiating): that is how bluetooth-meshd's mesh bearer
// sends every packet (MGMT Mesh Send), and how 5.66's generic bearer
// changes address after each burst. Refusing it here would silently drop
// every mesh packet the kernel sends.
func (c *Controller) cmdSetRandomAddress(p []byte) []byte {
	if c.adv.enabled || c.init.active || (c.scan.enabled && c.scan.params.active) {
		return status(hci.StatusCommandDisallowed)
	}
	copy(c.randomAddr[:], p)
	return status(hci.StatusSuccess)
}

func (c *Controller) cmdReset(p []byte) []byte {
	c.reset()
	return status(hci.StatusSuccess)
}

// leFeatures derives the LE feature mask from what the controller
// implements: a bit is set only where the procedure and its commands exist.
func (c *Controller) leFeatures() uint64 {
	var f uint64
	if c.Supports(hci.OpLEEnableEncryption) && c.Supports(hci.OpLELongTermKeyRequestReply) {
		f |= 1 << featLEEncryption
	}
	if c.Supports(hci.OpLERemoteConnParamReqReply) {
		f |= 1 << featConnParamReq
	}
	f |= 1 << featExtRejectInd
	f |= 1 << featPeripheralFeatureExch
	if c.Supports(hci.OpLESetDataLength) {
		f |= 1 << featDataLengthExtension
	}
	return f
}

// cmdSetHostChannelClassification stores the host's channel map; at least
// two channels must be usable (Vol 4 Part E §7.8.19).
func (c *Controller) cmdSetHostChannelClassification(p []byte) []byte {
	var m [5]byte
	copy(m[:], p)
	if m[4]&0xE0 != 0 {
		return status(hci.StatusInvalidParameters)
	}
	n := 0
	for _, b := range m {
		for ; b != 0; b &= b - 1 {
			n++
		}
	}
	if n < 2 {
		return status(hci.StatusInvalidParameters)
	}
	c.hostChannel = m
	for _, cn := range c.conns {
		cn.hostChannelsChanged()
	}
	return status(hci.StatusSuccess)
}

// leEncrypt is the HCI LE Encrypt command's AES-128 (Vol 4 Part E §7.8.22):
// the HCI parameters are little-endian, FIPS-197 is big-endian.
func leEncrypt(keyLE, plainLE []byte) []byte {
	key := slices.Clone(keyLE)
	slices.Reverse(key)
	pt := slices.Clone(plainLE)
	slices.Reverse(pt)
	b, _ := aes.NewCipher(key) // 16-byte key: cannot fail
	out := make([]byte, 16)
	b.Encrypt(out, pt)
	slices.Reverse(out)
	return out
}
