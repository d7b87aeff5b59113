// Package vectors loads the Bluetooth Mesh sample data (Mesh Protocol v1.1
// §8) that the mesh packages are tested against. The JSON files next to this
// file are copies of ../shared/vectors/mesh_crypto.json and
// mesh_provisioning.json (so the tests run on a clean clone; a test checks
// the copies still match the shared ones when those are present), plus
// mesh_samples.json, the §8.3 message, §8.4 beacon and §8.9 proxy samples.
//
// All hex strings are big-endian, octet 0 first, as the spec prints them.
package vectors

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the directory holding the JSON files.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// SharedDir is ../shared/vectors relative to the module root.
func SharedDir() string {
	return filepath.Join(Dir(), "..", "..", "..", "..", "..", "shared", "vectors")
}

// Load decodes the JSON file name (in Dir) into v, failing t on error.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("vectors: %s: %v", name, err)
	}
}

// Hex decodes s, failing t on bad hex.
func Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vectors: bad hex %q: %v", s, err)
	}
	return b
}

// Hex16 decodes a 16-octet value.
func Hex16(t testing.TB, s string) [16]byte {
	t.Helper()
	b := Hex(t, s)
	if len(b) != 16 {
		t.Fatalf("vectors: %q is %d octets, want 16", s, len(b))
	}
	return [16]byte(b)
}

// Crypto is mesh_crypto.json (§8.1, §8.2).
type Crypto struct {
	S1 []struct {
		ID    string `json:"id"`
		M     string `json:"m_ascii"`
		S1    string `json:"s1"`
		Salts map[string]string
	} `json:"s1"`
	Salts struct {
		Values map[string]string `json:"values"`
	} `json:"s1_salts_printed_in_tables"`
	K1 []struct {
		ID, N, Salt, P, T, K1 string
	} `json:"k1"`
	K2 []struct {
		ID, N, P, Salt, T, T1, T2, T3, NID string
		EncryptionKey                      string `json:"encryption_key"`
		PrivacyKey                         string `json:"privacy_key"`
	} `json:"k2"`
	K3 []struct {
		ID, N, Salt, T string
		CMAC           string `json:"cmac_id64_01"`
		NetworkID      string `json:"network_id"`
	} `json:"k3"`
	K4 []struct {
		ID, N, Salt, T, AID string
		CMAC                string `json:"cmac_id6_01"`
	} `json:"k4"`
	VirtualAddress []struct {
		ID      string `json:"id"`
		Label   string `json:"label_uuid"`
		Address string `json:"address"`
	} `json:"virtual_address"`
}

// Algorithm is one provisioning sample (§8.7 / §8.17.1 CMAC, §8.17.2 HMAC).
type Algorithm struct {
	ID                   string `json:"id"`
	ProvisionerPrivate   string `json:"provisioner_private_key"`
	ProvisionerPublicX   string `json:"provisioner_public_key_x"`
	ProvisionerPublicY   string `json:"provisioner_public_key_y"`
	DevicePrivate        string `json:"device_private_key"`
	DevicePublicX        string `json:"device_public_key_x"`
	DevicePublicY        string `json:"device_public_key_y"`
	ECDHSecret           string `json:"ecdh_secret"`
	RandomProvisioner    string `json:"random_provisioner"`
	RandomDevice         string `json:"random_device"`
	Invite               string `json:"invite_pdu_value"`
	Capabilities         string `json:"capabilities_pdu_value"`
	Start                string `json:"start_pdu_value"`
	ConfirmationInputs   string `json:"confirmation_inputs"`
	ConfirmationSalt     string `json:"confirmation_salt"`
	ConfirmationKey      string `json:"confirmation_key"`
	AuthValue            string `json:"auth_value"`
	ConfirmationProv     string `json:"confirmation_provisioner"`
	ConfirmationDevice   string `json:"confirmation_device"`
	ProvisioningSalt     string `json:"provisioning_salt"`
	SessionKey           string `json:"session_key"`
	SessionNonce         string `json:"session_nonce"`
	DeviceKey            string `json:"device_key"`
	NetKey               string `json:"net_key"`
	NetKeyIndex          string `json:"net_key_index"`
	Flags                string `json:"flags"`
	IVIndex              string `json:"iv_index"`
	UnicastAddress       string `json:"unicast_address"`
	ProvisioningData     string `json:"provisioning_data"`
	EncProvisioningData  string `json:"encrypted_provisioning_data"`
	ProvisioningDataMIC  string `json:"provisioning_data_mic"`
	K5T                  string `json:"k5_t"`
	ConfirmationKeyK1T   string `json:"confirmation_key_k1_t"`
	SessionK1T           string `json:"session_k1_t"`
	SessionNonceFull     string `json:"session_nonce_full"`
	ProvisioningSaltIn   string `json:"provisioning_salt_input"`
	ConfirmationProvIn   string `json:"confirmation_provisioner_input"`
	ConfirmationDeviceIn string `json:"confirmation_device_input"`
}

