package prov

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/sim"
)

// replace swaps the first PDU of type typ sent by from for repl(pdu).
func replace(from string, typ PDUType, repl func(w *wire, pdu []byte) []byte) func(*wire, string, []byte) []byte {
	done := false
	return func(w *wire, f string, pdu []byte) []byte {
		if done || f != from || PDUType(pdu[0]) != typ {
			return pdu
		}
		done = true
		return repl(w, pdu)
	}
}

func with(b []byte) func(*wire, []byte) []byte { return func(*wire, []byte) []byte { return b } }

// reseal re-encrypts the provisioning data after edit, with the session
// keys both sides derived, so only the edited field is wrong.
func reseal(edit func(*Data)) func(*wire, []byte) []byte {
	return func(w *wire, _ []byte) []byte {
		d := w.prov.x.result.Data
		edit(&d)
		sealed, err := sealData(w.prov.x.session, d)
		if err != nil {
			panic(err)
		}
		return append([]byte{byte(TypeData)}, sealed...)
	}
}

// notOnCurve is X||Y of a point that is not on P-256.
func notOnCurve() []byte {
	b := bytes.Repeat([]byte{0x11}, 64)
	return append([]byte{byte(TypePublicKey)}, b...)
}

// TestDeviceFailures checks every error code a device sends in
// Provisioning Failed (§5.4.4), and that the provisioner then closes the
// link with reason Fail.
func TestDeviceFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(s *setup)
		mutate func(*wire, string, []byte) []byte
		want   ErrorCode
	}{
		{"Invalid PDU: RFU type 0x0E", nil, replace("provisioner", TypeInvite, with([]byte{0x0e, 0})), InvalidPDU},
		{"Invalid PDU: padding bits set", nil, replace("provisioner", TypeInvite, with([]byte{0x40, 0})), InvalidPDU},
		{"Invalid PDU: Records Get (certificate-based provisioning not supported)", nil,
			replace("provisioner", TypeInvite, with([]byte{byte(TypeRecordsGet)})), InvalidPDU},
		{"Invalid Format: Invite with 2 octets", nil, replace("provisioner", TypeInvite, with([]byte{0, 0, 0})), InvalidFormat},
		{"Invalid Format: Start with an RFU algorithm", nil,
			replace("provisioner", TypeStart, with([]byte{2, 5, 0, 0, 0, 0})), InvalidFormat},
		{"Invalid Format: Start with Public Key 0x02", nil,
			replace("provisioner", TypeStart, with([]byte{2, 0, 2, 0, 0, 0})), InvalidFormat},
		{"Invalid Format: OOB public key the device does not have", nil,
			replace("provisioner", TypeStart, with([]byte{2, 0, 1, 0, 0, 0})), InvalidFormat},
		{"Invalid Format: static OOB the device does not have", nil,
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 1, 0, 0})), InvalidFormat},
		{"Invalid Format: No OOB with action 1", nil,
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 0, 1, 0})), InvalidFormat},
		{"Invalid Format: output action not offered", func(s *setup) { s.withOOB(); s.dcfg.OutputSize, s.dcfg.OutputActions = 4, OutputBlink },
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 2, 1, 4})), InvalidFormat},
		{"Invalid Format: output size above the capability", func(s *setup) { s.withOOB(); s.dcfg.OutputSize, s.dcfg.OutputActions = 4, OutputBlink },
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 2, 0, 5})), InvalidFormat},
		{"Invalid Format: input OOB size 0", func(s *setup) { s.withOOB(); s.dcfg.InputSize, s.dcfg.InputActions = 4, InputPush },
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 3, 0, 0})), InvalidFormat},
		{"Invalid Format: RFU authentication method", nil,
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 4, 0, 0})), InvalidFormat},
		{"Invalid Format: No OOB when the device supports only OOB authentication", func(s *setup) {
			s.dcfg.OnlyOOBAuth = true
			s.dcfg.StaticOOB, s.target.StaticOOB = []byte{1}, []byte{1}
		},
			replace("provisioner", TypeStart, with([]byte{2, 0, 0, 0, 0, 0})), InvalidFormat},
		{"Invalid Format: 32-octet Confirmation with CMAC", nil,
			replace("provisioner", TypeConfirmation, with(append([]byte{5}, make([]byte, 32)...))), InvalidFormat},
		{"Invalid Format: the provisioner reflects the device's OOB public key", func(s *setup) {
			k, _ := NewKey(seeded(9))
			s.dcfg.OOBKey = k
			s.target.DevicePublicKey = PublicKeyBytes(k.PublicKey())
		}, replace("provisioner", TypePublicKey, func(w *wire, _ []byte) []byte {
			return append([]byte{byte(TypePublicKey)}, w.dev.x.pubD...)
		}), InvalidFormat},
		{"Unexpected PDU: Start before Invite", nil, replace("provisioner", TypeInvite, with([]byte{2, 0, 0, 0, 0, 0})), UnexpectedPDU},
		{"Unexpected PDU: a second Invite", nil, replace("provisioner", TypeStart, with([]byte{0, 0})), UnexpectedPDU},
		{"Unexpected PDU: Capabilities sent to the device", nil, replace("provisioner", TypeStart, with((Capabilities{Elements: 1, Algorithms: 1}).PDU())), UnexpectedPDU},
		{"Unexpected PDU: Provisioning Failed from the provisioner", nil, replace("provisioner", TypeStart, with([]byte{9, 1})), UnexpectedPDU},
		{"Unexpected PDU: Confirmation before the user's input (B4)", func(s *setup) {
			s.dcfg.InputSize, s.dcfg.InputActions = 2, InputPush
			s.dcfg.Input = func(InputAction, uint8, func(OOBValue)) {} // the user never pushes
			s.target.Show = func(InputAction, OOBValue) {}
			s.target.Start = &Start{Method: InputOOB, Action: 0, Size: 2}
		}, replace("provisioner", TypePublicKey, func(w *wire, pdu []byte) []byte {
			w.q = append(w.q, func() { w.dev.Receive(append([]byte{5}, make([]byte, 16)...)) })
			return pdu
		}), UnexpectedPDU},
		{"Confirmation Failed: wrong provisioner Random", nil,
			replace("provisioner", TypeRandom, func(_ *wire, pdu []byte) []byte { pdu[5] ^= 1; return pdu }), ConfirmationFailed},
		{"Confirmation Failed: the device's own Random reflected", nil,
			replace("provisioner", TypeRandom, func(w *wire, _ []byte) []byte { return append([]byte{6}, w.dev.x.random...) }), ConfirmationFailed},
		{"Out of Resources: the node cannot store the data", func(s *setup) {
			s.dcfg.Accept = func(Result) error { return errf(OutOfResources, "storage full") }
		}, nil, OutOfResources},
		{"Decryption Failed: a flipped bit in the Data", nil,
			replace("provisioner", TypeData, func(_ *wire, pdu []byte) []byte { pdu[10] ^= 0x80; return pdu }), DecryptionFailed},
		{"Unexpected Error: MESH/NODE/PROV/BI-13-C public key not on the curve", nil,
			replace("provisioner", TypePublicKey, with(notOnCurve())), UnexpectedError},
		{"Unexpected Error: the random source runs dry", func(s *setup) { s.dcfg.Rand = bytes.NewReader(make([]byte, 40)) }, nil, UnexpectedError},
		{"Unexpected Error: Accept fails for another reason", func(s *setup) {
			s.dcfg.Accept = func(Result) error { return bytes.ErrTooLarge }
		}, nil, UnexpectedError},
		{"Cannot Assign Addresses: address 0x0000", nil, replace("provisioner", TypeData, reseal(func(d *Data) { d.Address = 0 })), CannotAssignAddresses},
		{"Cannot Assign Addresses: group address", nil, replace("provisioner", TypeData, reseal(func(d *Data) { d.Address = 0xc000 })), CannotAssignAddresses},
		{"Cannot Assign Addresses: 3 elements from 0x7ffe", func(s *setup) { s.dcfg.Elements = 3 },
			replace("provisioner", TypeData, reseal(func(d *Data) { d.Address = 0x7ffe })), CannotAssignAddresses},
		{"Invalid Data: key index above 0x0FFF", nil, replace("provisioner", TypeData, reseal(func(d *Data) { d.KeyIndex = 0x1000 })), InvalidData},
		{"Invalid Data: RFU flag bits", nil, replace("provisioner", TypeData, reseal(func(d *Data) { d.Flags = 0x04 })), InvalidData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			w := s.runWith(tc.mutate)
			require.NotNil(t, w.devResult, "the device finished")
			require.Equal(t, tc.want, CodeOf(w.devResult.Err), "device error: %v", w.devResult.Err)
			last := w.log[len(w.log)-1]
			require.Equal(t, "device", last.from)
			require.Equal(t, []byte{byte(TypeFailed), byte(tc.want)}, last.pdu, "the device's last PDU is Provisioning Failed")
			require.NotNil(t, w.provResult)
			require.Equal(t, tc.want, CodeOf(w.provResult.Err))
			require.True(t, w.provResult.Remote)
			require.Equal(t, []CloseReason{CloseFail}, w.closes, "the link closes")
			require.Equal(t, "provisioner", w.closedBy)
			require.Equal(t, Failed, w.dev.State())
			require.Equal(t, Failed, w.prov.State())
			// A device that failed ignores anything more on the link.
			n := len(w.log)
			w.dev.Receive([]byte{0, 0})
			require.Len(t, w.log, n)
		})
	}
}

