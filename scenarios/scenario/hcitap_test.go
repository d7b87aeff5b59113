package scenario

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/hosts/hcihost"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/vhci"
	"blesim/vhci/hci"
)

// Packets as the kernel and the controller exchange them, built with the
// HCI codec and SMP's Marshal.

const (
	h2c = vhci.HostToController
	c2h = vhci.ControllerToHost

	tapHandle = 0x0040
)

var (
	tapPeerAddr = hci.BDAddr{0x01, 0x02, 0x03, 0x04, 0x05, 0xC6} // static random
	tapPeer     = smp.Address{Type: hci.AddrRandom, Addr: tapPeerAddr}
	tapIdentity = smp.Address{Type: hci.AddrPublic, Addr: hci.BDAddr{0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6}}
)

func h4Event(e hci.Event) []byte { return hci.H4(hci.EventPacket, e) }

// connComplete is LE Connection Complete (Vol 4 Part E §7.7.65.1).
func connComplete(st hci.Status, handle uint16, role hcihost.Role, addrType hci.AddressType, addr hci.BDAddr) []byte {
	w := (&hci.Writer{}).U8(uint8(st)).U16(handle).U8(uint8(role)).U8(uint8(addrType)).Addr(addr).
		U16(24).U16(0).U16(400).U8(0)
	return h4Event(hci.NewLEMeta(hci.LEConnectionComplete, w.B))
}

// enhancedConnComplete is LE Enhanced Connection Complete (§7.7.65.10).
func enhancedConnComplete(handle uint16, role hcihost.Role, addrType hci.AddressType, addr hci.BDAddr) []byte {
	w := (&hci.Writer{}).U8(0).U16(handle).U8(uint8(role)).U8(uint8(addrType)).Addr(addr).
		Addr(hci.BDAddr{}).Addr(hci.BDAddr{}).U16(40).U16(0).U16(400).U8(0)
	return h4Event(hci.NewLEMeta(hci.LEEnhancedConnectionComplete, w.B))
}

func disconnComplete(st hci.Status, handle uint16, reason hci.Status) []byte {
	w := (&hci.Writer{}).U8(uint8(st)).U16(handle).U8(uint8(reason))
	return h4Event(hci.NewEvent(hci.EvtDisconnectionComplete, w.B))
}

func encChange(st hci.Status, handle uint16, enabled uint8) []byte {
	w := (&hci.Writer{}).U8(uint8(st)).U16(handle).U8(enabled)
	return h4Event(hci.NewEvent(hci.EvtEncryptionChange, w.B))
}

func keyRefresh(st hci.Status, handle uint16) []byte {
	w := (&hci.Writer{}).U8(uint8(st)).U16(handle)
	return h4Event(hci.NewEvent(hci.EvtEncryptionKeyRefreshComplete, w.B))
}

func aclPkt(handle uint16, pb uint8, data []byte) []byte {
	return hci.H4(hci.ACLPacket, hci.NewACL(handle, pb, data))
}

// l2capFrame is a basic L2CAP frame (Vol 3 Part A §3.1).
func l2capFrame(cid uint16, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(payload)))
	b = binary.LittleEndian.AppendUint16(b, cid)
	return append(b, payload...)
}

// smpACL is one SMP PDU in a single ACL packet, with the first-packet
// flag each direction uses (§5.4.2).
func smpACL(dir vhci.Direction, handle uint16, p smp.PDU) []byte {
	pb := hci.PBFirstFlushable
	if dir == h2c {
		pb = hci.PBFirstNonFlushable
	}
	return aclPkt(handle, pb, l2capFrame(0x0006, p.Marshal()))
}

func pairingParams(auth smp.AuthReq, init, resp smp.KeyDist) smp.PairingParams {
	return smp.PairingParams{IOCap: smp.KeyboardDisplay, AuthReq: auth, MaxKeySize: 16, InitKeyDist: init, RespKeyDist: resp}
}

// tapStep is one packet and the events it alone must make the tap emit.
type tapStep struct {
	dir  vhci.Direction
	pkt  []byte
	want []profiles.Event
}

func step(dir vhci.Direction, pkt []byte, want ...profiles.Event) tapStep {
	return tapStep{dir: dir, pkt: pkt, want: want}
}

