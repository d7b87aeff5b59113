package hci

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Bit positions from Core v5.4 Vol 6 Part B §4.6 Table 4.4, checked against
// the masks the Linux kernel uses (include/net/bluetooth/hci.h:
// HCI_LE_ENCRYPTION 0x01, HCI_LE_CONN_PARAM_REQ_PROC 0x02,
// HCI_LE_PERIPHERAL_FEATURES 0x08, HCI_LE_PING 0x10, HCI_LE_DATA_LEN_EXT 0x20,
// HCI_LE_LL_PRIVACY 0x40, HCI_LE_EXT_SCAN_POLICY 0x80 in octet 0;
// HCI_LE_PHY_2M 0x01, HCI_LE_PHY_CODED 0x08, HCI_LE_EXT_ADV 0x10,
// HCI_LE_PERIODIC_ADV 0x20, HCI_LE_CHAN_SEL_ALG2 0x40 in octet 1; CIS
// central le_features[3] & 0x10).
func TestLEFeatureBits(t *testing.T) {
	cases := []struct {
		f           LEFeature
		octet, mask byte
	}{
		{LEFeatEncryption, 0, 0x01},
		{LEFeatConnParamRequest, 0, 0x02},
		{LEFeatExtendedRejectInd, 0, 0x04},
		{LEFeatPeripheralFeatureExchange, 0, 0x08},
		{LEFeatPing, 0, 0x10},
		{LEFeatDataPacketLengthExtension, 0, 0x20},
		{LEFeatLLPrivacy, 0, 0x40},
		{LEFeatExtendedScannerFilterPolicy, 0, 0x80},
		{LEFeat2MPHY, 1, 0x01},
		{LEFeatCodedPHY, 1, 0x08},
		{LEFeatExtendedAdvertising, 1, 0x10},
		{LEFeatPeriodicAdvertising, 1, 0x20},
		{LEFeatChannelSelectionAlgorithm2, 1, 0x40},
		{LEFeatCISCentral, 3, 0x10},
		{LEFeatISOChannelsHostSupport, 4, 0x01},
		{LEFeatPAwRAdvertiser, 5, 0x08},
	}
	for _, c := range cases {
		s := MakeLEFeatures(c.f)
		var want LEFeatures
		want[c.octet] = c.mask
		assert.Equal(t, want, s, c.f.String())
		assert.True(t, s.Has(c.f))
	}
	assert.Equal(t, "LE Encryption", LEFeatEncryption.String())
	assert.Equal(t, "LE 2M PHY", LEFeat2MPHY.String())
	assert.Equal(t, "LEFeature(42)", LEFeature(42).String())
	assert.Equal(t, "LEFeature(200)", LEFeature(200).String())

	s := MakeLEFeatures(LEFeatEncryption, LEFeatConnParamRequest, LEFeatExtendedRejectInd, LEFeatPeripheralFeatureExchange, LEFeatDataPacketLengthExtension)
	assert.Equal(t, uint64(0x2F), s.Uint64())
	s.Set(200) // ignored, no panic
	assert.False(t, s.Has(200))
}

// An LE-only controller's LMP features page 0 (Vol 2 Part C §3.3): byte 4
// bit 5 "BR/EDR Not Supported" and byte 4 bit 6 "LE Supported (Controller)"
// (the kernel's LMP_NO_BREDR 0x20 and LMP_LE 0x40 in features[0][4]).
func TestLEOnlyLMPFeatures(t *testing.T) {
	assert.Equal(t, LMPFeatures{0, 0, 0, 0, 0x60, 0, 0, 0}, LEOnlyLMPFeatures())
	f := LEOnlyLMPFeatures()
	assert.True(t, f.Has(LMPFeatLESupportedController))
	assert.True(t, f.Has(LMPFeatBREDRNotSupported))
	assert.False(t, f.Has(LMPFeatEncryption))
	assert.False(t, f.Has(LMPFeatExtendedFeatures))
	var p1 LMPFeatures
	p1.Set(LMPFeatLESupportedHost)
	assert.Equal(t, LMPFeatures{0x02}, p1)
	p1.Set(99)
	assert.False(t, p1.Has(99))
}
