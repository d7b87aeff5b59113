package world

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/vhci/hci"
)

// addr parses a BDAddr or fails the test.
func addr(t *testing.T, s string) hci.BDAddr {
	t.Helper()
	a, err := hci.ParseBDAddr(s)
	require.NoError(t, err)
	return a
}

func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	require.NoError(t, err)
	assert.Equal(t, Example, string(data), "testdata/example.yaml must be the Example constant")

	w, err := Load("testdata/example.yaml")
	require.NoError(t, err)
	assert.Equal(t, "testdata/example.yaml", w.Source)
	assert.Equal(t, uint64(42), w.Seed)
	assert.Equal(t, Medium{PathLossExponent: 2.2, ReferenceLossDB: 40, SensitivityDBm: -95, PacketLoss: 0.01}, w.Medium)

	require.Len(t, w.Controllers, 2)
	assert.Equal(t, Controller{Address: addr(t, "00:AA:01:00:00:01"), AddressType: hci.AddrPublic}, w.Controllers[0])
	assert.Equal(t, Controller{Address: addr(t, "00:AA:01:00:00:02"), AddressType: hci.AddrPublic, Position: [2]float64{3, 0}}, w.Controllers[1])

	b87, b55 := uint8(87), uint8(55)
	want := []Device{{
		Name: "Oximeter", Profile: ProfileOximeter, Address: addr(t, "C0:00:00:00:00:01"), AddressType: hci.AddrRandom,
		Position: [2]float64{1.5, 0}, AdvInterval: 100 * time.Millisecond, Connectable: true, BatteryLevel: &b87, Line: 13,
	}, {
		Name: "HR Strap", Profile: ProfileHeartRate, Address: addr(t, "00:1B:DC:00:00:01"), AddressType: hci.AddrPublic,
		Position: [2]float64{0, 2}, TxPower: -8, AdvInterval: 250 * time.Millisecond, Connectable: true, Line: 21,
	}, {
		Name: "Thermo 1", Profile: ProfileGeneric, Address: addr(t, "C0:00:00:00:00:03"), AddressType: hci.AddrRandom,
		Position: [2]float64{-1, -1}, AdvInterval: 100 * time.Millisecond, Connectable: true, BatteryLevel: &b55, Line: 28,
		Services: []Service{{
			UUID: UUID16(0x1809),
			Characteristics: []Characteristic{{
				UUID: UUID16(0x2A1C), Properties: PropIndicate, Value: []byte{0x00, 0x6C, 0x0E, 0x00, 0xFE}, NotifyEvery: 2 * time.Second,
			}},
		}, {
			UUID: mustUUID(t, "6e400001-b5a3-f393-e0a9-e50e24dcca9e"),
			Characteristics: []Characteristic{{
				UUID: mustUUID(t, "6e400002-b5a3-f393-e0a9-e50e24dcca9e"), Properties: PropWrite | PropWriteWithoutResponse,
			}, {
				UUID: mustUUID(t, "6e400003-b5a3-f393-e0a9-e50e24dcca9e"), Properties: PropRead | PropNotify, Value: []byte("hello"),
			}},
		}},
	}, {
		Name: "Ward Hub", Profile: ProfileCentral, Address: addr(t, "C0:00:00:00:00:04"), AddressType: hci.AddrRandom,
		Position: [2]float64{0, 1}, AdvInterval: 100 * time.Millisecond, Connectable: true, Line: 47,
	}}
	for i := range want {
		want[i].Security = DefaultSecurity()
	}
	assert.Equal(t, want, w.Devices)

	// Undeclared controllers continue the default sequence.
	assert.Equal(t, w.Controllers[1], w.ControllerFor(1))
	assert.Equal(t, Controller{Address: addr(t, "00:AA:01:00:00:03"), AddressType: hci.AddrPublic}, w.ControllerFor(2))
	assert.Equal(t, Controller{}, w.ControllerFor(-1))
}

func TestReference(t *testing.T) {
	assert.True(t, strings.HasSuffix(Reference, Example), "Reference ends with the example")
	for _, p := range Profiles {
		assert.Contains(t, Reference, "  "+p.Name+"\n      "+p.Summary)
	}
	for _, f := range [][]string{worldFields, mediumFields, controllerFields, deviceFields, serviceFields, characteristicFields} {
		for _, name := range f {
			assert.Contains(t, Reference, "  "+name+" ", "Reference documents %s", name)
		}
	}
	_, err := Parse("help", []byte(Reference[strings.Index(Reference, "EXAMPLE\n\n")+len("EXAMPLE\n\n"):]))
	assert.NoError(t, err)
}

func mustUUID(t *testing.T, s string) UUID {
	t.Helper()
	u, err := ParseUUID(s)
	require.NoError(t, err)
	return u
}

func TestParseDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing here\n", "---\n", "{}", "devices: []\n", "devices:\n", "medium: ~\n"} {
		w, err := Parse("w.yaml", []byte(src))
		require.NoError(t, err, "%q", src)
		assert.Equal(t, &World{Seed: 1, Medium: DefaultMedium(), Source: "w.yaml"}, w, "%q", src)
		assert.Equal(t, Controller{Address: addr(t, "00:AA:01:00:00:03"), AddressType: hci.AddrPublic}, w.ControllerFor(2))
	}
}