func smpStep(dir vhci.Direction, p smp.PDU, want ...profiles.Event) tapStep {
	return step(dir, smpACL(dir, tapHandle, p), want...)
}

// Expected events.

func connected(role hcihost.Role, interval uint16) profiles.Event {
	return profiles.Connected{Handle: tapHandle, Role: role, PeerAddrType: hci.AddrRandom, PeerAddr: tapPeerAddr, Interval: interval}
}

func started(initiator bool) profiles.Event {
	return profiles.PairingStarted{PairingStarted: smp.PairingStarted{Handle: tapHandle, Peer: tapPeer, Initiator: initiator}}
}

func encChanged(st hci.Status, fromBond, refresh bool) profiles.Event {
	return profiles.EncryptionChanged{EncryptionChanged: smp.EncryptionChanged{Handle: tapHandle, Peer: tapPeer,
		Status: st, Enabled: st == hci.StatusSuccess, Refresh: refresh, FromBond: fromBond}}
}

func failed(reason smp.Reason, remote bool, err error) profiles.Event {
	return profiles.PairingFailed{PairingFailed: smp.PairingFailed{Handle: tapHandle, Peer: tapPeer, Reason: reason, Remote: remote, Err: err}}
}

func complete(peer smp.Address, sc, bonded bool, sent, received smp.KeyDist) profiles.Event {
	return profiles.PairingComplete{PairingComplete: smp.PairingComplete{Handle: tapHandle, Peer: peer, SC: sc,
		Bonded: bonded, Sent: sent, Received: received}}
}

// legacyCentralPairing is a legacy pairing with the kernel as central,
// the Pairing Request split across two ACL fragments: the peer (responder)
// distributes EncKey, the kernel Sign (Vol 3 Part H §3.6.1).
func legacyCentralPairing() []tapStep {
	req := smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding, smp.DistIdKey|smp.DistSignKey, smp.DistAll)}
	frame := l2capFrame(0x0006, req.Marshal())
	return []tapStep{
		step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
		step(h2c, aclPkt(tapHandle, hci.PBFirstNonFlushable, frame[:5])),
		step(h2c, aclPkt(tapHandle, hci.PBContinuing, frame[5:]), started(true)),
		smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(smp.AuthBonding, smp.DistSignKey, smp.DistEncKey)}),
		smpStep(h2c, smp.PairingConfirm{Value: [16]byte{1}}),
		smpStep(c2h, smp.PairingConfirm{Value: [16]byte{2}}),
		smpStep(h2c, smp.PairingRandom{Value: [16]byte{3}}),
		smpStep(c2h, smp.PairingRandom{Value: [16]byte{4}}),
		step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false)),
		smpStep(c2h, smp.EncryptionInformation{LTK: smp.Key{5}}),
		smpStep(c2h, smp.CentralIdentification{EDIV: 0x1234, Rand: 0x0102030405060708}),
		smpStep(h2c, smp.SigningInformation{CSRK: smp.Key{6}},
			complete(tapPeer, false, true, smp.DistSignKey, smp.DistEncKey)),
	}
}

// scCentralPairing is an LE Secure Connections pairing with the kernel as
// central: both distribute IdKey and Sign; EncKey, though requested, is
// not sent (§3.6.1) and must not be waited for.
func scCentralPairing() []tapStep {
	auth := smp.AuthBonding | smp.AuthSC
	return []tapStep{
		step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
		smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(auth, smp.DistAll, smp.DistAll)}, started(true)),
		smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(auth|smp.AuthMITM, smp.DistAll, smp.DistAll)}),
		smpStep(h2c, smp.PairingPublicKey{X: [32]byte{1}, Y: [32]byte{2}}),
		smpStep(c2h, smp.PairingPublicKey{X: [32]byte{3}, Y: [32]byte{4}}),
		smpStep(c2h, smp.PairingConfirm{Value: [16]byte{5}}),
		smpStep(h2c, smp.PairingRandom{Value: [16]byte{6}}),
		smpStep(c2h, smp.PairingRandom{Value: [16]byte{7}}),
		smpStep(h2c, smp.PairingDHKeyCheck{Value: [16]byte{8}}),
		smpStep(c2h, smp.PairingDHKeyCheck{Value: [16]byte{9}}),
		step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false)),
		smpStep(c2h, smp.IdentityInformation{IRK: smp.Key{10}}),
		smpStep(c2h, smp.IdentityAddressInformation{AddrType: tapIdentity.Type, Addr: tapIdentity.Addr}),
		smpStep(c2h, smp.SigningInformation{CSRK: smp.Key{11}}),
		smpStep(h2c, smp.IdentityInformation{IRK: smp.Key{12}}),
		smpStep(h2c, smp.IdentityAddressInformation{AddrType: hci.AddrRandom, Addr: hci.BDAddr{1, 1, 1, 1, 1, 0xC1}}),
		smpStep(h2c, smp.SigningInformation{CSRK: smp.Key{13}},
			complete(tapIdentity, true, true, smp.DistIdKey|smp.DistSignKey, smp.DistIdKey|smp.DistSignKey)),
	}
}

