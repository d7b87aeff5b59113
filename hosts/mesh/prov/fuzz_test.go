package prov

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse: the provisioning PDU parsers never panic, every error has a
// provisioning error code, and what parses re-encodes to the same octets.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0000", "010100010000000000000000", "020000000000", "0100030001000000000000",
		"0805", "09", "0a000000000000", "0d0000"} {
		f.Add(hexBytes(s))
	}
	f.Fuzz(func(t *testing.T, pdu []byte) {
		typ, p, err := Parse(pdu)
		if err != nil {
			require.NotEqual(t, UnexpectedError, CodeOf(err), "parse errors carry a code")
			return
		}
		switch typ {
		case TypeCapabilities:
			if c, err := ParseCapabilities(p); err == nil {
				// RFU bits are dropped; everything else survives.
				c2, err := ParseCapabilities(c.Marshal())
				require.NoError(t, err)
				require.Equal(t, c, c2)
			}
		case TypeStart:
			if s, err := ParseStart(p); err == nil {
				require.Equal(t, p, s.Marshal())
				_ = s.Check(Capabilities{Elements: 1, Algorithms: 3, OutputSize: 8, OutputActions: 0x1f, InputSize: 8, InputActions: 0xf, StaticOOB: true})
			}
		case TypeData:
			d, err := ParseData(p[:DataLen])
			require.NoError(t, err)
			require.Equal(t, p[:DataLen], d.Marshal())
			_ = d.Check(p[0])
		}
	})
}

// FuzzDeviceSession feeds a device session a stream of PDUs (split on
// 0xff octets): it must never panic, and it sends Provisioning Failed at
// most once and nothing after it.
func FuzzDeviceSession(f *testing.F) {
	f.Add(hexBytes("0000ff020000000000ff03" + "11"))
	f.Add(hexBytes("0005ff0200000100ff0e"))
	f.Add(hexBytes("0000ff0201000300ff04"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		var sent [][]byte
		var results int
		d, err := NewDevice(DeviceConfig{Rand: seeded(1), StaticOOB: []byte{1}, OutputSize: 2, OutputActions: 0x1f,
			InputSize: 2, InputActions: 0xf,
			Output: func(OutputAction, OOBValue) {},
			Input:  func(_ InputAction, _ uint8, enter func(OOBValue)) { enter(Num(7)) },
			Done:   func(Result) { results++ }})
		require.NoError(t, err)
		s := d.Open(linkFunc(func(p []byte) { sent = append(sent, p) }))
		for _, pdu := range split(stream) {
			s.Receive(pdu)
		}
		require.LessOrEqual(t, results, 1)
		for i, p := range sent {
			if PDUType(p[0]) == TypeFailed {
				require.Equal(t, len(sent)-1, i, "nothing after Provisioning Failed")
				require.Len(t, p, 2)
			}
		}
	})
}

// FuzzProvisionerSession is the same for the provisioner: it never panics
// and never sends Provisioning Failed.
func FuzzProvisionerSession(f *testing.F) {
	f.Add(hexBytes("010100010000000000000000ff03" + "11"))
	f.Add(hexBytes("0101000300000000000000ff09"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		p, err := NewProvisioner(ProvisionerConfig{Rand: seeded(2)})
		require.NoError(t, err)
		closes := 0
		l := linkFunc(func(b []byte) { require.NotEqual(t, TypeFailed, PDUType(b[0])) })
		l.close = func(CloseReason) { closes++ }
		s := p.Open(l, Target{StaticOOB: []byte{1}, Data: func(uint8) (Data, error) { return Data{Address: 1}, nil },
			Prompt: func(_ OutputAction, _ uint8, enter func(OOBValue)) { enter(Num(1)) }, Show: func(InputAction, OOBValue) {}})
		for _, pdu := range split(stream) {
			s.Receive(pdu)
		}
		require.LessOrEqual(t, closes, 1)
	})
}

type lf struct {
	send  func([]byte)
	close func(CloseReason)
}

func linkFunc(send func([]byte)) *lf { return &lf{send: send} }

func (l *lf) Send(p []byte) { l.send(append([]byte(nil), p...)) }
func (l *lf) Close(r CloseReason) {
	if l.close != nil {
		l.close(r)
	}
}

func split(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == 0xff {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}

func hexBytes(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhexDigit(s[2*i])<<4 | unhexDigit(s[2*i+1])
	}
	return b
}

func unhexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}
