package report

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"blesim/hosts/att"
	"blesim/hosts/l2cap"
	"blesim/hosts/smp"
	"blesim/linklayer/pdu"
	"blesim/vhci/hci"
)

// maxHex is how many payload octets a detail shows in hex.
const maxHex = 12

// shortHex formats b as hex, cut after maxHex octets.
func shortHex(b []byte) string {
	if len(b) > maxHex {
		return hex.EncodeToString(b[:maxHex]) + "…"
	}
	return hex.EncodeToString(b)
}

// controlLabel names a plaintext LL control PDU and describes its fields.
func controlLabel(p []byte) (label, detail string) {
	op := pdu.ControlPDU(p).Opcode()
	data := pdu.ControlPDU(p).CtrData()
	label = op.String()
	switch op {
	case pdu.OpTerminateInd, pdu.OpRejectInd:
		if len(data) >= 1 {
			detail = hci.Status(data[0]).Error()
		}
	case pdu.OpRejectExtInd:
		if len(data) >= 2 {
			detail = fmt.Sprintf("to %s: %s", pdu.Opcode(data[0]), hci.Status(data[1]).Error())
		}
	case pdu.OpUnknownRsp:
		if len(data) >= 1 {
			detail = "unknown " + pdu.Opcode(data[0]).String()
		}
	case pdu.OpEncReq:
		if len(data) >= 10 {
			detail = fmt.Sprintf("EDIV 0x%04x, Rand %s", binary.LittleEndian.Uint16(data[8:]), hex.EncodeToString(data[:8]))
		}
	case pdu.OpVersionInd:
		if len(data) >= 5 {
			detail = fmt.Sprintf("version %d, company 0x%04x, subversion 0x%04x", data[0], binary.LittleEndian.Uint16(data[1:]), binary.LittleEndian.Uint16(data[3:]))
		}
	case pdu.OpLengthReq, pdu.OpLengthRsp:
		if len(data) >= 8 {
			detail = fmt.Sprintf("max rx %d octets, max tx %d octets", binary.LittleEndian.Uint16(data[0:]), binary.LittleEndian.Uint16(data[4:]))
		}
	default:
		if len(data) > 0 {
			detail = shortHex(data)
		}
	}
	return label, detail
}

// l2capLabel names a complete L2CAP frame (header included) by its channel:
// ATT opcode, SMP code or signaling command.
func l2capLabel(frame []byte) (layer, label, detail string) {
	if len(frame) < l2cap.HeaderLen {
		return LayerL2CAP, "L2CAP (short frame)", shortHex(frame)
	}
	cid := binary.LittleEndian.Uint16(frame[2:])
	p := frame[l2cap.HeaderLen:]
	if len(p) == 0 {
		return LayerL2CAP, fmt.Sprintf("L2CAP CID 0x%04x (empty)", cid), ""
	}
	switch cid {
	case l2cap.CIDATT:
		label, detail := attLabel(p)
		return LayerATT, label, detail
	case l2cap.CIDSMP:
		label, detail := smpLabel(p)
		return LayerSMP, label, detail
	case l2cap.CIDSignaling:
		return LayerL2CAP, signalingName(p[0]), shortHex(p[1:])
	}
	return LayerL2CAP, fmt.Sprintf("L2CAP CID 0x%04x", cid), shortHex(p)
}

