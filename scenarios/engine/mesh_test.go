package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/hosts/meshnode"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/world"
)

const meshWorld = `seed: 9
devices:
  - name: Hub
    profile: mesh-provisioner
    mesh:
      targets:
        - uuid: "00112233445566778899aabbccddeeff"
          static_oob: "hex:000102030405060708090a0b0c0d0e0f"
  - name: Lamp
    profile: mesh-node
    position: [2, 0]
    mesh:
      uuid: "00112233-4455-6677-8899-aabbccddeeff"
      static_oob: "hex:000102030405060708090a0b0c0d0e0f"
`

// TestMeshThroughControllers: the built-in provisioner provisions (static
// OOB) and configures a node over PB-ADV through real virtual controllers
// on the simulated air, then switches its Generic OnOff Server on.
func TestMeshThroughControllers(t *testing.T) {
	w, err := world.Parse("mesh.yaml", []byte(meshWorld))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t), StateDir: t.TempDir()})
	require.NoError(t, err)
	defer ew.Close()
	hub, lamp := ew.Device("Hub"), ew.Device("Lamp")
	// The lamp's address is random static (the world's default): its
	// advertising must say so (TxAdd = 1).
	lampPDUs, publicPDUs := 0, 0
	ew.OnAir(func(tx *radio.Reception, _ *radio.Port) {
		if tx.Channel < 37 {
			return
		}
		p, err := pdu.ParseAdv(tx.PDU)
		if err != nil || p.AdvA() != lamp.Spec.Address {
			return
		}
		lampPDUs++
		if !p.TxAdd() {
			publicPDUs++
		}
	})
	ew.Start()
	has := func(d *Device, match func(meshnode.Event) bool) bool {
		for _, e := range d.MeshEvents {
			if match(e) {
				return true
			}
		}
		return false
	}
	configured := func(e meshnode.Event) bool { _, ok := e.(meshnode.NodeConfigured); return ok }
	ew.Sched.RunWhile(sim.Time(60*sim.Second), func() bool { return !has(hub, configured) })
	require.True(t, has(hub, configured), "hub events: %v", hub.MeshEvents)
	var prov meshnode.Provisioned
	require.True(t, has(lamp, func(e meshnode.Event) bool {
		p, ok := e.(meshnode.Provisioned)
		prov = p
		return ok
	}), "lamp events: %v", lamp.MeshEvents)
	require.Equal(t, "A1B2", prov.Route, "no OOB public key, static OOB")

	p := hub.Host.(*meshnode.Provisioner)
	acked := false
	p.SetOnOff(prov.Address, true, func(ok bool, err error) { acked = ok && err == nil })
	ew.Sched.RunWhile(ew.Sched.Now().Add(10*sim.Second), func() bool { return !acked })
	require.True(t, acked, "the OnOff Set was acknowledged")
	require.True(t, has(lamp, func(e meshnode.Event) bool { c, ok := e.(meshnode.OnOffChanged); return ok && c.On }))
	require.Greater(t, lampPDUs, 10)
	require.Zero(t, publicPDUs, "the lamp advertised its random address as public")
}

// TestMeshOutputOOBThroughCtl: route B3 — the node blinks/shows a number,
// the provisioner's user types it with `blesim ctl Hub oob UUID VALUE`.
func TestMeshOutputOOBThroughCtl(t *testing.T) {
	w, err := world.Parse("mesh.yaml", []byte(`seed: 4
devices:
  - name: Hub
    profile: mesh-provisioner
    mesh:
      targets:
        - uuid: "0f0e0d0c-0b0a-4908-8706-050403020100"
  - name: Blinky
    profile: mesh-node
    position: [2, 0]
    mesh:
      uuid: "0f0e0d0c-0b0a-4908-8706-050403020100"
      output_oob: {size: 4, actions: [numeric]}
`))
	require.NoError(t, err)
	ew, err := Build(w, Options{Log: zaptest.NewLogger(t)})
	require.NoError(t, err)
	defer ew.Close()
	ew.Start()
	hub, node := ew.Device("Hub"), ew.Device("Blinky")
	var out *meshnode.OOBOutput
	prompted := false
	ew.Sched.RunWhile(sim.Time(30*sim.Second), func() bool {
		for _, e := range node.MeshEvents {
			if o, ok := e.(meshnode.OOBOutput); ok {
				out = &o
			}
		}
		for _, e := range hub.MeshEvents {
			if _, ok := e.(meshnode.OOBPrompt); ok {
				prompted = true
			}
		}
		return out == nil || !prompted
	})
	require.NotNil(t, out, "the node output a value: %v", node.MeshEvents)
	r := ew.control(ControlRequest{Device: "Hub", Command: "oob",
		Args: []string{"0f0e0d0c0b0a49088706050403020100", fmt.Sprint(out.Value.Number)}})
	require.True(t, r.OK, r.Message)
	var route string
	ew.Sched.RunWhile(ew.Sched.Now().Add(30*sim.Second), func() bool {
		for _, e := range node.MeshEvents {
			if p, ok := e.(meshnode.Provisioned); ok {
				route = p.Route
				return false
			}
		}
		return true
	})
	require.Equal(t, "A1B3", route, "hub: %v", hub.MeshEvents)
}