// TestProvisionerFailures checks that the provisioner closes the link with
// reason Fail (it never sends Provisioning Failed) and reports why.
func TestProvisionerFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(s *setup)
		mutate func(*wire, string, []byte) []byte
		want   ErrorCode
	}{
		{"Invalid PDU from the device", nil, replace("device", TypeCapabilities, with([]byte{0x3f})), InvalidPDU},
		{"Capabilities with 0 elements", nil, replace("device", TypeCapabilities, with((Capabilities{Algorithms: 1}).PDU())), InvalidFormat},
		{"Capabilities with 10 octets", nil, replace("device", TypeCapabilities, with(append([]byte{1}, make([]byte, 10)...))), InvalidFormat},
		{"Capabilities without a known algorithm", nil, replace("device", TypeCapabilities, with((Capabilities{Elements: 1, Algorithms: 4}).PDU())), InvalidFormat},
		{"Capabilities: output size without actions", nil, replace("device", TypeCapabilities, with((Capabilities{Elements: 1, Algorithms: 1, OutputSize: 3}).PDU())), InvalidFormat},
		{"an explicit Start the device cannot do", func(s *setup) { s.target.Start = &Start{Method: StaticOOB} }, nil, InvalidFormat},
		{"the device's public key is not on the curve", nil, replace("device", TypePublicKey, with(notOnCurve())), UnexpectedError},
		{"the device reflects the provisioner's public key", nil, replace("device", TypePublicKey, func(w *wire, _ []byte) []byte {
			return append([]byte{byte(TypePublicKey)}, w.prov.x.pubP...)
		}), InvalidFormat},
		{"the device reflects the provisioner's Confirmation", nil, replace("device", TypeConfirmation, func(w *wire, _ []byte) []byte {
			return append([]byte{byte(TypeConfirmation)}, w.prov.x.conf...)
		}), ConfirmationFailed},
		{"the device's Random does not match its Confirmation", nil,
			replace("device", TypeRandom, func(_ *wire, pdu []byte) []byte { pdu[1] ^= 1; return pdu }), ConfirmationFailed},
		{"Complete before Data", nil, replace("device", TypeRandom, with([]byte{byte(TypeComplete)})), UnexpectedPDU},
		{"a 16-octet Random with HMAC", func(s *setup) { s.target.Start = &Start{Algorithm: AlgorithmHMAC} },
			replace("device", TypeRandom, func(_ *wire, pdu []byte) []byte { return pdu[:17] }), InvalidFormat},
		{"no address for the device", func(s *setup) {
			s.target.Data = func(uint8) (Data, error) { return Data{}, errf(CannotAssignAddresses, "address space full") }
		}, nil, CannotAssignAddresses},
		{"route A2 without the device's key", func(s *setup) {
			k, _ := NewKey(seeded(4))
			s.dcfg.OOBKey = k
			s.target.Start = &Start{PublicKeyOOB: true}
		}, nil, UnexpectedError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			w := s.runWith(tc.mutate)
			require.NotNil(t, w.provResult)
			require.Equal(t, tc.want, CodeOf(w.provResult.Err), "provisioner error: %v", w.provResult.Err)
			require.False(t, w.provResult.Remote)
			require.Equal(t, []CloseReason{CloseFail}, w.closes)
			require.Equal(t, "provisioner", w.closedBy)
			for _, p := range w.log {
				if p.from == "provisioner" {
					require.NotEqual(t, TypeFailed, PDUType(p.pdu[0]), "a provisioner never sends Provisioning Failed")
				}
			}
			require.NotNil(t, w.devResult, "the device learns the link closed")
			var ce *ClosedError
			require.ErrorAs(t, w.devResult.Err, &ce)
			require.Equal(t, CloseFail, ce.Reason)
		})
	}
}

