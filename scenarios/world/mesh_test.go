package world

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMeshSections(t *testing.T) {
	w, err := Parse("m.yaml", []byte(`devices:
  - name: Lamp
    profile: mesh-node
    mesh:
      uuid: "00112233-4455-6677-8899-aabbccddeeff"
      bearers: [pb-adv, pb-gatt]
      static_oob: "hex:00112233445566778899aabbccddeeff"
      output_oob: {size: 4, actions: [blink, numeric]}
  - name: Hub
    profile: mesh-provisioner
`))
	require.NoError(t, err)
	m := w.Devices[0].Mesh
	require.Equal(t, byte(0x00), m.UUID[0])
	require.Equal(t, byte(0xff), m.UUID[15])
	require.Equal(t, []string{"pb-adv", "pb-gatt"}, m.Bearers)
	require.Len(t, m.StaticOOB, 16)
	require.Equal(t, 4, m.OutputSize)
	require.Equal(t, []string{"blink", "numeric"}, m.OutputActions)
	require.True(t, w.Devices[1].Mesh.Any, "a provisioner without targets provisions any device")
}

func TestMeshErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"devices:\n  - name: L\n    profile: mesh-node\n", "m.yaml:2: devices[0]: a mesh-node needs a mesh section"},
		{"devices:\n  - name: L\n    profile: mesh-node\n    mesh:\n      uuid: \"abcd\"\n", "m.yaml:5: devices[0].mesh.uuid: want a 16-byte UUID"},
		{"devices:\n  - name: L\n    profile: mesh-node\n    mesh:\n      uuid: \"00112233445566778899aabbccddeeff\"\n      bearers: [pb-bluetooth]\n", "m.yaml:6: devices[0].mesh.bearers[0]:"},
		{"devices:\n  - name: L\n    profile: mesh-node\n    mesh:\n      uuid: \"00112233445566778899aabbccddeeff\"\n      input_oob: {size: 9, actions: [push]}\n", "devices[0].mesh.input_oob.size:"},
		{"devices:\n  - name: L\n    profile: oximeter\n    mesh:\n      uuid: \"00112233445566778899aabbccddeeff\"\n", "only the mesh-node and mesh-provisioner profiles take a mesh section"},
		{"devices:\n  - name: H\n    profile: mesh-provisioner\n    mesh:\n      net_key: \"0011\"\n", "m.yaml:5: devices[0].mesh.net_key: want 16 bytes as 32 hex digits"},
	} {
		_, err := Parse("m.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		require.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}