// pairingUntilConfirm connects (kernel as central) and starts a legacy
// pairing up to the kernel's Pairing Confirm.
func pairingUntilConfirm() []tapStep {
	return []tapStep{
		step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
		smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding, smp.DistAll, smp.DistAll)}, started(true)),
		smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(smp.AuthBonding, smp.DistAll, smp.DistAll)}),
		smpStep(h2c, smp.PairingConfirm{Value: [16]byte{1}}),
	}
}

func concat(parts ...[]tapStep) []tapStep {
	var out []tapStep
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// runTap feeds the steps to a fresh tap and checks, packet by packet,
// the events each one emitted.
func runTap(t *testing.T, steps []tapStep) {
	t.Helper()
	var got []profiles.Event
	tap := newHCITap(func(e profiles.Event) {
		// The association model is checked by TestHCITapMethod.
		if pc, ok := e.(profiles.PairingComplete); ok {
			pc.Method, pc.Authenticated = 0, false
			e = pc
		}
		got = append(got, e)
	})
	for i, s := range steps {
		got = nil
		tap.packet(s.dir, s.pkt)
		require.Equal(t, s.want, got, "step %d (%s, % x)", i, s.dir, s.pkt)
	}
}

// TestHCITapMethod: the tap reports the association model both sides
// derive from the Pairing Request and Response (Vol 3 Part H Tables
// 2.6-2.8), e.g. for the e-lock: a keyboard phone and a display-only lock
// with MITM use Passkey Entry with the phone typing.
func TestHCITapMethod(t *testing.T) {
	for _, tc := range []struct {
		name          string
		reqIO, rspIO  smp.IOCapability
		auth          smp.AuthReq
		want          smp.Method
		authenticated bool
	}{
		{"legacy just works", smp.NoInputNoOutput, smp.NoInputNoOutput, smp.AuthBonding, smp.JustWorks, false},
		{"legacy passkey, phone types", smp.KeyboardOnly, smp.DisplayOnly, smp.AuthBonding | smp.AuthMITM, smp.PasskeyInitiatorInputs, true},
		{"SC passkey, phone types", smp.KeyboardDisplay, smp.DisplayOnly, smp.AuthBonding | smp.AuthMITM | smp.AuthSC, smp.PasskeyInitiatorInputs, true},
		{"SC numeric comparison", smp.KeyboardDisplay, smp.DisplayYesNo, smp.AuthBonding | smp.AuthMITM | smp.AuthSC, smp.NumericComparison, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []profiles.Event
			tap := newHCITap(func(e profiles.Event) { got = append(got, e) })
			req := smp.PairingParams{IOCap: tc.reqIO, AuthReq: tc.auth, MaxKeySize: 16}
			rsp := smp.PairingParams{IOCap: tc.rspIO, AuthReq: tc.auth, MaxKeySize: 16}
			for _, s := range []tapStep{
				step(vhci.ControllerToHost, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr)),
				smpStep(vhci.HostToController, smp.PairingRequest{PairingParams: req}),
				smpStep(vhci.ControllerToHost, smp.PairingResponse{PairingParams: rsp}),
				step(vhci.ControllerToHost, encChange(hci.StatusSuccess, tapHandle, 1)),
			} {
				tap.packet(s.dir, s.pkt)
			}
			require.NotEmpty(t, got)
			pc, ok := got[len(got)-1].(profiles.PairingComplete)
			require.True(t, ok, "last event %T", got[len(got)-1])
			require.Equal(t, tc.want, pc.Method)
			require.Equal(t, tc.authenticated, pc.Authenticated)
		})
	}
}

