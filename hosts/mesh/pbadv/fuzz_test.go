package pbadv

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/mesh/internal/vectors"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
)

// FuzzParse: PB-ADV PDU parsing never panics and what parses re-encodes
// to the same octets.
func FuzzParse(f *testing.F) {
	var v vectors.Provisioning
	vectors.Load(f, "mesh_provisioning.json", &v)
	for _, st := range v.Transcript.Steps {
		for _, m := range st.Messages {
			f.Add(vectors.Hex(f, m))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		require.Equal(t, b, p.Marshal())
	})
}

// FuzzDevice feeds a PB-ADV device endpoint (with a provisioning device
// behind it) arbitrary advertising data, split into AD blobs on 0xfe
// octets, with time passing between them: it must never panic, and every
// PB-ADV PDU it sends must parse.
func FuzzDevice(f *testing.F) {
	var v vectors.Provisioning
	vectors.Load(f, "mesh_provisioning.json", &v)
	var seed []byte
	for _, st := range v.Transcript.Steps {
		if st.From == "provisioner" {
			for _, m := range st.Messages {
				seed = append(append(seed, AD(vectors.Hex(f, m))...), 0xfe)
			}
		}
	}
	f.Add(seed)
	f.Add([]byte{0x07, 0x29, 0x23, 0xaf, 0x58, 0x50, 0x00, 0x03})
	uuid := vectors.Hex16(f, v.Transcript.DeviceUUID)
	f.Fuzz(func(t *testing.T, stream []byte) {
		sched := sim.New(1)
		role, err := prov.NewDevice(prov.DeviceConfig{Rand: seeded(1), Sched: sched})
		require.NoError(t, err)
		d := NewDevice(zap.NewNop(), sched, bearerFunc(func(ad []byte) {
			_, err := Parse(ad[2:])
			require.NoError(t, err, "the device sends well-formed PB-ADV PDUs")
		}), uuid, Config{})
		d.OnLink = func(l *Link) Handler { return role.Open(l) }
		start := 0
		for i, c := range stream {
			if c == 0xfe {
				d.Receive(stream[start:i])
				sched.RunFor(100 * sim.Millisecond)
				start = i + 1
			}
		}
		d.Receive(stream[start:])
		sched.RunFor(2 * LinkTimeout)
		require.Nil(t, d.Link(), "every link ends within the link timeout")
	})
}

// FuzzReassembly: any sequence of segments never panics, and a completed
// transaction always has a matching FCS.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0x08, 0x00, 0x41, 0xd1, 0x06, 0x0a})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r reassembly
		for len(b) >= 3 {
			n := min(int(b[2])%25, len(b)-3)
			p := PDU{Trans: b[0] & 1, Kind: GPCF(b[1] & 2), Seg: b[1] >> 2, Data: b[3 : 3+n]}
			if p.Kind == TransactionStart {
				p.TotalLength = uint16(b[2])
				p.FCS = FCS(p.Data)
			}
			if whole, err := r.add(p); err == nil && whole != nil {
				require.NotEmpty(t, whole)
			}
			b = b[3+n:]
		}
	})
}
