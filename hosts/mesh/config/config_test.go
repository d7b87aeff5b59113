package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/mesh/access"
	"blesim/hosts/mesh/config"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/generic"
	"blesim/hosts/mesh/internal/meshtest"
	"blesim/hosts/mesh/stack"
	"blesim/linklayer/sim"
)

func quiet(t *testing.T) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

const node = 0x0100

var onOffServer = access.SIGModel(access.ModelOnOffServer)

// statusOf runs a status request to completion.
func statusOf(t *testing.T, n *meshtest.Net, req func(done func(stack.Status, error))) stack.Status {
	t.Helper()
	var got *stack.Status
	var gerr error
	req(func(s stack.Status, err error) { got, gerr = &s, err })
	n.Wait(30*sim.Second, func() bool { return got != nil })
	require.NotNil(t, got, "no outcome")
	require.NoError(t, gerr)
	return *got
}

// TestCompositionData (MESH/NODE/CFG/COMP/BV-01-C): page 0 as the node
// declares it, fetched over the network (a segmented status).
func TestCompositionData(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{Elements: 2})
	var comp *access.Composition
	n.Client.Cfg.CompositionData(node, 0, func(c access.Composition, err error) {
		require.NoError(t, err)
		comp = &c
	})
	n.Wait(10*sim.Second, func() bool { return comp != nil })
	require.NotNil(t, comp)
	require.Equal(t, nd.Stack.Composition(), *comp)
	require.Equal(t, uint16(0x05F1), comp.CID)
	require.Equal(t, access.FeatureRelay, comp.Features)
	require.Len(t, comp.Elements, 2)
	require.Equal(t, []access.ModelID{access.SIGModel(0x0000), onOffServer}, comp.Elements[0].Models)
	require.Equal(t, []access.ModelID{onOffServer}, comp.Elements[1].Models)
}

// TestAppKeys (MESH/NODE/CFG/AKL): AppKey Add, the same again, another
// key under the same index, an unknown NetKey Index, AppKey Get, Delete.
func TestAppKeys(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	add := func(net, app uint16, key mcrypto.Key) stack.Status {
		return statusOf(t, n, func(done func(stack.Status, error)) { n.Client.Cfg.AppKeyAdd(node, 0, app, key, done); _ = net })
	}
	cases := []struct {
		name string
		net  uint16
		app  uint16
		key  mcrypto.Key
		want stack.Status
	}{
		{"MESH/NODE/CFG/AKL/BV-01-C add", 0, 0x123, meshtest.AppKey, stack.StatusSuccess},
		{"MESH/NODE/CFG/AKL/BV-01-C add again", 0, 0x123, meshtest.AppKey, stack.StatusSuccess},
		{"MESH/NODE/CFG/AKL/BI-01-C another key, same index", 0, 0x123, mcrypto.Key{1}, stack.StatusKeyIndexAlreadyStored},
		{"second key", 0, 0x124, mcrypto.Key{2}, stack.StatusSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, add(tc.net, tc.app, tc.key)) })
	}
	t.Run("MESH/NODE/CFG/AKL/BI-02-C unknown NetKey Index", func(t *testing.T) {
		var got access.Message
		n.Client.Cfg.Request(node, 0, config.AppKeyAdd(0x456, 0x001, mcrypto.Key{3}), config.OpAppKeyStatus,
			func(m access.Message, err error) { require.NoError(t, err); got = m })
		n.Wait(10*sim.Second, func() bool { return got.Opcode != 0 })
		s, err := config.ParseAppKeyStatus(got.Params)
		require.NoError(t, err)
		require.Equal(t, config.AppKeyStatus{Status: stack.StatusInvalidNetKeyIndex, Keys: config.KeyPair{Net: 0x456, App: 0x001}}, s)
	})
	t.Run("MESH/NODE/CFG/AKL/BV-02-C AppKey Get", func(t *testing.T) {
		var got access.Message
		n.Client.Cfg.Request(node, 0, access.NewMessage(config.OpAppKeyGet, []byte{0, 0}), config.OpAppKeyList,
			func(m access.Message, err error) { require.NoError(t, err); got = m })
		n.Wait(10*sim.Second, func() bool { return got.Opcode != 0 })
		require.Equal(t, byte(0), got.Params[0])
		idx, err := config.UnpackKeyIndexes(got.Params[3:])
		require.NoError(t, err)
		require.Equal(t, []uint16{0x123, 0x124}, idx)
	})
	t.Run("MESH/NODE/CFG/AKL/BV-03-C AppKey Delete", func(t *testing.T) {
		var got access.Message
		n.Client.Cfg.Request(node, 0, access.NewMessage(config.OpAppKeyDelete, config.PackKeyIndexes(0, 0x124)), config.OpAppKeyStatus,
			func(m access.Message, err error) { require.NoError(t, err); got = m })
		n.Wait(10*sim.Second, func() bool { return got.Opcode != 0 })
		require.Equal(t, byte(0), got.Params[0])
		require.Equal(t, []uint16{0x123}, nd.Stack.AppKeyIndexes(0))
	})
	require.NotEmpty(t, nd.Events)
	require.Equal(t, config.OpAppKeyAdd, nd.Events[0].Opcode)
}

