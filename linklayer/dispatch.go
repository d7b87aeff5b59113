package linklayer

import (
	"sync"

	"go.uber.org/zap"

	"blesim/vhci/hci"
)

// handler answers one HCI command. Exactly one of sync and async is set.
//
// sync commands are answered with Command Complete carrying the returned
// parameters (status first). async commands are answered with Command
// Status carrying the returned status; when it is success, the returned
// func (if any) runs right after the Command Status was sent, so the
// events it produces follow it, as on a real controller.
type handler struct {
	op hci.Opcode
	// plen is the exact parameter length, or -1 when variable (the handler
	// then checks it).
	plen  int
	sync  func(c *Controller, p []byte) []byte
	async func(c *Controller, p []byte) (hci.Status, func())
}

// sharedHandlers is built once: the table is immutable, so every
// controller uses the same one (it is most of an idle controller's memory).
var sharedHandlers = sync.OnceValue(handlerTable)

// handlerTable is the controller's command table. The supported-commands
// mask and the LE features come from it, so a bit is set only where a
// handler exists.
func handlerTable() map[hci.Opcode]*handler {
	m := make(map[hci.Opcode]*handler)
	for _, group := range [][]handler{baseHandlers(), advHandlers(), scanHandlers(), connHandlers()} {
		for i := range group {
			h := group[i]
			if _, dup := m[h.op]; dup {
				panic("linklayer: duplicate handler for " + h.op.String())
			}
			m[h.op] = &h
		}
	}
	return m
}

// supportedOpcodes lists the opcodes with handlers.
func (c *Controller) supportedOpcodes() []hci.Opcode {
	ops := make([]hci.Opcode, 0, len(c.handlers))
	for op := range c.handlers {
		ops = append(ops, op)
	}
	return ops
}

// Supports reports whether the controller has a handler for op.
func (c *Controller) Supports(op hci.Opcode) bool { _, ok := c.handlers[op]; return ok }

// command dispatches one HCI command from the host
// (Core v5.4 Vol 4 Part E §4.4, §4.5).
func (c *Controller) command(cmd hci.Command) {
	if len(cmd) < hci.CommandHeaderLen {
		// Not even an opcode: nothing to answer to. A real UART controller
		// would lose sync; we drop it loudly.
		c.log.Warn("truncated HCI command dropped", zap.Binary("packet", cmd))
		return
	}
	op := cmd.Opcode()
	h := c.handlers[op]
	if h == nil {
		c.log.Debug("unknown HCI command", zap.Stringer("opcode", op))
		c.sendEvent(hci.NewCommandStatus(hci.StatusUnknownCommand, 1, op))
		return
	}
	p := cmd.Params()
	bad := cmd.Validate() != nil || (h.plen >= 0 && len(p) != h.plen)
	if bad {
		c.log.Warn("HCI command with bad parameter length",
			zap.Stringer("opcode", op), zap.Int("want", h.plen), zap.Int("got", len(p)), zap.Int("packet_len", len(cmd)))
	}
	if h.sync != nil {
		var ret []byte
		if bad {
			ret = []byte{byte(hci.StatusInvalidParameters)}
		} else {
			ret = h.sync(c, p)
		}
		c.sendEvent(hci.NewCommandComplete(1, op, ret))
		return
	}
	if bad {
		c.sendEvent(hci.NewCommandStatus(hci.StatusInvalidParameters, 1, op))
		return
	}
	st, then := h.async(c, p)
	c.sendEvent(hci.NewCommandStatus(st, 1, op))
	if st == hci.StatusSuccess && then != nil {
		then()
	}
}

// status returns a one-byte return parameter list.
func status(s hci.Status) []byte { return []byte{byte(s)} }
