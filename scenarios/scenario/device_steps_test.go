package scenario

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// meshBase adds a provisioner and two mesh nodes to base (lines 10-18).
const meshBase = base + `  - {name: Hub, profile: mesh-provisioner, mesh: {any: false}}
  - {name: Auto, profile: mesh-provisioner}
  - name: Lamp
    profile: mesh-node
    mesh: {uuid: "00112233445566778899aabbccddeeff", static_oob: "hex:01"}
  - name: Plain
    profile: mesh-node
    mesh: {uuid: "00112233445566778899aabbccddeef0", bearers: [pb-gatt]}
`

// TestPowerAndMeshParseErrors: the power and mesh steps and the
// provisioning expectation name file, line and field.
func TestPowerAndMeshParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"power_off of nobody", base + "steps:\n  - power_off: Oxy\n", `s.yaml:11: steps[0].power_off: no device "Oxy"`},
		{"power_off takes a name", base + "steps:\n  - power_off: {device: Oxi}\n", `s.yaml:11: steps[0].power_off: want a device name, got a mapping`},
		{"reboot load_bonds not a bool", base + "steps:\n  - reboot: {device: Oxi, load_bonds: sometimes}\n", `s.yaml:11: steps[0].reboot.load_bonds: want true or false`},
		{"reboot unknown field", base + "steps:\n  - reboot: {device: Oxi, keep: true}\n", `s.yaml:11: steps[0].reboot: unknown field "keep"`},
		{"power_on without device", base + "steps:\n  - power_on: {load_bonds: true}\n", `s.yaml:11: steps[0].power_on: missing required field "device"`},
		{"provision by a central", meshBase + "steps:\n  - provision: {device: Phone, node: Lamp}\n", `s.yaml:19: steps[0].provision.device: "Phone" is a central; provision needs a mesh-provisioner`},
		{"provisioner on its own", meshBase + "steps:\n  - provision: {device: Auto, node: Lamp}\n", `s.yaml:19: steps[0].provision.device: Auto provisions devices on its own; give it mesh: {any: false}`},
		{"provision a peripheral", meshBase + "steps:\n  - provision: {device: Hub, node: Oxi}\n", `s.yaml:19: steps[0].provision.node: "Oxi" is a oximeter; provision needs a mesh-node`},
		{"bearer the node lacks", meshBase + "steps:\n  - provision: {device: Hub, node: Lamp, bearer: pb-gatt}\n", `s.yaml:19: steps[0].provision.bearer: Lamp offers pb-adv, not pb-gatt`},
		{"pb-gatt without pb_gatt", meshBase + "steps:\n  - provision: {device: Hub, node: Plain, bearer: pb-gatt}\n", `s.yaml:19: steps[0].provision.bearer: Hub does not use PB-GATT`},
		{"bad auth", meshBase + "steps:\n  - provision: {device: Hub, node: Lamp, auth: pin}\n", `s.yaml:19: steps[0].provision.auth: want none, static, output, input, got "pin"`},
		{"auth the node lacks", meshBase + "steps:\n  - provision: {device: Hub, node: Lamp, auth: output}\n", `s.yaml:19: steps[0].provision.auth: Lamp has no output OOB`},
		{"public key the node lacks", meshBase + "steps:\n  - provision: {device: Hub, node: Lamp, public_key: oob}\n", `s.yaml:19: steps[0].provision.public_key: Lamp has no OOB public key`},
		{"static_oob without auth static", meshBase + "steps:\n  - provision: {device: Hub, node: Lamp, static_oob: \"hex:02\"}\n", `s.yaml:19: steps[0].provision.static_oob: static_oob is used with auth: static only`},
		{"provisioning without result", meshBase + "expect:\n  - provisioning: {device: Hub}\n", `s.yaml:19: expect[0].provisioning: missing required field "result"`},
		{"provisioning bad route", meshBase + "expect:\n  - provisioning: {device: Hub, result: success, route: A3B1}\n", `s.yaml:19: expect[0].provisioning.route: want A1B1`},
		{"provisioning of a peripheral", meshBase + "expect:\n  - provisioning: {device: Oxi, result: success}\n", `s.yaml:19: expect[0].provisioning.device: "Oxi" is a oximeter; provisioning needs a mesh-provisioner or a mesh-node`},
		{"failed with a route", meshBase + "expect:\n  - provisioning: {device: Hub, result: failed, route: A1B1}\n", `s.yaml:19: expect[0].provisioning.route: a failed provisioning has no route`},
		{"bad link_closed", meshBase + "expect:\n  - provisioning: {device: Hub, result: failed, link_closed: lost}\n", `s.yaml:19: expect[0].provisioning.link_closed: want success, timeout, fail, got "lost"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.text))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestPowerStepsParse: the power steps' device and load_bonds.
func TestPowerStepsParse(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+`steps:
  - power_off: Oxi
  - power_on: {device: Oxi, load_bonds: false}
  - reboot: Oxi
`))
	require.NoError(t, err)
	require.Len(t, s.Steps, 3)
	require.Equal(t, ActPowerOff, s.Steps[0].Action)
	require.Equal(t, "Oxi", s.Steps[1].Device)
	require.NotNil(t, s.Steps[1].LoadBonds)
	require.False(t, *s.Steps[1].LoadBonds)
	require.Nil(t, s.Steps[2].LoadBonds, "the world setting applies")
}

// TestStepOnADeviceWithoutPower: a central that has no power cannot
// connect; the step says so and the run goes on.
func TestStepOnADeviceWithoutPower(t *testing.T) {
	s, err := Parse("s.yaml", []byte(base+`steps:
  - power_off: Phone
  - connect: {device: Phone, peer: Oxi}
  - power_on: Phone
  - connect: {device: Phone, peer: Oxi}
expect:
  - connections: {device: Phone, count: 1}
`))
	require.NoError(t, err)
	res, err := Run(s, Options{})
	require.NoError(t, err)
	require.True(t, res.Passed, res.Summary())
	require.Contains(t, res.Steps[1].Error, "Phone has no power")
	require.Empty(t, res.Steps[3].Error)
}
