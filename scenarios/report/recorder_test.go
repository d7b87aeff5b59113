package report

import (
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer"
	"blesim/linklayer/ccm"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

var (
	addrA = hci.BDAddr{1, 0, 0, 0, 0xAA, 0xC0}
	addrB = hci.BDAddr{2, 0, 0, 0, 0xAA, 0xC0}
	addrC = hci.BDAddr{3, 0, 0, 0, 0xAA, 0xC0}
)

// airRig feeds hand-built packets to a Recorder.
type airRig struct {
	t   *testing.T
	r   *Recorder
	now sim.Time
}

func (a *airRig) send(port *radio.Port, ch radio.Channel, aa uint32, b []byte) {
	a.now += 1000
	a.r.Observe(&radio.Reception{Packet: radio.Packet{Channel: ch, AccessAddress: aa, PDU: b}, Start: a.now}, port)
}

func (a *airRig) adv(port *radio.Port, b []byte) {
	a.send(port, 37, pdu.AdvertisingAccessAddress, b)
}

func meshAdv(t *testing.T, adType byte, data []byte) []byte {
	ad := append([]byte{byte(len(data) + 1), adType}, data...)
	p, err := pdu.AdvNonconnInd(addrC, true, ad)
	require.NoError(t, err)
	return p
}

func TestRecorderCollapsesAndDecodes(t *testing.T) {
	a := &airRig{t: t, r: NewRecorder("rig", Party{"A", addrA}, Party{"B", addrB}, Party{"C", addrC})}
	portA, portB, portC := new(radio.Port), new(radio.Port), new(radio.Port)
	advB, err := pdu.AdvInd(addrB, true, nil)
	require.NoError(t, err)
	// B advertises, interleaved with C's identical unprovisioned beacons.
	beacon := meshAdv(t, adMeshBeacon, append([]byte{0x00}, make([]byte, 18)...))
	for i := 0; i < 10; i++ {
		a.adv(portB, advB)
		a.adv(portC, beacon)
	}
	// PB-ADV: Link Open retransmitted three times, then a Link Ack.
	open := meshAdv(t, adPBADV, []byte{0, 0, 0, 1, 0, 0x03, 1, 2, 3})
	for i := 0; i < 3; i++ {
		a.adv(portC, open)
	}
	a.adv(portC, meshAdv(t, adPBADV, []byte{0, 0, 0, 1, 0, 0x07}))
	a.adv(portC, meshAdv(t, adPBADV, []byte{0, 0, 0, 1, 0, 0x00, 0x00, 0x01, 0xAB, 0x00, 0x05}))

	aa := uint32(0x50654321)
	ll := pdu.LLData{AccessAddress: aa, CRCInit: 0x123456, Interval: 24, Timeout: 72, Hop: 7, ChM: pdu.ChannelMap{0xff, 0xff, 0xff, 0xff, 0x1f}}
	a.adv(portA, pdu.ConnectInd(addrA, false, addrB, true, ll))
	data := func(port *radio.Port, llid pdu.LLID, payload []byte) {
		p, err := pdu.Data(llid, payload)
		require.NoError(t, err)
		a.send(port, 3, aa, p)
	}
	for i := 0; i < 5; i++ {
		data(portA, pdu.LLIDContinuation, nil)
		data(portB, pdu.LLIDContinuation, nil)
	}
	// A Read Request split over two fragments (L2CAP length 3, CID 4).
	data(portA, pdu.LLIDStart, []byte{3, 0, 4, 0, 0x0A})
	data(portA, pdu.LLIDContinuation, []byte{0x03, 0x00})
	data(portB, pdu.LLIDStart, []byte{2, 0, 4, 0, 0x0B, 0x40})
	data(portB, pdu.LLIDControl, pdu.BuildStartEncReq())
	data(portA, pdu.LLIDControl, make([]byte, 1+pdu.MICLen))
	data(portB, pdu.LLIDStart, make([]byte, 9+pdu.MICLen))

	tl := a.r.Timeline()
	var rows []string
	for _, e := range tl.Events {
		rows = append(rows, e.From+">"+e.To+" "+e.Label)
	}
	got := strings.Join(rows, "\n")
	require.Equal(t, strings.Join([]string{
		"B> ADV_IND ×10",
		"C> Unprovisioned Device Beacon ×10",
		"C> PB-ADV Link Open ×3",
		"C> PB-ADV Link Ack",
		"C> PB-ADV Provisioning Invite",
		"A>B CONNECT_IND",
		"A>B empty PDU ×10",
		"A>B Read Request",
		"B>A Read Response",
		"B>A LL_START_ENC_REQ",
		"A>B link encrypted from here",
		"A>B encrypted LL control",
		"B>A encrypted data",
	}, "\n"), got)
	require.Equal(t, EncryptionStarted, tl.Events[10].Kind)
	require.True(t, tl.Events[12].Encrypted)
	require.Equal(t, "handle 0x0003", tl.Events[7].Detail)
	require.Equal(t, "9 octets + MIC", tl.Events[12].Detail)
}

// TestRecorderSurvivesGarbage: nothing on the air can make it panic.
func TestRecorderSurvivesGarbage(t *testing.T) {
	a := &airRig{t: t, r: NewRecorder("garbage", Party{"A", addrA}, Party{"B", addrB})}
	aa := uint32(0x50654321)
	a.adv(nil, pdu.ConnectInd(addrA, false, addrB, true, pdu.LLData{AccessAddress: aa, Interval: 24}))
	rng := rand.New(rand.NewSource(1))
	ports := []*radio.Port{new(radio.Port), new(radio.Port)}
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(40))
		rng.Read(b)
		if len(b) >= 2 && rng.Intn(2) == 0 {
			b[1] = byte(len(b) - 2) // a consistent length field gets further
		}
		if len(b) >= 6 && rng.Intn(3) == 0 {
			binary.LittleEndian.PutUint16(b[2:], uint16(rng.Intn(8)))
		}
		ch := radio.Channel(rng.Intn(40))
		a.send(ports[rng.Intn(2)], ch, aa, b)
	}
	tl := a.r.Timeline()
	var buf strings.Builder
	require.NoError(t, WriteHTML(&buf, tl))
}

