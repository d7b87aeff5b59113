package access

import (
	"encoding/binary"
	"fmt"
)

// Features bits of Composition Data page 0 (§4.2.2.1).
const (
	FeatureRelay    uint16 = 1 << 0
	FeatureProxy    uint16 = 1 << 1
	FeatureFriend   uint16 = 1 << 2
	FeatureLowPower uint16 = 1 << 3
)

// Element is one element of a node's composition.
type Element struct {
	Location uint16 // GATT Namespace Descriptor (0x0000 unknown, 0x0100 first, ...)
	Models   []ModelID
}

// Composition is Composition Data page 0 (§4.2.2.1).
type Composition struct {
	CID, PID, VID uint16 // company, product, version identifiers
	CRPL          uint16 // replay protection list entries the node keeps
	Features      uint16
	Elements      []Element
}

// Marshal encodes page 0 (without the Page octet of the status
// message).
func (c Composition) Marshal() []byte {
	b := make([]byte, 0, 10+8*len(c.Elements))
	for _, v := range []uint16{c.CID, c.PID, c.VID, c.CRPL, c.Features} {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	for _, e := range c.Elements {
		var sig, vnd []ModelID
		for _, m := range e.Models {
			if m.Vendor {
				vnd = append(vnd, m)
			} else {
				sig = append(sig, m)
			}
		}
		b = binary.LittleEndian.AppendUint16(b, e.Location)
		b = append(b, byte(len(sig)), byte(len(vnd)))
		for _, m := range sig {
			b = m.Append(b)
		}
		for _, m := range vnd {
			b = m.Append(b)
		}
	}
	return b
}

// ParseComposition decodes page 0.
func ParseComposition(b []byte) (Composition, error) {
	var c Composition
	if len(b) < 10 {
		return c, fmt.Errorf("access: Composition Data of %d octets (at least 10)", len(b))
	}
	u := func(i int) uint16 { return binary.LittleEndian.Uint16(b[i:]) }
	c.CID, c.PID, c.VID, c.CRPL, c.Features = u(0), u(2), u(4), u(6), u(8)
	b = b[10:]
	for len(b) > 0 {
		if len(b) < 4 {
			return c, fmt.Errorf("access: truncated element in Composition Data")
		}
		e := Element{Location: binary.LittleEndian.Uint16(b)}
		ns, nv := int(b[2]), int(b[3])
		b = b[4:]
		if len(b) < 2*ns+4*nv {
			return c, fmt.Errorf("access: element with %d SIG and %d vendor models in %d octets", ns, nv, len(b))
		}
		for range ns {
			m, _ := ParseModelID(b[:2])
			e.Models = append(e.Models, m)
			b = b[2:]
		}
		for range nv {
			m, _ := ParseModelID(b[:4])
			e.Models = append(e.Models, m)
			b = b[4:]
		}
		c.Elements = append(c.Elements, e)
	}
	return c, nil
}