// TestModelAppBind (MESH/NODE/CFG/MAKL): binding the OnOff Server, and the
// statuses of every wrong request.
func TestModelAppBind(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	require.Equal(t, stack.StatusSuccess, statusOf(t, n, func(d func(stack.Status, error)) {
		n.Client.Cfg.AppKeyAdd(node, 0, 0, meshtest.AppKey, d)
	}))
	for _, tc := range []struct {
		name  string
		elem  uint16
		app   uint16
		model access.ModelID
		want  stack.Status
	}{
		{"MESH/NODE/CFG/MAKL/BV-01-C bind", node, 0, onOffServer, stack.StatusSuccess},
		{"MESH/NODE/CFG/MAKL/BI-01-C unknown AppKey", node, 5, onOffServer, stack.StatusInvalidAppKeyIndex},
		{"MESH/NODE/CFG/MAKL/BI-02-C no such model", node, 0, access.SIGModel(0x1300), stack.StatusInvalidModel},
		{"MESH/NODE/CFG/MAKL/BI-03-C no such element", node + 1, 0, onOffServer, stack.StatusInvalidAddress},
		{"MESH/NODE/CFG/MAKL/BI-04-C Configuration Server", node, 0, access.SIGModel(0), stack.StatusCannotBind},
		{"vendor model", node, 0, access.VendorModel(0x05F1, 1), stack.StatusInvalidModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, statusOf(t, n, func(d func(stack.Status, error)) {
				n.Client.Cfg.ModelAppBind(node, 0, tc.elem, tc.app, tc.model, d)
			}))
		})
	}
	require.Equal(t, []uint16{0}, nd.OnOff.Model().AppKeys())
	t.Run("MESH/NODE/CFG/MAKL/BV-02-C SIG Model App Get and unbind", func(t *testing.T) {
		var got access.Message
		n.Client.Cfg.Request(node, 0, access.NewMessage(config.OpSIGModelAppGet, []byte{0x00, 0x01, 0x00, 0x10}),
			config.OpSIGModelAppList, func(m access.Message, err error) { require.NoError(t, err); got = m })
		n.Wait(10*sim.Second, func() bool { return got.Opcode != 0 })
		require.Equal(t, []byte{0, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00}, got.Params)
		got = access.Message{}
		n.Client.Cfg.Request(node, 0, config.ModelAppUnbind(node, 0, onOffServer), config.OpModelAppStatus,
			func(m access.Message, err error) { require.NoError(t, err); got = m })
		n.Wait(10*sim.Second, func() bool { return got.Opcode != 0 })
		require.Equal(t, byte(0), got.Params[0])
		require.Empty(t, nd.OnOff.Model().AppKeys())
	})
}

func request(t *testing.T, n *meshtest.Net, m access.Message, status access.Opcode) (access.Message, error) {
	t.Helper()
	var got access.Message
	var gerr error
	done := false
	n.Client.Cfg.Request(node, 0, m, status, func(r access.Message, err error) { got, gerr, done = r, err, true })
	n.Wait(60*sim.Second, func() bool { return done })
	require.True(t, done)
	return got, gerr
}

// TestStates covers the one-octet states: Default TTL (MESH/NODE/CFG/DTTL),
// Relay (CFGR), Beacon (SNBP), Network Transmit (NTX), GATT Proxy and
// Friend (not supported).
func TestStates(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	for _, tc := range []struct {
		name   string
		req    access.Message
		status access.Opcode
		want   []byte // nil: no answer (prohibited value)
	}{
		{"MESH/NODE/CFG/DTTL/BV-01-C get", access.NewMessage(config.OpDefaultTTLGet), config.OpDefaultTTLStatus, []byte{5}},
		{"MESH/NODE/CFG/DTTL/BV-01-C set 0x7F", config.DefaultTTLSet(0x7F), config.OpDefaultTTLStatus, []byte{0x7F}},
		{"MESH/NODE/CFG/DTTL/BV-01-C set 0", config.DefaultTTLSet(0), config.OpDefaultTTLStatus, []byte{0}},
		{"MESH/NODE/CFG/DTTL/BI-01-C set 1 is prohibited", config.DefaultTTLSet(1), config.OpDefaultTTLStatus, nil},
		{"MESH/NODE/CFG/DTTL/BI-01-C set 0x80 is prohibited", config.DefaultTTLSet(0x80), config.OpDefaultTTLStatus, nil},
		{"set 3", config.DefaultTTLSet(3), config.OpDefaultTTLStatus, []byte{3}},
		{"MESH/NODE/CFG/CFGR/BV-01-C relay get", access.NewMessage(config.OpRelayGet), config.OpRelayStatus, []byte{0, 0x0A}},
		{"MESH/NODE/CFG/CFGR/BV-01-C relay on", config.RelaySet(true, 0x21), config.OpRelayStatus, []byte{1, 0x21}},
		{"MESH/NODE/CFG/CFGR/BI-01-C relay 0x02 is prohibited", access.NewMessage(config.OpRelaySet, []byte{2, 0}), config.OpRelayStatus, nil},
		{"MESH/NODE/CFG/SNBP/BV-01-C beacon get", access.NewMessage(config.OpBeaconGet), config.OpBeaconStatus, []byte{1}},
		{"MESH/NODE/CFG/SNBP/BV-01-C beacon off", config.BeaconSet(false), config.OpBeaconStatus, []byte{0}},
		{"MESH/NODE/CFG/SNBP/BI-01-C beacon 0x02 is prohibited", access.NewMessage(config.OpBeaconSet, []byte{2}), config.OpBeaconStatus, nil},
		{"MESH/NODE/CFG/NTX/BV-01-C network transmit", access.NewMessage(config.OpNetworkTransmitSet, []byte{0x43}), config.OpNetworkTransmitStatus, []byte{0x43}},
		{"MESH/NODE/CFG/GPXY/BV-01-C GATT Proxy not supported", access.NewMessage(config.OpGATTProxyGet), config.OpGATTProxyStatus, []byte{2}},
		{"MESH/NODE/CFG/CFGF/BV-01-C Friend not supported", access.NewMessage(config.OpFriendGet), config.OpFriendStatus, []byte{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := request(t, n, tc.req, tc.status)
			if tc.want == nil {
				require.ErrorIs(t, err, stack.ErrNoResponse)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Params)
		})
	}
	require.Equal(t, uint8(3), nd.Stack.DefaultTTL())
	require.False(t, nd.Stack.Beacon())
	r, rt := nd.Stack.Relay()
	require.Equal(t, stack.RelayEnabled, r)
	require.Equal(t, uint8(0x21), rt)
	require.True(t, nd.Stack.Net.Relay)
}