// TestRecorderDecryptsWithTheKeys feeds sealed PDUs and the keys each side
// derived: with the same keys the rows are decoded and marked decrypted,
// a key refresh is announced anew; with a wrong LTK on the peripheral the
// central's LL_START_ENC_RSP is shown with the MIC failure and the link is
// never marked encrypted.
func TestRecorderDecryptsWithTheKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		perLTK   byte
		want     []string
		micFail  bool
		starts   int
		readSeen bool
	}{
		{name: "same keys", perLTK: 0x11, starts: 2, readSeen: true, want: []string{
			"A>B CONNECT_IND",
			"A>B empty PDU",
			"B>A LL_START_ENC_REQ",
			"A>B link encrypted from here",
			"A>B LL_START_ENC_RSP",
			"B>A LL_START_ENC_RSP",
			"A>B Read Request",
			"A>B LL_PAUSE_ENC_REQ",
			"B>A LL_PAUSE_ENC_RSP",
			"A>B LL_PAUSE_ENC_RSP",
			"B>A LL_START_ENC_REQ",
			"A>B link encrypted from here",
			"A>B LL_START_ENC_RSP",
		}},
		{name: "wrong LTK", perLTK: 0x22, micFail: true, want: []string{
			"A>B CONNECT_IND",
			"A>B empty PDU",
			"B>A LL_START_ENC_REQ",
			"A>B LL_START_ENC_RSP",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &airRig{t: t, r: NewRecorder("rig", Party{"A", addrA}, Party{"B", addrB})}
			portA, portB := new(radio.Port), new(radio.Port)
			aa := uint32(0x50654321)
			a.adv(portA, pdu.ConnectInd(addrA, false, addrB, true, pdu.LLData{AccessAddress: aa, CRCInit: 0x123456, Interval: 24}))
			newKeys := func(port *radio.Port, role linklayer.Role, dir ccm.Direction, ltk byte) *ccm.Session {
				k := linklayer.SessionKeys{AccessAddress: aa, Role: role, TxDir: dir, Port: port}
				for i := range k.LTK {
					k.LTK[i], k.SKD[i] = ltk, byte(i)
				}
				a.r.AddKeys(k)
				s, err := ccm.NewSession(k.LTK, k.SKD, k.IV)
				require.NoError(t, err)
				return s
			}
			send := func(port *radio.Port, s *ccm.Session, dir ccm.Direction, llid pdu.LLID, payload []byte) {
				p, err := pdu.Data(llid, payload)
				require.NoError(t, err)
				if s != nil {
					p, err = s.Seal(dir, p)
					require.NoError(t, err)
				}
				a.send(port, 3, aa, p)
			}
			c2p, p2c := ccm.CentralToPeripheral, ccm.PeripheralToCentral
			send(portA, nil, 0, pdu.LLIDContinuation, nil) // the central transmits first
			per := newKeys(portB, linklayer.RolePeripheral, p2c, tc.perLTK)
			send(portB, nil, 0, pdu.LLIDControl, pdu.BuildStartEncReq())
			cen := newKeys(portA, linklayer.RoleCentral, c2p, 0x11)
			send(portA, cen, c2p, pdu.LLIDControl, pdu.BuildStartEncRsp())
			if !tc.micFail {
				send(portB, per, p2c, pdu.LLIDControl, pdu.BuildStartEncRsp())
				send(portA, cen, c2p, pdu.LLIDStart, []byte{3, 0, 4, 0, 0x0A, 0x03, 0x00})
				// Key refresh (§5.1.3.2): pause, then a new start.
				send(portA, cen, c2p, pdu.LLIDControl, pdu.BuildPauseEncReq())
				send(portB, per, p2c, pdu.LLIDControl, pdu.BuildPauseEncRsp())
				send(portA, nil, 0, pdu.LLIDControl, pdu.BuildPauseEncRsp())
				per = newKeys(portB, linklayer.RolePeripheral, p2c, 0x33)
				send(portB, nil, 0, pdu.LLIDControl, pdu.BuildStartEncReq())
				cen = newKeys(portA, linklayer.RoleCentral, c2p, 0x33)
				send(portA, cen, c2p, pdu.LLIDControl, pdu.BuildStartEncRsp())
			}
			tl := a.r.Timeline()
			var rows []string
			starts := 0
			for _, e := range tl.Events {
				rows = append(rows, e.From+">"+e.To+" "+e.Label)
				if e.Kind == EncryptionStarted {
					starts++
				}
				if e.Kind == Message && e.Encrypted {
					require.True(t, e.Decrypted, e.Label)
					require.Equal(t, tc.micFail, e.MICFailure, e.Label)
					if tc.micFail {
						require.Contains(t, e.Detail, "MIC failure at B")
					}
				}
			}
			require.Equal(t, strings.Join(tc.want, "\n"), strings.Join(rows, "\n"))
			require.Equal(t, tc.starts, starts)
			if tc.readSeen {
				rd := tl.Events[6]
				require.Equal(t, LayerATT, rd.Layer)
				require.Equal(t, "handle 0x0003", rd.Detail)
				require.True(t, rd.Encrypted && rd.Decrypted)
			}
		})
	}
}
