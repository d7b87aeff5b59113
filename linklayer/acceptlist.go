package linklayer

import "blesim/vhci/hci"

// acceptEntry is one Filter Accept List entry (Core v5.4 Vol 6 Part B
// §4.3.1). Type 0xFF means anonymous advertisements.
type acceptEntry struct {
	typ  uint8
	addr hci.BDAddr
}

// acceptListInUse reports whether the list may not be changed now: it is
// in use by advertising, scanning or initiating (Vol 4 Part E §7.8.16).
// Directed advertising ignores Advertising_Filter_Policy (§7.8.5), so it
// does not use the list.
func (c *Controller) acceptListInUse() bool {
	return (c.adv.enabled && !c.adv.directed() && c.adv.params.filterPolicy != 0) ||
		(c.scan.enabled && c.scan.params.filterPolicy&1 != 0) ||
		(c.init.active && c.init.filterPolicy != 0)
}

// onAcceptList reports whether (typ, addr) is on the list.
func (c *Controller) onAcceptList(typ uint8, addr hci.BDAddr) bool {
	for _, e := range c.acceptList {
		if e.typ == typ&1 && e.addr == addr {
			return true
		}
	}
	return false
}

func (c *Controller) cmdClearAcceptList(p []byte) []byte {
	if c.acceptListInUse() {
		return status(hci.StatusCommandDisallowed)
	}
	c.acceptList = nil
	return status(hci.StatusSuccess)
}

// acceptEntryParam decodes Address_Type and Address; the address is
// ignored for anonymous advertisements (Vol 4 Part E §7.8.16, §7.8.17).
func acceptEntryParam(p []byte) (typ uint8, a hci.BDAddr) {
	typ = p[0]
	if typ != 0xFF {
		copy(a[:], p[1:7])
	}
	return typ, a
}

func (c *Controller) cmdAddToAcceptList(p []byte) []byte {
	typ, a := acceptEntryParam(p)
	if typ > 1 && typ != 0xFF {
		return status(hci.StatusInvalidParameters)
	}
	if c.acceptListInUse() {
		return status(hci.StatusCommandDisallowed)
	}
	for _, e := range c.acceptList {
		if e.typ == typ && e.addr == a {
			return status(hci.StatusSuccess)
		}
	}
	if len(c.acceptList) >= acceptListSize {
		return status(hci.StatusMemoryCapacityExceeded)
	}
	c.acceptList = append(c.acceptList, acceptEntry{typ: typ, addr: a})
	return status(hci.StatusSuccess)
}

func (c *Controller) cmdRemoveFromAcceptList(p []byte) []byte {
	typ, a := acceptEntryParam(p)
	if typ > 1 && typ != 0xFF {
		return status(hci.StatusInvalidParameters)
	}
	if c.acceptListInUse() {
		return status(hci.StatusCommandDisallowed)
	}
	for i, e := range c.acceptList {
		if e.typ == typ && e.addr == a {
			c.acceptList = append(c.acceptList[:i], c.acceptList[i+1:]...)
			break
		}
	}
	return status(hci.StatusSuccess)
}