func TestHCITapEvents(t *testing.T) {
	legacy := legacyCentralPairing()
	tests := []struct {
		name  string
		steps []tapStep
	}{
		{"connection complete success is Connected with the peer address", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RolePeripheral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RolePeripheral, 24)),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusRemoteUserTerminated),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusRemoteUserTerminated}),
		}},
		{"enhanced connection complete is Connected", []tapStep{
			step(c2h, enhancedConnComplete(tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 40)),
		}},
		{"failed connection complete reports nothing and opens no connection", []tapStep{
			step(c2h, connComplete(hci.StatusConnectionAcceptTimeout, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr)),
			smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding, smp.DistAll, smp.DistAll)}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1)),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusRemoteUserTerminated)),
		}},
		{"disconnection of an unknown handle or with a failed status reports nothing", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle+1, hci.StatusRemoteUserTerminated)),
			step(c2h, disconnComplete(hci.StatusCommandDisallowed, tapHandle, hci.StatusRemoteUserTerminated)),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusConnectionTimeout),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusConnectionTimeout}),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusConnectionTimeout)),
		}},
		{"the kernel's HCI Disconnect gives the reason its Disconnection Complete (0x16) does not", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(h2c, hci.H4(hci.CommandPacket, hci.NewCommand(hci.OpDisconnect, []byte{byte(tapHandle), byte(tapHandle >> 8), 0x05}))),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusLocalHostTerminated),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusLocalHostTerminated, Given: hci.StatusAuthenticationFailure}),
		}},
		{"a Disconnect for another handle gives nothing to this one", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(h2c, hci.H4(hci.CommandPacket, hci.NewCommand(hci.OpDisconnect, []byte{byte(tapHandle + 1), byte((tapHandle + 1) >> 8), 0x05}))),
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusLocalHostTerminated),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusLocalHostTerminated}),
		}},
		{"legacy pairing as central completes after the last key", legacy},
		{"legacy pairing completes once: repeated keys report nothing more", concat(legacy,
			[]tapStep{smpStep(h2c, smp.SigningInformation{CSRK: smp.Key{6}}), smpStep(c2h, smp.CentralIdentification{})})},
		{"legacy pairing: the kernel's key first, then the peer's", concat(legacy[:10], []tapStep{
			smpStep(h2c, smp.SigningInformation{CSRK: smp.Key{6}}),
			smpStep(c2h, smp.CentralIdentification{EDIV: 1, Rand: 2}, complete(tapPeer, false, true, smp.DistSignKey, smp.DistEncKey)),
		})},
		{"legacy pairing as peripheral: the peer initiates and distributes the initiator keys", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RolePeripheral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RolePeripheral, 24)),
			smpStep(c2h, smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding, smp.DistAll, smp.DistAll)}, started(false)),
			smpStep(h2c, smp.PairingResponse{PairingParams: pairingParams(smp.AuthBonding, smp.DistSignKey, smp.DistEncKey)}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false)),
			smpStep(h2c, smp.EncryptionInformation{LTK: smp.Key{1}}),
			smpStep(h2c, smp.CentralIdentification{EDIV: 1, Rand: 2}),
			smpStep(c2h, smp.SigningInformation{CSRK: smp.Key{3}}, complete(tapPeer, false, true, smp.DistEncKey, smp.DistSignKey)),
		}},
		{"a key sent before encryption does not complete the pairing before Encryption Change", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding, 0, smp.DistSignKey)}, started(true)),
			smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(smp.AuthBonding, 0, smp.DistSignKey)}),
			smpStep(c2h, smp.SigningInformation{CSRK: smp.Key{1}}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false),
				complete(tapPeer, false, true, 0, smp.DistSignKey)),
		}},
		{"SC pairing completes without EncKey", scCentralPairing()},
		{"SC pairing without key distribution completes at Encryption Change", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(smp.AuthSC, smp.DistEncKey, smp.DistEncKey)}, started(true)),
			smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(smp.AuthSC, smp.DistEncKey, smp.DistEncKey)}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false),
				complete(tapPeer, true, false, 0, 0)),
		}},
		{"SC requested but refused by the peer is legacy: EncKey is awaited", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			smpStep(h2c, smp.PairingRequest{PairingParams: pairingParams(smp.AuthBonding|smp.AuthSC, 0, smp.DistEncKey)}, started(true)),
			smpStep(c2h, smp.PairingResponse{PairingParams: pairingParams(smp.AuthBonding, 0, smp.DistEncKey)}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, false, false)),
			smpStep(c2h, smp.EncryptionInformation{LTK: smp.Key{1}}),
			smpStep(c2h, smp.CentralIdentification{EDIV: 1, Rand: 2}, complete(tapPeer, false, true, 0, smp.DistEncKey)),
		}},
		{"Pairing Failed from the peer", concat(pairingUntilConfirm(), []tapStep{
			smpStep(c2h, smp.PairingFailedPDU{Reason: smp.ReasonConfirmValueFailed}, failed(smp.ReasonConfirmValueFailed, true, nil)),
			smpStep(c2h, smp.PairingFailedPDU{Reason: smp.ReasonConfirmValueFailed}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, true, false)),
		})},
		{"Pairing Failed from the kernel", concat(pairingUntilConfirm(), []tapStep{
			smpStep(h2c, smp.PairingFailedPDU{Reason: smp.ReasonPasskeyEntryFailed}, failed(smp.ReasonPasskeyEntryFailed, false, nil)),
		})},
		{"Pairing Failed with no pairing reports nothing", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			smpStep(c2h, smp.PairingFailedPDU{Reason: smp.ReasonPairingNotSupported}),
		}},
		{"PIN or Key Missing with no pairing is a bond encryption failure", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(c2h, encChange(hci.StatusPINOrKeyMissing, tapHandle, 0), encChanged(hci.StatusPINOrKeyMissing, true, false)),
		}},
		{"encryption from a bond, then a key refresh", []tapStep{
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, true, false)),
			step(c2h, keyRefresh(hci.StatusSuccess, tapHandle), encChanged(hci.StatusSuccess, true, true)),
			step(c2h, encChange(hci.StatusSuccess, tapHandle+1, 1)),
		}},
		{"encryption failure during a pairing fails it", concat(pairingUntilConfirm(), []tapStep{
			step(c2h, encChange(hci.StatusAuthenticationFailure, tapHandle, 0), encChanged(hci.StatusAuthenticationFailure, false, false),
				failed(smp.ReasonUnspecified, false, hci.StatusAuthenticationFailure)),
			smpStep(c2h, smp.CentralIdentification{}),
		})},
		{"disconnection during a pairing fails it, then Disconnected", concat(pairingUntilConfirm(), []tapStep{
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusRemoteUserTerminated),
				failed(smp.ReasonUnspecified, false, hci.StatusRemoteUserTerminated),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusRemoteUserTerminated}),
			smpStep(c2h, smp.PairingFailedPDU{Reason: smp.ReasonUnspecified}),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1)),
		})},
		{"disconnection after a completed pairing is only Disconnected", concat(legacy, []tapStep{
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusLocalHostTerminated),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusLocalHostTerminated}),
		})},
		{"a new connection on a reused handle starts clean", concat(pairingUntilConfirm(), []tapStep{
			step(c2h, disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusConnectionTimeout),
				failed(smp.ReasonUnspecified, false, hci.StatusConnectionTimeout),
				profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusConnectionTimeout}),
			step(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr), connected(hcihost.RoleCentral, 24)),
			step(c2h, encChange(hci.StatusSuccess, tapHandle, 1), encChanged(hci.StatusSuccess, true, false)),
		})},
		{"SMP on another handle or another CID is not this connection's", concat(pairingUntilConfirm(), []tapStep{
			step(c2h, aclPkt(tapHandle+1, hci.PBFirstFlushable, l2capFrame(0x0006, smp.PairingFailedPDU{Reason: 1}.Marshal()))),
			step(c2h, aclPkt(tapHandle, hci.PBFirstFlushable, l2capFrame(0x0004, smp.PairingFailedPDU{Reason: 1}.Marshal()))),
			smpStep(c2h, smp.PairingFailedPDU{Reason: 1}, failed(1, true, nil)),
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runTap(t, tc.steps) })
	}
}