// TestNodeReset (MESH/NODE/CFG/RST/BV-01-C): the node answers Node Reset
// Status, then forgets its keys and leaves the network.
func TestNodeReset(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	reset := false
	var rerr error
	n.Client.Cfg.NodeReset(node, 0, func(err error) { reset, rerr = true, err })
	n.Wait(10*sim.Second, func() bool { return reset })
	require.NoError(t, rerr)
	n.Run(sim.Second)
	require.False(t, nd.Stack.Provisioned())
	require.Zero(t, nd.Stack.Address())
	// It does not answer any more.
	_, err := request(t, n, access.NewMessage(config.OpDefaultTTLGet), config.OpDefaultTTLStatus)
	require.ErrorIs(t, err, stack.ErrNoResponse)
}

// TestSubscriptionAndPublication (MESH/NODE/CFG/SL, MESH/NODE/CFG/MP): a
// subscribed OnOff Server takes a group Set; with a publication it
// publishes its status on every change.
func TestSubscriptionAndPublication(t *testing.T) {
	n := meshtest.New(t, quiet(t))
	nd := n.AddNode(node, meshtest.NodeConfig{})
	cfg := n.Client.Cfg
	require.Equal(t, stack.StatusSuccess, statusOf(t, n, func(d func(stack.Status, error)) { cfg.AppKeyAdd(node, 0, 0, meshtest.AppKey, d) }))
	require.Equal(t, stack.StatusSuccess, statusOf(t, n, func(d func(stack.Status, error)) { cfg.ModelAppBind(node, 0, node, 0, onOffServer, d) }))
	require.Equal(t, stack.StatusSuccess, statusOf(t, n, func(d func(stack.Status, error)) {
		cfg.ModelSubscriptionAdd(node, 0, node, 0xC001, onOffServer, d)
	}))
	require.Equal(t, stack.StatusInvalidAddress, statusOf(t, n, func(d func(stack.Status, error)) {
		cfg.ModelSubscriptionAdd(node, 0, node, 0x0005, onOffServer, d)
	}), "MESH/NODE/CFG/SL/BI-01-C a unicast address cannot be subscribed")
	require.Equal(t, []uint16{0xC001}, nd.OnOff.Model().Subscriptions())

	// Publication Set: to the client, AppKey 0, TTL 5.
	pub := []byte{0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 5, 0, 0, 0x00, 0x10}
	got, err := request(t, n, access.NewMessage(config.OpModelPublicationSet, pub), config.OpModelPublicationStatus)
	require.NoError(t, err)
	require.Equal(t, append([]byte{0}, pub...), got.Params, "MESH/NODE/CFG/MP/BV-01-C")
	got, err = request(t, n, access.NewMessage(config.OpModelPublicationGet, []byte{0x00, 0x01, 0x00, 0x10}), config.OpModelPublicationStatus)
	require.NoError(t, err)
	require.Equal(t, append([]byte{0}, pub...), got.Params)

	var published []bool
	n.Client.OnOff.OnStatus = func(src uint16, s generic.Status) { published = append(published, s.Present) }
	require.NoError(t, n.Client.OnOff.SetUnacknowledged(0xC001, 0, true))
	n.Run(2 * sim.Second)
	require.True(t, nd.OnOff.OnOff(), "the group Set reached the subscribed server")
	require.Equal(t, []bool{true}, published)
}