// Step is one step of the §8.7 PB-ADV transcript.
type Step struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	From            string   `json:"from"`
	Transaction     string   `json:"transaction"`
	ProvisioningPDU string   `json:"provisioning_pdu"`
	TotalLength     string   `json:"total_length"`
	FCS             string   `json:"fcs"`
	Messages        []string `json:"messages"`
}

// Provisioning is mesh_provisioning.json.
type Provisioning struct {
	CMAC       Algorithm `json:"cmac_aes128"`
	HMAC       Algorithm `json:"hmac_sha256"`
	Transcript struct {
		LinkID     string `json:"link_id"`
		DeviceUUID string `json:"device_uuid"`
		Steps      []Step `json:"steps"`
	} `json:"pb_adv_transcript"`
	GATT struct {
		MTU             int      `json:"att_mtu"`
		ProvisioningPDU string   `json:"provisioning_pdu"`
		Values          []string `json:"att_values"`
	} `json:"pb_gatt_sar"`
}

// NetworkSample is one §8.3 / §8.9 network or proxy PDU sample.
type NetworkSample struct {
	ID          string `json:"id"`
	NetKey      string `json:"net_key"`
	K2P         string `json:"k2_p"`
	IVIndex     string `json:"iv_index"`
	CTL         int    `json:"ctl"`
	TTL         string `json:"ttl"`
	SEQ         string `json:"seq"`
	SRC         string `json:"src"`
	DST         string `json:"dst"`
	Transport   string `json:"transport_pdu"`
	NID         string `json:"nid"`
	Nonce       string `json:"network_nonce"`
	EncDSTTrans string `json:"enc_dst_transport"`
	NetMIC      string `json:"net_mic"`
	PECB        string `json:"pecb"`
	NetworkPDU  string `json:"network_pdu"`
}

// Samples is mesh_samples.json.
type Samples struct {
	Network []NetworkSample `json:"network"`
	Proxy   []NetworkSample `json:"proxy"`
	Upper   []struct {
		ID        string `json:"id"`
		Key       string `json:"key"`
		DeviceKey bool   `json:"device_key"`
		AID       string `json:"aid"`
		ASZMIC    int    `json:"aszmic"`
		IVIndex   string `json:"iv_index"`
		SEQ       string `json:"seq"`
		SRC       string `json:"src"`
		DST       string `json:"dst"`
		Label     string `json:"label_uuid"`
		Nonce     string `json:"nonce"`
		Access    string `json:"access"`
		EncAccess string `json:"enc_access"`
		TransMIC  string `json:"trans_mic"`
	} `json:"upper_transport"`
	UnprovisionedBeacon []struct {
		ID      string `json:"id"`
		UUID    string `json:"uuid"`
		OOBInfo string `json:"oob_info"`
		URI     string `json:"uri"`
		URIData string `json:"uri_data"`
		URIS1   string `json:"uri_s1"`
		Beacon  string `json:"beacon"`
	} `json:"unprovisioned_beacon"`
	SecureNetworkBeacon []struct {
		ID        string `json:"id"`
		NetKey    string `json:"net_key"`
		Flags     string `json:"flags"`
		IVIndex   string `json:"iv_index"`
		NetworkID string `json:"network_id"`
		BeaconKey string `json:"beacon_key"`
		AuthCMAC  string `json:"auth_cmac"`
		Beacon    string `json:"beacon"`
	} `json:"secure_network_beacon"`
}