// TestProtocolTimeout: a session with a silent peer fails after 60 s and
// closes its link with reason Timeout (§5.4.4).
func TestProtocolTimeout(t *testing.T) {
	sched := sim.New(1)
	s := newSetup(t)
	s.pcfg.Sched = sched
	s.dcfg.Sched = sched
	w := s.runWith(replace("device", TypeCapabilities, func(*wire, []byte) []byte { return nil }))
	require.Nil(t, w.provResult)
	sched.RunFor(ProtocolTimeout - sim.Millisecond)
	w.run()
	require.Nil(t, w.provResult, "not before 60 s")
	sched.RunFor(2 * sim.Millisecond)
	w.run()
	require.NotNil(t, w.provResult)
	var ce *ClosedError
	require.ErrorAs(t, w.provResult.Err, &ce)
	require.Equal(t, CloseTimeout, ce.Reason)
	require.Equal(t, []CloseReason{CloseTimeout}, w.closes)
	require.NotNil(t, w.devResult)
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		pdu  []byte
		code ErrorCode
	}{
		{nil, InvalidFormat},
		{[]byte{0x00}, InvalidFormat},
		{[]byte{0x00, 5}, 0},
		{[]byte{0x80, 5}, InvalidPDU},
		{[]byte{0x0e}, InvalidPDU},
		{[]byte{0x3f}, InvalidPDU},
		{append([]byte{5}, make([]byte, 16)...), 0},
		{append([]byte{5}, make([]byte, 32)...), 0},
		{append([]byte{5}, make([]byte, 20)...), InvalidFormat},
		{append([]byte{7}, make([]byte, 33)...), 0},
		{append([]byte{7}, make([]byte, 25)...), InvalidFormat},
		{[]byte{8}, 0},
		{[]byte{8, 0}, InvalidFormat},
		{[]byte{0x0a, 0, 0, 0, 0, 0, 0}, 0},
		{[]byte{0x0b, 0, 0, 0, 0, 0, 0}, InvalidFormat},
		{[]byte{0x0d, 0, 0, 0}, InvalidFormat},
	} {
		_, _, err := Parse(tc.pdu)
		if tc.code == 0 {
			require.NoError(t, err, "% x", tc.pdu)
		} else {
			require.Equal(t, tc.code, CodeOf(err), "% x: %v", tc.pdu, err)
		}
	}
	require.Equal(t, "Invalid Format (0x02)", InvalidFormat.String())
	require.Equal(t, "Provisioning Public Key", TypePublicKey.String())
}
