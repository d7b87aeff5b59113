package world

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in     string
		is16   bool
		u16    uint16
		str    string
		onAir  []byte
		errMsg string
	}{
		{in: "180F", is16: true, u16: 0x180F, str: "180F", onAir: []byte{0x0F, 0x18}},
		{in: "0x2a19", is16: true, u16: 0x2A19, str: "2A19", onAir: []byte{0x19, 0x2A}},
		{in: "0000180d-0000-1000-8000-00805F9B34FB", is16: true, u16: 0x180D, str: "180D", onAir: []byte{0x0D, 0x18}},
		{in: "6E400001-B5A3-F393-E0A9-E50E24DCCA9E", str: "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
			onAir: []byte{0x9e, 0xca, 0xdc, 0x24, 0x0e, 0xe5, 0xa9, 0xe0, 0x93, 0xf3, 0xa3, 0xb5, 0x01, 0x00, 0x40, 0x6e}},
		// A 32-bit value on the base stays 128-bit: GATT has no 32-bit form.
		{in: "1234180d-0000-1000-8000-00805f9b34fb", str: "1234180d-0000-1000-8000-00805f9b34fb",
			onAir: []byte{0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0x0d, 0x18, 0x34, 0x12}},
		{in: "180", errMsg: `want a 16-bit UUID such as "180F" or a 128-bit UUID such as "6e400001-b5a3-f393-e0a9-e50e24dcca9e", got "180"`},
		{in: "0x", errMsg: `want a 16-bit UUID such as "180F" or a 128-bit UUID such as "6e400001-b5a3-f393-e0a9-e50e24dcca9e", got "0x"`},
		{in: "6e400001-b5a3-f393-e0a9-e50e24dcca9g", errMsg: `want a 16-bit UUID such as "180F" or a 128-bit UUID such as "6e400001-b5a3-f393-e0a9-e50e24dcca9e", got "6e400001-b5a3-f393-e0a9-e50e24dcca9g"`},
		{in: "6e400001b5a3f393e0a9e50e24dcca9e", errMsg: `want a 16-bit UUID such as "180F" or a 128-bit UUID such as "6e400001-b5a3-f393-e0a9-e50e24dcca9e", got "6e400001b5a3f393e0a9e50e24dcca9e"`},
		{in: "0000180F", errMsg: `"0000180F" looks like a 32-bit UUID, which GATT does not use: write the 16-bit form (4 hex digits) or the full 128-bit form`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseUUID(tt.in)
			if tt.errMsg != "" {
				require.EqualError(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.is16, u.Is16())
			assert.Equal(t, tt.u16, u.Uint16())
			assert.Equal(t, tt.str, u.String())
			assert.Equal(t, tt.onAir, u.Bytes())
			back, err := ParseUUID(u.String())
			require.NoError(t, err)
			assert.Equal(t, u, back, "String round-trips")
		})
	}
	long, err := ParseUUID("0000180f-0000-1000-8000-00805f9b34fb")
	require.NoError(t, err)
	assert.True(t, long == UUID16(0x180F), "the base form equals the 16-bit UUID")
	assert.Equal(t, UUID16(0x180F), UUID128([16]byte{0, 0, 0x18, 0x0F, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5f, 0x9b, 0x34, 0xfb}))
}

func TestProperties(t *testing.T) {
	p := PropRead | PropNotify | PropWriteWithoutResponse
	assert.Equal(t, "read, write-without-response, notify", p.String())
	assert.True(t, p.Has(PropRead|PropNotify))
	assert.False(t, p.Has(PropRead|PropIndicate))
	assert.Equal(t, "indicate, 0x80", (PropIndicate | 0x80).String())
	assert.Equal(t, "", Properties(0).String())
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", time.Minute: "1m", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s",
		10240 * time.Millisecond: "10.24s", 20 * time.Millisecond: "20ms", time.Hour + time.Second: "1h0m1s", 0: "0s",
	} {
		assert.Equal(t, want, fmtDuration(d))
	}
}

func TestSuggest(t *testing.T) {
	opts := []string{"name", "profile", "address", "address_type", "adv_interval"}
	for got, want := range map[string]string{
		"nmae": "name", "Name": "name", "adress": "address", "address-type": "address_type",
		"adv_intervall": "adv_interval", "x": "", "colour": "", "": "",
	} {
		assert.Equal(t, want, suggest(got, opts), "suggest(%q)", got)
	}
}
