package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"blesim/hosts/smp"
	"blesim/scenarios/world"
)

// initiator_keys and responder_keys are the pairing commands' fields: a
// central distributes the initiator's and requests the responder's, a
// peripheral the other way round; the misbehaviour and OOB fields reach
// the Security Manager.
func TestKeySecurityMapping(t *testing.T) {
	w, err := world.Parse("w.yaml", []byte(`devices:
  - name: Pi
    profile: central
    security:
      request_mitm: true
      initiator_keys: [enc-key, sign]
      responder_keys: [id-key]
      send_unnegotiated_keys: true
      fixed_ltk: "hex:ffeeddccbbaa99887766554433221100"
      fixed_ediv: 12
      oob_sc: {peer_random: "hex:0102030405060708090a0b0c0d0e0f10", peer_confirm: "hex:1112131415161718191a1b1c1d1e1f20"}
  - name: Tag
    profile: generic
    security:
      initiator_keys: [sign]
      responder_keys: [enc-key]
      strict_key_distribution: true
      oob_legacy_tk: "hex:00112233445566778899aabbccddeeff"
      oob_sc:
        private_key: "hex:3588f60906189e1a3a8f140f31c326cfe26cf913550f21909c0fedc18865b2d3"
        random: "hex:b8a913468a61f35a09eed92b3b473e08"
  - name: Plain
    profile: generic
`))
	require.NoError(t, err)
	pi, tag, plain := securityConfig(w.Devices[0], ""), securityConfig(w.Devices[1], ""), securityConfig(w.Devices[2], "")

	assert.Equal(t, smp.DistEncKey|smp.DistSignKey, *pi.Distribute, "the central distributes initiator_keys")
	assert.Equal(t, smp.DistIdKey, *pi.Request, "and asks for responder_keys")
	assert.True(t, pi.RequestMITM)
	assert.False(t, pi.Strict)
	assert.True(t, pi.Faults.SendUnnegotiatedKeys)
	assert.Equal(t, "ffeeddccbbaa99887766554433221100", pi.Faults.FixedLTK.String())
	assert.Equal(t, uint16(12), *pi.Faults.FixedEDIV)
	assert.Nil(t, pi.Faults.FixedRand)
	require.NotNil(t, pi.OOB)
	assert.Nil(t, pi.OOB.TK)
	assert.Equal(t, "0102030405060708090a0b0c0d0e0f10", pi.OOB.PeerR.String())
	assert.Equal(t, "1112131415161718191a1b1c1d1e1f20", pi.OOB.PeerC.String())
	assert.Nil(t, pi.LocalOOB)

	assert.Equal(t, smp.DistEncKey, *tag.Distribute, "the peripheral distributes responder_keys")
	assert.Equal(t, smp.DistSignKey, *tag.Request, "and accepts initiator_keys")
	assert.True(t, tag.Strict)
	require.NotNil(t, tag.OOB)
	assert.Equal(t, "00112233445566778899aabbccddeeff", tag.OOB.TK.String())
	assert.Nil(t, tag.OOB.PeerR)
	require.NotNil(t, tag.LocalOOB)
	r, c, err := tag.LocalOOB.Data()
	require.NoError(t, err)
	assert.Equal(t, "b8a913468a61f35a09eed92b3b473e08", r.String())
	assert.Equal(t, "54251121f87f1477d99c32638da56b62", c.String(), "the confirm value scenarios/library/oob.yaml gives the phone")

	assert.Nil(t, plain.Distribute)
	assert.Nil(t, plain.Request)
	assert.Equal(t, smp.Faults{}, plain.Faults)
	assert.Nil(t, plain.OOB)
	assert.Nil(t, plain.LocalOOB)
}
