package config

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/transport"
)

// Client is the Configuration Client model (§4.4.2) on the primary
// element of a provisioner's node. Requests go to the primary address of
// a node the stack knows (stack.AddRemote), secured with its device key,
// and wait for the matching status; each is sent again after the
// Requests timeout and fails with stack.ErrNoResponse after the last
// attempt.
type Client struct {
	st  *stack.Stack
	log *zap.Logger
	*stack.Requests
	// TTL of requests (default: the Default TTL).
	TTL uint8
	// OnStatus, when set, sees status messages no request waited for.
	OnStatus func(src uint16, m access.Message)
}

// NewClient adds the Configuration Client to the primary element of st.
func NewClient(log *zap.Logger, st *stack.Stack) (*Client, error) {
	c := &Client{st: st, log: log, Requests: stack.NewRequests(st.Scheduler()), TTL: transport.UseDefaultTTL}
	err := st.AddModel(0, &stack.Model{ID: access.SIGModel(access.ModelConfigClient), DevKey: true, Handle: c.handle})
	return c, err
}

func (c *Client) handle(ctx *stack.Context, m access.Message) bool {
	if !c.Deliver(ctx.Src, m) && c.OnStatus != nil {
		c.OnStatus(ctx.Src, m)
	}
	return true
}

// Request sends m to dst with dst's device key on subnet netIdx and
// waits for a message with opcode status from it.
func (c *Client) Request(dst, netIdx uint16, m access.Message, status access.Opcode, done func(access.Message, error)) {
	c.Start(dst, status, func() error {
		return c.st.Send(stack.Outgoing{Dst: dst, DevKey: true, NetIndex: netIdx, TTL: c.TTL}, m, nil)
	}, done)
}

// CompositionData reads Composition Data page 0 of node dst.
func (c *Client) CompositionData(dst, netIdx uint16, done func(access.Composition, error)) {
	c.Request(dst, netIdx, CompositionDataGet(0), OpCompositionDataStatus, func(m access.Message, err error) {
		if err != nil {
			done(access.Composition{}, err)
			return
		}
		_, comp, err := ParseCompositionDataStatus(m.Params)
		done(comp, err)
	})
}

// AppKeyAdd adds an AppKey to node dst; done gets the status code.
func (c *Client) AppKeyAdd(dst, netIdx, appIdx uint16, key [16]byte, done func(stack.Status, error)) {
	c.Request(dst, netIdx, AppKeyAdd(netIdx, appIdx, key), OpAppKeyStatus, func(m access.Message, err error) {
		if err != nil {
			done(0, err)
			return
		}
		s, err := ParseAppKeyStatus(m.Params)
		done(s.Status, err)
	})
}

// ModelAppBind binds AppKey appIdx to a model on element elem of node
// dst.
func (c *Client) ModelAppBind(dst, netIdx, elem, appIdx uint16, model access.ModelID, done func(stack.Status, error)) {
	c.Request(dst, netIdx, ModelAppBind(elem, appIdx, model), OpModelAppStatus, func(m access.Message, err error) {
		if err != nil {
			done(0, err)
			return
		}
		s, err := ParseModelAppStatus(m.Params)
		done(s.Status, err)
	})
}

// ModelSubscriptionAdd subscribes a model on element elem of node dst to
// group address addr.
func (c *Client) ModelSubscriptionAdd(dst, netIdx, elem, addr uint16, model access.ModelID, done func(stack.Status, error)) {
	c.Request(dst, netIdx, ModelSubscriptionAdd(elem, addr, model), OpModelSubscriptionStatus, func(m access.Message, err error) {
		if err != nil {
			done(0, err)
			return
		}
		s, err := ParseModelSubscriptionStatus(m.Params)
		done(s.Status, err)
	})
}

// DefaultTTL sets node dst's Default TTL (ttl ≤ 127) or reads it (ttl
// 0xFF); done gets the node's value.
func (c *Client) DefaultTTL(dst, netIdx uint16, ttl uint8, done func(uint8, error)) {
	m := access.NewMessage(OpDefaultTTLGet)
	if ttl != 0xFF {
		m = DefaultTTLSet(ttl)
	}
	c.Request(dst, netIdx, m, OpDefaultTTLStatus, func(m access.Message, err error) {
		if err == nil && len(m.Params) != 1 {
			err = lenErr("Default TTL Status", m.Params, 1)
		}
		if err != nil {
			done(0, err)
			return
		}
		done(m.Params[0], nil)
	})
}

// NodeReset removes node dst from the network; done reports the Node
// Reset Status.
func (c *Client) NodeReset(dst, netIdx uint16, done func(error)) {
	c.Request(dst, netIdx, NodeReset(), OpNodeResetStatus, func(_ access.Message, err error) { done(err) })
}
