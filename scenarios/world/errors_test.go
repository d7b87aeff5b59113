package world

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dev is a valid device entry to build error cases on.
const dev = "devices:\n  - name: Oximeter\n    profile: oximeter\n"

// gen is a valid generic device with one service, to build GATT cases on.
const gen = "devices:\n  - name: Thing\n    profile: generic\n    services:\n      - uuid: \"180F\"\n        characteristics:\n          - uuid: \"2A19\"\n"

// TestParseErrors has one case per kind of problem, with the exact text.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		// YAML itself.
		{"syntax", "seed: 1\ndevices: [\n", `world.yaml:2: YAML syntax error: did not find expected node content`},
		{"syntax first line", "seed: 1: 2\n", `world.yaml:1: YAML syntax error: mapping values are not allowed in this context`},
		{"syntax parser line", "seed: 1\n- x\n", `world.yaml:2: YAML syntax error: did not find expected key`},
		{"tab", "seed: 1\n\tdevices: []\n", `world.yaml:2: YAML syntax error: found a tab character that violates indentation`},
		{"control character", "seed: 1\nmedium: \x01\n", `world.yaml:2: YAML syntax error: control characters are not allowed`},
		{"invalid utf-8", "seed: 1\n\ndevices: \xff\n", `world.yaml:3: YAML syntax error: invalid leading UTF-8 octet`},
		{"unknown anchor", "seed: 1\ndevices: *devs\n", `world.yaml:2: YAML syntax error: alias *devs names no anchor (&devs) defined before it`},
		{"two documents", "seed: 1\n---\nseed: 2\n", `world.yaml:2: a world file holds one YAML document, but a second one starts here`},
		{"alias cycle", "devices: &d\n  - *d\n", `world.yaml:2: alias *d refers to a value that contains the alias`},
		{"not a mapping", "- seed\n", `world.yaml:1: want a world: a mapping with seed, medium, controllers and devices, got a list of 1 item`},

		// Hosts.
		{"host unknown", dev + "    host: bluez\n", `world.yaml:4: devices[0].host: unknown host "bluez" (want one of: builtin, kernel)`},
		{"host kernel peripheral", dev + "    host: kernel\n", `world.yaml:4: devices[0].host: host: kernel plays a central (the kernel and BlueZ drive the controller); the oximeter profile is built-in only`},

		// Keys.
		{"unknown field close", "seed: 1\ndevics: []\n", `world.yaml:2: unknown field "devics" (did you mean "devices"?)`},
		{"unknown field far", "colour: red\n", `world.yaml:1: unknown field "colour" (want one of: seed, medium, controllers, devices)`},
		{"unknown device field", dev + "    adress: \"C0:00:00:00:00:01\"\n", `world.yaml:4: devices[0]: unknown field "adress" (did you mean "address"?)`},
		{"unknown field swapped", dev + "    tx_pwoer: 0\n", `world.yaml:4: devices[0]: unknown field "tx_pwoer" (did you mean "tx_power"?)`},
		{"duplicate key", "seed: 1\nseed: 2\n", `world.yaml:2: field "seed" is given twice (first on line 1)`},
		{"merge", "medium:\n  <<: {packet_loss: 0}\n", `world.yaml:2: medium: merge keys (<<) are not supported: write the fields out, or use an alias (*name) for a whole value`},
		{"non-scalar key", "? [a]\n: 1\n", `world.yaml:1: want a field name, got a list of 1 item`},

		// seed and medium.
		{"seed negative", "seed: -1\n", `world.yaml:1: seed: want a whole number from 0 to 18446744073709551615, got -1`},
		{"seed text", "seed: \"one\"\n", `world.yaml:1: seed: want a whole number from 0 to 18446744073709551615, got "one"`},
		{"seed too big", "seed: 18446744073709551616\n", `world.yaml:1: seed: want a whole number from 0 to 18446744073709551615, got 18446744073709551616`},
		{"medium not mapping", "medium: 2\n", `world.yaml:1: medium: want a mapping with path_loss_exponent, reference_loss_db, sensitivity_dbm, packet_loss, got 2`},
		{"path loss exponent", "medium:\n  path_loss_exponent: 7\n", `world.yaml:2: medium.path_loss_exponent: want a path-loss exponent from 1.5 to 6, got 7`},
		{"reference loss", "medium:\n  reference_loss_db: 120.5\n", `world.yaml:2: medium.reference_loss_db: want a loss in dB from 0 to 100, got 120.5`},
		{"sensitivity", "medium:\n  sensitivity_dbm: -10\n", `world.yaml:2: medium.sensitivity_dbm: want a level in dBm from -120 to -30, got -10`},
		{"packet loss", "medium:\n  packet_loss: 1.5\n", `world.yaml:2: medium.packet_loss: want a probability from 0 to 1, got 1.5`},
		{"nan", "medium:\n  packet_loss: .nan\n", `world.yaml:2: medium.packet_loss: want a probability from 0 to 1, got .nan`},

		// controllers.
		{"controllers not list", "controllers: {}\n", `world.yaml:1: controllers: want a list of controllers, got a mapping`},
		{"controller not mapping", "controllers:\n  - \"00:AA:01:00:00:01\"\n", `world.yaml:2: controllers[0]: want a controller: a mapping with address, address_type, position, got "00:AA:01:00:00:01"`},
		{"controller address", "controllers:\n  - address: \"00:AA:01:00:00\"\n", `world.yaml:2: controllers[0].address: bad Bluetooth address "00:AA:01:00:00": want six hex octets separated by ':', e.g. C0:11:22:33:44:55`},
		{"controller random not static", "controllers:\n  - address: \"40:AA:01:00:00:01\"\n    address_type: random\n",
			`world.yaml:2: controllers[0].address: 40:AA:01:00:00:01 is not a static random address: a static address has 11 as its two most significant bits, so its first octet is C0 to FF (private addresses, resolvable or not, are made at run time, not declared)`},

		// devices.
		{"devices not list", "devices: {name: x}\n", `world.yaml:1: devices: want a list of devices, got a mapping`},
		{"device not mapping", "devices:\n  - Oximeter\n", `world.yaml:2: devices[0]: want a device: a mapping with name, profile and the optional fields, got "Oximeter"`},
		{"device null", "devices:\n  -\n", `world.yaml:2: devices[0]: want a device: a mapping with name, profile and the optional fields, got nothing`},
		{"missing name", "devices:\n  - profile: oximeter\n", `world.yaml:2: devices[0]: missing required field "name" (the advertised name, 1 to 26 bytes)`},
		{"empty name", "devices:\n  - profile: oximeter\n    name:\n", `world.yaml:3: devices[0].name: want the advertised name, 1 to 26 bytes, got nothing`},
		{"name empty string", "devices:\n  - profile: oximeter\n    name: \"\"\n", `world.yaml:3: devices[0].name: want the advertised name, 1 to 26 bytes, got an empty string`},
		{"name list", "devices:\n  - profile: oximeter\n    name: [a]\n", `world.yaml:3: devices[0].name: want the advertised name, 1 to 26 bytes, got a list of 1 item`},
		{"name too long", "devices:\n  - profile: oximeter\n    name: \"Pulse Oximeter of Ward 12 bed\"\n",
			`world.yaml:3: devices[0].name: "Pulse Oximeter of Ward 12 bed" is 29 bytes; a name must fit in one advertising packet next to the flags: at most 26 bytes of UTF-8`},
		{"name control", "devices:\n  - profile: oximeter\n    name: \"a\\tb\"\n", `world.yaml:3: devices[0].name: "a\tb" contains the control character U+0009; a name is one line of text`},
		{"duplicate name", dev + "  - name: Oximeter\n    profile: heart-rate\n", `world.yaml:4: devices[1].name: "Oximeter" is already used by devices[0] (line 2); device names must be unique`},
		{"missing profile", "devices:\n  - name: x\n", `world.yaml:2: devices[0]: missing required field "profile" (one of: generic, oximeter, heart-rate, central, e-lock, mesh-node, mesh-provisioner)`},
		{"unknown profile", "devices:\n  - name: x\n    profile: oximetre\n", `world.yaml:3: devices[0].profile: unknown profile "oximetre" (did you mean "oximeter"?)`},
		{"unknown profile far", "devices:\n  - name: x\n    profile: thermometer\n", `world.yaml:3: devices[0].profile: unknown profile "thermometer" (want one of: generic, oximeter, heart-rate, central, e-lock, mesh-node, mesh-provisioner)`},
		{"address type", dev + "    address_type: static\n", `world.yaml:4: devices[0].address_type: unknown address type "static" (want one of: public, random)`},
		{"address not static", dev + "    address: \"00:1B:DC:00:00:01\"\n",
			`world.yaml:4: devices[0].address: 00:1B:DC:00:00:01 is not a static random address: a static address has 11 as its two most significant bits, so its first octet is C0 to FF (private addresses, resolvable or not, are made at run time, not declared); address_type is random unless given, so for a public address add address_type: public`},
		{"address random bits", dev + "    address: \"FF:FF:FF:FF:FF:FF\"\n", `world.yaml:4: devices[0].address: FF:FF:FF:FF:FF:FF is not a valid static random address: its 46 random bits must not be all 0 or all 1`},
		{"address zero", dev + "    address: \"00:00:00:00:00:00\"\n    address_type: public\n", `world.yaml:4: devices[0].address: 00:00:00:00:00:00 is not a usable device address`},
		{"address number", dev + "    address: 12\n", `world.yaml:4: devices[0].address: bad Bluetooth address "12": want six hex octets separated by ':', e.g. C0:11:22:33:44:55`},
		{"duplicate address", "controllers:\n  - address: \"C0:00:00:00:00:01\"\n    address_type: random\n" + dev + "    address: \"c0:00:00:00:00:01\"\n",
			`world.yaml:7: devices[0].address: C0:00:00:00:00:01 is already used by controllers[0] (line 2); addresses must be unique`},
		{"position word", dev + "    position: near\n", `world.yaml:4: devices[0].position: want [x, y] in metres, got "near"`},
		{"position three", dev + "    position: [1, 2, 3]\n", `world.yaml:4: devices[0].position: want [x, y] in metres, got a list of 3 items`},
		{"position element", dev + "    position:\n      - 1\n      - 20000\n", `world.yaml:6: devices[0].position[1]: want a distance in metres from -10000 to 10000, got 20000`},
		{"position text element", dev + "    position: [1, \"2\"]\n", `world.yaml:4: devices[0].position[1]: want a distance in metres from -10000 to 10000, got "2"`},
		{"tx power range", dev + "    tx_power: 12\n", `world.yaml:4: devices[0].tx_power: want a whole number of dBm from -20 to 10, got 12`},
		{"tx power float", dev + "    tx_power: 1.5\n", `world.yaml:4: devices[0].tx_power: want a whole number of dBm from -20 to 10, got 1.5`},
		{"adv interval short", dev + "    adv_interval: 10ms\n", `world.yaml:4: devices[0].adv_interval: want a duration from 20ms to 10.24s, got 10ms`},
		{"adv interval ms", dev + "    adv_interval: 20000\n", `world.yaml:4: devices[0].adv_interval: want a duration from 20ms to 10.24s, got 20s`},
		{"adv interval huge", dev + "    adv_interval: 9223372036854775807\n", `world.yaml:4: devices[0].adv_interval: want a duration from 20ms to 10.24s, got 9223372036854775807 ms`},
		{"adv interval word", dev + "    adv_interval: fast\n", `world.yaml:4: devices[0].adv_interval: want a duration such as 100ms or 1.5s, or a whole number of milliseconds, got "fast"`},
		{"adv interval float", dev + "    adv_interval: 100.5\n", `world.yaml:4: devices[0].adv_interval: want a duration such as 100ms or 1.5s, or a whole number of milliseconds, got 100.5`},
		{"connectable", dev + "    connectable: yes\n", `world.yaml:4: devices[0].connectable: want true or false, got "yes"`},
		{"battery", dev + "    battery_level: 101\n", `world.yaml:4: devices[0].battery_level: want a whole-number percentage from 0 to 100, got 101`},
		{"services on oximeter", dev + "    services: []\n", `world.yaml:4: devices[0].services: only the generic profile takes services; the oximeter profile builds its own GATT database`},
		{"central adv", "devices:\n  - name: Hub\n    profile: central\n    adv_interval: 1s\n", `world.yaml:4: devices[0].adv_interval: the central profile does not advertise or serve GATT; remove adv_interval`},
		{"battery twice", gen + "            properties: [read]\n    battery_level: 50\n",
			`world.yaml:9: devices[0].battery_level: battery_level adds a Battery Service (180F) but devices[0].services[0] declares one too; keep one of them`},

		// services and characteristics.
		{"services not list", "devices:\n  - name: x\n    profile: generic\n    services: \"180F\"\n", `world.yaml:4: devices[0].services: want a list of services, got "180F"`},
		{"service unknown field", gen + "            properties: [read]\n        uuids: []\n", `world.yaml:9: devices[0].services[0]: unknown field "uuids" (did you mean "uuid"?)`},
		{"service missing uuid", "devices:\n  - name: x\n    profile: generic\n    services:\n      - characteristics: []\n", `world.yaml:5: devices[0].services[0]: missing required field "uuid" (the service UUID)`},
		{"uuid bad", "devices:\n  - name: x\n    profile: generic\n    services:\n      - uuid: 180G\n",
			`world.yaml:5: devices[0].services[0].uuid: want a 16-bit UUID such as "180F" or a 128-bit UUID such as "6e400001-b5a3-f393-e0a9-e50e24dcca9e", got "180G"`},
		{"uuid 32-bit", "devices:\n  - name: x\n    profile: generic\n    services:\n      - uuid: \"0000180F\"\n",
			`world.yaml:5: devices[0].services[0].uuid: "0000180F" looks like a 32-bit UUID, which GATT does not use: write the 16-bit form (4 hex digits) or the full 128-bit form`},
		{"uuid nil", "devices:\n  - name: x\n    profile: generic\n    services:\n      - uuid: 00000000-0000-0000-0000-000000000000\n",
			`world.yaml:5: devices[0].services[0].uuid: the nil UUID 00000000-0000-0000-0000-000000000000 is not an attribute type`},
		{"uuid descriptor", gen + "            properties: [read]\n          - uuid: \"2902\"\n            properties: [read]\n",
			`world.yaml:9: devices[0].services[0].characteristics[1].uuid: 2902 is a GATT declaration or descriptor type; the host makes those itself`},
		{"characteristics not list", "devices:\n  - name: x\n    profile: generic\n    services:\n      - uuid: \"180F\"\n        characteristics: 2A19\n",
			`world.yaml:6: devices[0].services[0].characteristics: want a list of characteristics, got "2A19"`},
		{"missing properties", gen, `world.yaml:7: devices[0].services[0].characteristics[0]: missing required field "properties" (a list such as [read, notify])`},
		{"missing characteristic uuid", gen + "          - properties: [read]\n",
			`world.yaml:7: devices[0].services[0].characteristics[0]: missing required field "properties" (a list such as [read, notify])
world.yaml:8: devices[0].services[0].characteristics[1]: missing required field "uuid" (the characteristic UUID)`},
		{"properties empty", gen + "            properties: []\n", `world.yaml:8: devices[0].services[0].characteristics[0].properties: want at least one of: read, write, write-without-response, notify, indicate`},
		{"properties scalar", gen + "            properties: read\n", `world.yaml:8: devices[0].services[0].characteristics[0].properties: want a list such as [read, notify], got "read"`},
		{"property unknown", gen + "            properties: [read, notfy]\n", `world.yaml:8: devices[0].services[0].characteristics[0].properties[1]: unknown property "notfy" (did you mean "notify"?)`},
		{"property twice", gen + "            properties: [read, read]\n", `world.yaml:8: devices[0].services[0].characteristics[0].properties[1]: "read" is listed twice`},
		{"value number", gen + "            properties: [read]\n            value: 87\n",
			`world.yaml:9: devices[0].services[0].characteristics[0].value: want "hex:" and bytes in hex (e.g. "hex:5701") or a text string, got 87; quote it to send it as text`},
		{"value hex", gen + "            properties: [read]\n            value: \"hex:5\"\n",
			`world.yaml:9: devices[0].services[0].characteristics[0].value: want "hex:" and an even number of hex digits (spaces allowed between bytes), got "hex:5"`},
		{"value long", gen + "            properties: [read]\n            value: \"" + strings.Repeat("x", 513) + "\"\n",
			`world.yaml:9: devices[0].services[0].characteristics[0].value: the value is 513 bytes; an attribute value is at most 512 bytes`},
		{"notify_every without notify", gen + "            properties: [read]\n            value: \"hex:00\"\n            notify_every: 1s\n",
			`world.yaml:10: devices[0].services[0].characteristics[0].notify_every: the value is only sent on its own for notify or indicate; add one of them to properties`},
		{"notify_every without value", gen + "            properties: [notify]\n            notify_every: 1s\n",
			`world.yaml:9: devices[0].services[0].characteristics[0].notify_every: needs a non-empty value: the host sends it and increments its last byte each period`},
		{"notify_every range", gen + "            properties: [notify]\n            value: \"hex:00\"\n            notify_every: 1ms\n",
			`world.yaml:10: devices[0].services[0].characteristics[0].notify_every: want a duration from 10ms to 24h, got 1ms`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.False(t, seen[tt.name], "duplicate case name")
			seen[tt.name] = true
			w, err := Parse("world.yaml", []byte(tt.src))
			require.Error(t, err, "source:\n%s", tt.src)
			assert.Nil(t, w)
			assert.Equal(t, tt.want, err.Error(), "source:\n%s", tt.src)
		})
	}
}