// attLabel names an ATT PDU and shows its handle and value.
func attLabel(p []byte) (label, detail string) {
	label = att.Opcode(p[0]).String()
	v, err := att.Parse(p)
	if err != nil {
		return label, "malformed: " + shortHex(p[1:])
	}
	switch v := v.(type) {
	case att.ErrorRsp:
		detail = fmt.Sprintf("0x%04x: %s", v.Handle, strings.TrimPrefix(v.Code.Error(), "ATT "))
	case att.ExchangeMTUReq:
		detail = fmt.Sprintf("MTU %d", v.MTU)
	case att.ExchangeMTURsp:
		detail = fmt.Sprintf("MTU %d", v.MTU)
	case att.ReadReq:
		detail = fmt.Sprintf("handle 0x%04x", v.Handle)
	case att.ReadRsp:
		detail = "value " + shortHex(v.Value)
	case att.ReadBlobReq:
		detail = fmt.Sprintf("handle 0x%04x offset %d", v.Handle, v.Offset)
	case att.ReadBlobRsp:
		detail = "value " + shortHex(v.Value)
	case att.WriteReq:
		detail = fmt.Sprintf("handle 0x%04x = %s", v.Handle, shortHex(v.Value))
	case att.WriteCmd:
		detail = fmt.Sprintf("handle 0x%04x = %s", v.Handle, shortHex(v.Value))
	case att.HandleValueNtf:
		detail = fmt.Sprintf("handle 0x%04x = %s", v.Handle, shortHex(v.Value))
	case att.HandleValueInd:
		detail = fmt.Sprintf("handle 0x%04x = %s", v.Handle, shortHex(v.Value))
	case att.ReadByGroupTypeReq:
		detail = fmt.Sprintf("0x%04x-0x%04x type %v", v.Start, v.End, v.Type)
	case att.ReadByTypeReq:
		detail = fmt.Sprintf("0x%04x-0x%04x type %v", v.Start, v.End, v.Type)
	case att.FindInfoReq:
		detail = fmt.Sprintf("0x%04x-0x%04x", v.Start, v.End)
	case att.ReadByGroupTypeRsp:
		detail = entries(len(v.Entries))
	case att.ReadByTypeRsp:
		detail = entries(len(v.Entries))
	case att.FindInfoRsp:
		detail = entries(len(v.Entries))
	}
	return label, detail
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// smpLabel names an SMP command and shows the fields a reader of a
// pairing trace looks at.
func smpLabel(p []byte) (label, detail string) {
	label = smp.Code(p[0]).String()
	v, err := smp.Parse(p)
	if err != nil {
		return label, "malformed: " + shortHex(p[1:])
	}
	params := func(pp smp.PairingParams) string {
		return fmt.Sprintf("IO %s, OOB %d, %s, key size %d, init %s, resp %s",
			pp.IOCap, pp.OOB, pp.AuthReq, pp.MaxKeySize, pp.InitKeyDist, pp.RespKeyDist)
	}
	switch v := v.(type) {
	case smp.PairingRequest:
		detail = params(v.PairingParams)
	case smp.PairingResponse:
		detail = params(v.PairingParams)
	case smp.PairingFailedPDU:
		detail = fmt.Sprintf("%s (0x%02x)", v.Reason, uint8(v.Reason))
	case smp.SecurityRequest:
		detail = v.AuthReq.String()
	case smp.EncryptionInformation:
		detail = "LTK " + v.LTK.String()
	case smp.CentralIdentification:
		detail = fmt.Sprintf("EDIV 0x%04x, Rand 0x%016x", v.EDIV, v.Rand)
	case smp.IdentityAddressInformation:
		detail = v.Addr.String()
	default:
		detail = shortHex(p[1:])
	}
	return label, detail
}

// signalingNames are the LE signaling commands (Vol 3 Part A §4).
var signalingNames = map[byte]string{
	0x01: "L2CAP Command Reject", 0x06: "L2CAP Disconnection Request", 0x07: "L2CAP Disconnection Response",
	0x12: "L2CAP Connection Parameter Update Request", 0x13: "L2CAP Connection Parameter Update Response",
	0x14: "L2CAP LE Credit Based Connection Request", 0x15: "L2CAP LE Credit Based Connection Response",
	0x16: "L2CAP Flow Control Credit",
}

func signalingName(code byte) string {
	if n, ok := signalingNames[code]; ok {
		return n
	}
	return fmt.Sprintf("L2CAP signaling 0x%02x", code)
}

// Mesh AD types (Mesh Profile §3.3.1) and provisioning PDU names (§5.4.1).
const (
	adPBADV       = 0x29
	adMeshMessage = 0x2A
	adMeshBeacon  = 0x2B
)

var provNames = []string{"Provisioning Invite", "Provisioning Capabilities", "Provisioning Start",
	"Provisioning Public Key", "Provisioning Input Complete", "Provisioning Confirmation",
	"Provisioning Random", "Provisioning Data", "Provisioning Complete", "Provisioning Failed"}

// meshLabel names a mesh advertising bearer PDU, or reports ok=false when
// the advertising data carries no mesh AD structure.
func meshLabel(advData []byte) (label, detail string, ok bool) {
	ads, err := pdu.ParseAD(advData)
	if err != nil {
		return "", "", false
	}
	if b, found := ads.Get(adMeshBeacon); found && len(b) > 0 {
		switch b[0] {
		case 0x00:
			return "Unprovisioned Device Beacon", "UUID " + shortHex(b[1:]), true
		case 0x01:
			return "Secure Network Beacon", shortHex(b[1:]), true
		case 0x02:
			return "Mesh Private Beacon", shortHex(b[1:]), true
		}
		return fmt.Sprintf("Mesh Beacon 0x%02x", b[0]), shortHex(b[1:]), true
	}
	if b, found := ads.Get(adMeshMessage); found {
		return "Mesh Network PDU", fmt.Sprintf("%d octets, encrypted and obfuscated", len(b)), true
	}
	if b, found := ads.Get(adPBADV); found {
		label, detail := pbadvLabel(b)
		return label, detail, true
	}
	return "", "", false
}

// pbadvLabel names a PB-ADV PDU: link ID, transaction number, then a
// Generic Provisioning PDU (Mesh Profile §5.2.1, §5.3).
func pbadvLabel(b []byte) (label, detail string) {
	if len(b) < 6 {
		return "PB-ADV (short)", shortHex(b)
	}
	link := binary.BigEndian.Uint32(b)
	detail = fmt.Sprintf("link 0x%08x, transaction %d", link, b[4])
	g := b[5:]
	switch g[0] & 0x03 {
	case 0x00: // Transaction Start
		if len(g) >= 5 {
			t := int(g[4] & 0x3F)
			if t < len(provNames) {
				return "PB-ADV " + provNames[t], detail
			}
			return fmt.Sprintf("PB-ADV Provisioning PDU 0x%02x", t), detail
		}
		return "PB-ADV Transaction Start", detail
	case 0x01:
		return "PB-ADV Transaction Ack", detail
	case 0x02:
		return fmt.Sprintf("PB-ADV Continuation %d", g[0]>>2), detail
	}
	switch g[0] >> 2 {
	case 0x00:
		return "PB-ADV Link Open", detail
	case 0x01:
		return "PB-ADV Link Ack", detail
	case 0x02:
		return "PB-ADV Link Close", detail
	}
	return "PB-ADV Bearer Control", detail
}