// Malformed packets report nothing and leave the tap's state as it was:
// each is a broken copy of a packet that, intact, reports something, and
// the intact one is fed next to prove the state was live.
func TestHCITapMalformed(t *testing.T) {
	pf := smp.PairingFailedPDU{Reason: smp.ReasonUnspecified}
	good := map[string][]byte{
		"disconn": disconnComplete(hci.StatusSuccess, tapHandle, hci.StatusRemoteUserTerminated),
		"enc":     encChange(hci.StatusSuccess, tapHandle, 1),
		"failed":  smpACL(c2h, tapHandle, pf),
	}
	withLen := func(pkt []byte, off int, n uint8) []byte {
		b := append([]byte(nil), pkt...)
		b[off] = n
		return b
	}
	frame := l2capFrame(0x0006, pf.Marshal())
	tests := []struct {
		name string
		dir  vhci.Direction
		bad  []byte
		good string // key in good: the intact packet, fed after
	}{
		{"empty", c2h, nil, "enc"},
		{"indicator only", c2h, []byte{byte(hci.EventPacket)}, "enc"},
		{"unknown packet type", c2h, append([]byte{0x07}, good["enc"][1:]...), "enc"},
		{"vendor packet", c2h, append([]byte{0xff}, good["enc"][1:]...), "enc"},
		{"command packet", h2c, append([]byte{byte(hci.CommandPacket)}, good["enc"][1:]...), "enc"},
		{"event sent to the controller", h2c, good["enc"], "enc"},
		{"truncated event", c2h, good["enc"][:len(good["enc"])-1], "enc"},
		{"event length too long", c2h, withLen(good["enc"], 2, 5), "enc"},
		{"event length too short", c2h, withLen(good["enc"], 2, 3), "disconn"},
		{"event with a parameter missing, length consistent", c2h,
			h4Event(hci.NewEvent(hci.EvtDisconnectionComplete, []byte{0, tapHandle, 0})), "disconn"},
		{"event with a trailing parameter", c2h,
			h4Event(hci.NewEvent(hci.EvtEncryptionChange, []byte{0, tapHandle, 0, 1, 0})), "enc"},
		{"LE Meta without subevent", c2h, h4Event(hci.NewEvent(hci.EvtLEMeta, nil)), "enc"},
		{"ACL header short", c2h, []byte{byte(hci.ACLPacket), tapHandle, 0x20, 4}, "failed"},
		{"ACL length longer than data", c2h, withLen(good["failed"], 3, byte(len(frame)+1)), "failed"},
		{"ACL length shorter than data", c2h, withLen(good["failed"], 3, byte(len(frame)-1)), "failed"},
		{"ACL truncated", c2h, good["failed"][:len(good["failed"])-1], "failed"},
		{"L2CAP frame with a byte past the SMP PDU", c2h,
			aclPkt(tapHandle, hci.PBFirstFlushable, append(withLen(frame, 0, byte(len(frame)-3)), 0)), "failed"},
		{"L2CAP length beyond the ACL data, never continued", c2h,
			aclPkt(tapHandle, hci.PBFirstFlushable, withLen(frame, 0, byte(len(frame)))), "failed"},
		{"SMP PDU too short", c2h, aclPkt(tapHandle, hci.PBFirstFlushable, l2capFrame(0x0006, []byte{byte(smp.CodePairingFailed)})), "failed"},
		{"SMP PDU too long", c2h, aclPkt(tapHandle, hci.PBFirstFlushable, l2capFrame(0x0006, append(pf.Marshal(), 0))), "failed"},
		{"empty SMP PDU", c2h, aclPkt(tapHandle, hci.PBFirstFlushable, l2capFrame(0x0006, nil)), "failed"},
		{"reserved SMP code", c2h, aclPkt(tapHandle, hci.PBFirstFlushable, l2capFrame(0x0006, []byte{0x1f, 0x08})), "failed"},
		{"continuing fragment without a start", c2h, aclPkt(tapHandle, hci.PBContinuing, frame), "failed"},
		{"empty ACL", c2h, aclPkt(tapHandle, hci.PBFirstFlushable, nil), "failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps := concat(pairingUntilConfirm(), []tapStep{step(tc.dir, tc.bad)})
			var want []profiles.Event
			switch tc.good {
			case "disconn":
				want = []profiles.Event{failed(smp.ReasonUnspecified, false, hci.StatusRemoteUserTerminated),
					profiles.Disconnected{Handle: tapHandle, Reason: hci.StatusRemoteUserTerminated}}
			case "enc":
				want = []profiles.Event{encChanged(hci.StatusSuccess, false, false)}
			case "failed":
				want = []profiles.Event{failed(smp.ReasonUnspecified, true, nil)}
			}
			steps = append(steps, step(c2h, good[tc.good], want...))
			runTap(t, steps)
		})
	}
}

