package config

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/mesh/access"
	mcrypto "blesim/hosts/mesh/crypto"
	"blesim/hosts/mesh/stack"
	"blesim/hosts/mesh/transport"
	"blesim/linklayer/sim"
)

// FuzzServer feeds arbitrary access messages, secured with the device
// key, to the Configuration Server of a provisioned two-element node:
// every opcode and parameter shape. It must never panic, and the node's
// state must stay consistent (Composition Data still encodes and decodes,
// a provisioned node still has its state).
func FuzzServer(f *testing.F) {
	seeds := []access.Message{
		CompositionDataGet(0), CompositionDataGet(0xFF), AppKeyAdd(0, 1, [16]byte{1}), AppKeyAdd(0x456, 1, [16]byte{1}),
		access.NewMessage(OpAppKeyDelete, PackKeyIndexes(0, 1)), access.NewMessage(OpAppKeyGet, []byte{0, 0}),
		ModelAppBind(0x0100, 1, access.SIGModel(0x1000)), ModelAppUnbind(0x0101, 1, access.SIGModel(0x1000)),
		ModelSubscriptionAdd(0x0100, 0xC000, access.SIGModel(0x1000)), DefaultTTLSet(7), RelaySet(true, 0x11),
		BeaconSet(false), access.NewMessage(OpModelPublicationSet, []byte{0, 1, 1, 0, 1, 0, 5, 0, 0, 0, 0x10}),
		access.NewMessage(OpSIGModelAppGet, []byte{0, 1, 0, 0x10}), access.NewMessage(OpNetKeyGet), NodeReset(),
	}
	for _, m := range seeds {
		f.Add(m.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sched := sim.New(1)
		var replies [][]byte
		st, err := stack.New(stack.Config{Log: zap.NewNop(), Sched: sched, Locations: []uint16{0x100, 0x101},
			Send: func(ad []byte) { replies = append(replies, ad) }})
		require.NoError(t, err)
		srv, err := NewServer(zap.NewNop(), st)
		require.NoError(t, err)
		for i := range 2 {
			require.NoError(t, st.AddModel(i, &stack.Model{ID: access.SIGModel(access.ModelOnOffServer),
				Handle: func(*stack.Context, access.Message) bool { return false }}))
		}
		dev := mcrypto.Key{9}
		require.NoError(t, st.Provision(0x0100, 0, mcrypto.Key{1}, 0, 0, dev, [16]byte{}))
		require.Equal(t, stack.StatusSuccess, st.AddAppKey(0, 1, mcrypto.Key{2}))
		m, err := access.Parse(b)
		if err != nil {
			return
		}
		ctx := &stack.Context{Stack: st, Model: st.Model(0, access.SIGModel(access.ModelConfigServer)), Src: 0x0001,
			Dst: 0x0100, TTL: 5, Subnet: st.Net.Subnet(0), Key: transport.DevKey(dev)}
		srv.handle(ctx, m)
		sched.RunFor(2 * sim.Second)
		_, err = access.ParseComposition(st.Composition().Marshal())
		require.NoError(t, err)
		if st.Provisioned() {
			require.NotNil(t, st.State())
		}
	})
}
