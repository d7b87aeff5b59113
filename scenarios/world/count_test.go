package world

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCountCopiesADevice: count: N declares NAME-1..NAME-N with derived
// or default addresses.
func TestCountCopiesADevice(t *testing.T) {
	w, err := Parse("w.yaml", []byte(`devices:
  - {name: Tag, profile: generic, count: 3, address: "C0:00:00:00:00:FE", position: [1, 2]}
  - {name: Dot, profile: generic, count: 2}
  - {name: Solo, profile: generic, count: 1}
`))
	require.NoError(t, err)
	var names, addrs []string
	for _, d := range w.Devices {
		names = append(names, d.Name)
		addrs = append(addrs, d.Address.String())
		require.Equal(t, [2]float64{1, 2}, w.Devices[0].Position)
	}
	require.Equal(t, []string{"Tag-1", "Tag-2", "Tag-3", "Dot-1", "Dot-2", "Solo"}, names)
	require.Equal(t, []string{"C0:00:00:00:00:FE", "C0:00:00:00:00:FF", "C0:00:00:00:01:00"}, addrs[:3])
	require.Len(t, map[string]bool{addrs[0]: true, addrs[1]: true, addrs[2]: true, addrs[3]: true, addrs[4]: true, addrs[5]: true}, 6, "unique addresses: %v", addrs)
}

func TestCountErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"zero", "devices:\n  - {name: A, profile: generic, count: 0}\n", "w.yaml:2: devices[0].count: want a number of copies"},
		{"too many", "devices:\n  - {name: A, profile: generic, count: 1001}\n", "w.yaml:2: devices[0].count: want a number of copies"},
		{"mesh node", "devices:\n  - {name: A, profile: mesh-node, count: 2, mesh: {uuid: \"00112233445566778899aabbccddeeff\"}}\n", "w.yaml:2: devices[0].count: the mesh-node profile cannot be copied"},
		{"name too long", "devices:\n  - {name: ABCDEFGHIJKLMNOPQRSTUVWX, profile: generic, count: 100}\n", "w.yaml:2: devices[0].name: with count: 100 the names run up to"},
		{"shared bond file", "devices:\n  - {name: A, profile: generic, count: 2, security: {bond_file: b.json}}\n", "w.yaml:2: devices[0].count: every copy would share security.bond_file"},
		{"copy clashes", "devices:\n  - {name: A, profile: generic, count: 2}\n  - {name: A-2, profile: generic}\n", `w.yaml:3: devices[1].name: "A-2" is already used`},
		{"copy address invalid", "devices:\n  - {name: A, profile: generic, count: 2, address: \"FF:FF:FF:FF:FF:FE\"}\n", "w.yaml:2: devices[0].address: copy 2: FF:FF:FF:FF:FF:FF is not a valid static random address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tc.text))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