// FuzzHCITap feeds arbitrary packets in both directions after a
// connection: nothing may panic, and the events must stay coherent (a
// pairing ends only after it started; Disconnected only for a connection
// the tap reported).
//
// The input is a sequence of records: direction (bit 0), length, packet.
func FuzzHCITap(f *testing.F) {
	for _, steps := range [][]tapStep{legacyCentralPairing(), scCentralPairing(), pairingUntilConfirm()} {
		f.Add(tapRecords(steps[1:]))
	}
	f.Add(tapRecords(concat(pairingUntilConfirm()[1:], []tapStep{step(c2h, disconnComplete(0, tapHandle, 0x13))})))
	f.Add([]byte{})
	f.Add([]byte{1, 3, byte(hci.EventPacket), byte(hci.EvtLEMeta), 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []profiles.Event
		tap := newHCITap(func(e profiles.Event) { evs = append(evs, e) })
		tap.packet(c2h, connComplete(hci.StatusSuccess, tapHandle, hcihost.RoleCentral, hci.AddrRandom, tapPeerAddr))
		for len(b) >= 2 {
			dir, n := vhci.Direction(b[0]&1), int(b[1])
			b = b[2:]
			n = min(n, len(b))
			tap.packet(dir, b[:n])
			b = b[n:]
		}
		if err := tapCoherent(evs); err != nil {
			t.Fatal(err)
		}
	})
}

