package generic

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/transport"
)

// Client is a Generic OnOff Client (Mesh Model §3.4.1) on one element. Its
// messages use an AppKey bound to it; Set and Get wait for the server's
// Status (sent again after the Requests timeout).
type Client struct {
	st    *stack.Stack
	log   *zap.Logger
	model *stack.Model
	*stack.Requests
	tid uint8
	// TTL of the messages (default: the Default TTL).
	TTL uint8
	// OnStatus, when set, sees Status messages no request waited for
	// (publications).
	OnStatus func(src uint16, s Status)
}

// NewClient adds a Generic OnOff Client to element elem of st.
func NewClient(log *zap.Logger, st *stack.Stack, elem int) (*Client, error) {
	c := &Client{st: st, log: log, Requests: stack.NewRequests(st.Scheduler()), TTL: transport.UseDefaultTTL}
	c.model = &stack.Model{ID: access.SIGModel(access.ModelOnOffClient), Handle: c.handle}
	return c, st.AddModel(elem, c.model)
}

// Model is the client's model instance.
func (c *Client) Model() *stack.Model { return c.model }

func (c *Client) handle(ctx *stack.Context, m access.Message) bool {
	if m.Opcode != OpOnOffStatus {
		return false
	}
	if !c.Deliver(ctx.Src, m) && c.OnStatus != nil {
		if s, err := ParseStatus(m.Params); err == nil {
			c.OnStatus(ctx.Src, s)
		}
	}
	return true
}

func (c *Client) send(dst, appIdx uint16, m access.Message) error {
	return c.st.Send(stack.Outgoing{Element: c.model.Element(), Dst: dst, AppIndex: appIdx, TTL: c.TTL}, m, nil)
}

func (c *Client) request(dst, appIdx uint16, m access.Message, done func(Status, error)) {
	c.Start(dst, OpOnOffStatus, func() error { return c.send(dst, appIdx, m) }, func(r access.Message, err error) {
		if err != nil {
			done(Status{}, err)
			return
		}
		done(ParseStatus(r.Params))
	})
}

// Get reads the OnOff state of the server at dst.
func (c *Client) Get(dst, appIdx uint16, done func(Status, error)) {
	c.request(dst, appIdx, access.NewMessage(OpOnOffGet), done)
}

// Set sets the OnOff state of the server at dst (a new transaction: the
// TID advances; retries repeat it) and waits for its Status.
func (c *Client) Set(dst, appIdx uint16, on bool, done func(Status, error)) {
	c.tid++
	c.request(dst, appIdx, access.NewMessage(OpOnOffSet, Set{OnOff: on, TID: c.tid}.Marshal()), done)
}

// SetUnacknowledged sends Generic OnOff Set Unacknowledged.
func (c *Client) SetUnacknowledged(dst, appIdx uint16, on bool) error {
	c.tid++
	return c.send(dst, appIdx, access.NewMessage(OpOnOffSetUnack, Set{OnOff: on, TID: c.tid}.Marshal()))
}