func TestDefaultAddresses(t *testing.T) {
	// Written addresses are skipped by the defaults, wherever they appear.
	src := `
controllers:
  - {}
  - address_type: random
  - address: "00:AA:01:00:00:04"
devices:
  - {name: a, profile: generic, address: "C0:00:00:00:00:02"}
  - {name: b, profile: generic}
  - {name: c, profile: generic}
  - {name: d, profile: generic, address_type: public}
  - {name: e, profile: generic, address: "00:AA:01:00:00:05", address_type: public}
`
	w, err := Parse("w.yaml", []byte(src))
	require.NoError(t, err)
	var got []string
	for _, c := range w.Controllers {
		got = append(got, c.AddressType.String()+" "+c.Address.String())
	}
	for _, d := range w.Devices {
		got = append(got, d.AddressType.String()+" "+d.Address.String())
	}
	assert.Equal(t, []string{
		"public 00:AA:01:00:00:01",
		"random C0:AA:01:00:00:02",
		"public 00:AA:01:00:00:04",
		"random C0:00:00:00:00:02",
		"random C0:00:00:00:00:03", // 02 is taken by devices[0]
		"random C0:00:00:00:00:04",
		"public 00:AA:02:00:00:04",
		"public 00:AA:01:00:00:05",
	}, got)
	// controllers[3] would be :04, taken; :05 is taken by devices[4].
	assert.Equal(t, "00:AA:01:00:00:06", w.ControllerFor(3).Address.String())
	assert.Equal(t, "00:AA:01:00:00:07", w.ControllerFor(4).Address.String())

	// Many devices: the number carries into the next octet.
	var b strings.Builder
	b.WriteString("devices:\n")
	for i := range 300 {
		b.WriteString("  - {name: \"d" + strings.Repeat("x", i%20) + strconv.Itoa(i) + "\", profile: central}\n")
	}
	w, err = Parse("w.yaml", []byte(b.String()))
	require.NoError(t, err)
	assert.Equal(t, "C0:00:00:00:01:2C", w.Devices[299].Address.String())
}

func TestParseValues(t *testing.T) {
	w, err := Parse("w.yaml", []byte(`
seed: 18446744073709551615
medium: {path_loss_exponent: 6, reference_loss_db: 0, sensitivity_dbm: -120, packet_loss: 1}
devices:
  - name: 1800                # an unquoted number is still a name
    profile: generic
    position: [-10000, 10000]
    tx_power: -20
    adv_interval: 10.24s
    connectable: false
    battery_level: 0
    services:
      - uuid: 0x180a
      - uuid: "0000180D-0000-1000-8000-00805F9B34FB"   # the base form is the 16-bit UUID
        characteristics:
          - {uuid: 2A37, properties: [notify], value: "hex:01", notify_every: 10}
          - {uuid: 2A38, properties: [read], value: "hex:01 02", notify_every: ~}
  - name: "Ünïcødé ❤"
    profile: &prof heart-rate
    adv_interval: 20
    position: &pos [1, 2.5]
  - {name: pos, profile: *prof, position: *pos, tx_power: 10}
`))
	require.NoError(t, err)
	assert.Equal(t, uint64(18446744073709551615), w.Seed)
	assert.Equal(t, Medium{6, 0, -120, 1}, w.Medium)
	d := w.Devices[0]
	assert.Equal(t, "1800", d.Name)
	assert.Equal(t, [2]float64{-10000, 10000}, d.Position)
	assert.Equal(t, int8(-20), d.TxPower)
	assert.Equal(t, 10240*time.Millisecond, d.AdvInterval)
	assert.False(t, d.Connectable)
	require.NotNil(t, d.BatteryLevel)
	assert.Equal(t, uint8(0), *d.BatteryLevel)
	assert.Equal(t, UUID16(0x180A), d.Services[0].UUID)
	assert.Equal(t, UUID16(0x180D), d.Services[1].UUID)
	assert.Equal(t, Characteristic{UUID: UUID16(0x2A37), Properties: PropNotify, Value: []byte{1}, NotifyEvery: 10 * time.Millisecond},
		d.Services[1].Characteristics[0])
	assert.Equal(t, Characteristic{UUID: UUID16(0x2A38), Properties: PropRead, Value: []byte{1, 2}}, d.Services[1].Characteristics[1])
	assert.Equal(t, 20*time.Millisecond, w.Devices[1].AdvInterval)
	assert.Equal(t, "Ünïcødé ❤", w.Devices[1].Name)
	assert.Equal(t, ProfileHeartRate, w.Devices[2].Profile)
	assert.Equal(t, [2]float64{1, 2.5}, w.Devices[2].Position)
	assert.Equal(t, int8(10), w.Devices[2].TxPower)
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestErrorList(t *testing.T) {
	_, err := Parse("w.yaml", []byte("seed: -1\ndevices:\n  - {name: a, profile: nope}\n  - name: a\n    profile: central\n"))
	require.Error(t, err)
	assert.Equal(t, `w.yaml:1: seed: want a whole number from 0 to 18446744073709551615, got -1
w.yaml:3: devices[0].profile: unknown profile "nope" (want one of: generic, oximeter, heart-rate, central, e-lock, mesh-node, mesh-provisioner)
w.yaml:4: devices[1].name: "a" is already used by devices[0] (line 3); device names must be unique`, err.Error())
	var list ErrorList
	require.ErrorAs(t, err, &list)
	assert.Len(t, list, 3)
	var first *Error
	require.ErrorAs(t, err, &first)
	assert.Equal(t, &Error{File: "w.yaml", Line: 1, Field: "seed", Msg: "want a whole number from 0 to 18446744073709551615, got -1"}, first)

	// Too many problems are cut short.
	var b strings.Builder
	b.WriteString("devices:\n")
	for range 40 {
		b.WriteString("  - {}\n")
	}
	_, err = Parse("w.yaml", []byte(b.String()))
	require.ErrorAs(t, err, &list)
	assert.Len(t, list, maxErrors+1)
	assert.Equal(t, "w.yaml: ... and 55 more problems", list[maxErrors].Error())
}