func tapRecords(steps []tapStep) []byte {
	var b []byte
	for _, s := range steps {
		b = append(b, byte(s.dir), byte(len(s.pkt)))
		b = append(b, s.pkt...)
	}
	return b
}

// tapCoherent checks the order of the tap's events per handle.
func tapCoherent(evs []profiles.Event) error {
	conn, pairing := map[uint16]bool{}, map[uint16]bool{}
	for i, e := range evs {
		switch e := e.(type) {
		case profiles.Connected:
			conn[e.Handle], pairing[e.Handle] = true, false
		case profiles.Disconnected:
			if !conn[e.Handle] || pairing[e.Handle] {
				return fmt.Errorf("event %d: %+v on a handle not connected or still pairing: %v", i, e, evs)
			}
			conn[e.Handle] = false
		case profiles.PairingStarted:
			if !conn[e.Handle] {
				return fmt.Errorf("event %d: %+v on no connection: %v", i, e, evs)
			}
			pairing[e.Handle] = true
		case profiles.PairingComplete:
			if !pairing[e.Handle] {
				return fmt.Errorf("event %d: %+v without a pairing: %v", i, e, evs)
			}
			pairing[e.Handle] = false
		case profiles.PairingFailed:
			if !pairing[e.Handle] {
				return fmt.Errorf("event %d: %+v without a pairing: %v", i, e, evs)
			}
			pairing[e.Handle] = false
		case profiles.EncryptionChanged:
			if !conn[e.Handle] || e.FromBond == pairing[e.Handle] {
				return fmt.Errorf("event %d: %+v (pairing %v): %v", i, e, pairing[e.Handle], evs)
			}
		default:
			return fmt.Errorf("event %d: unexpected %T", i, e)
		}
	}
	return nil
}
