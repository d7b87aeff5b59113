// Package store is a mesh node's persistent provisioning state (Mesh
// Protocol v1.1 §3.9.8 replay protection, §3.11.5 IV Index, §4.2 node
// states): its keys, addresses, sequence number, IV Index, replay
// protection list and configuration, in a JSON state file written
// atomically (a temporary file in the same directory, fsync, rename,
// mode 0600), so that a node restarted from it stays in its network.
//
// Sequence numbers are persisted ahead of use: the file holds the end of
// a reserved block (SeqLimit), and a loaded node continues from there, so
// a crash never makes it reuse a SEQ (§3.4.4.3).
package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Key is a 128-bit key written as 32 hex digits.
type Key [16]byte

// MarshalText writes hex.
func (k Key) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k[:])), nil }

// UnmarshalText reads 32 hex digits.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil || len(v) != 16 {
		return fmt.Errorf("store: key %q: want 32 hex digits", b)
	}
	copy(k[:], v)
	return nil
}

// NetKey is one network key (§4.2.4).
type NetKey struct {
	Index uint16 `json:"index"`
	Key   Key    `json:"key"`
}

// AppKey is one application key bound to a NetKey (§4.2.5).
type AppKey struct {
	Index    uint16 `json:"index"`
	NetIndex uint16 `json:"net_index"`
	Key      Key    `json:"key"`
}

// Publication is a model's publication state (§4.2.3).
type Publication struct {
	Address    uint16 `json:"address"`
	Label      *Key   `json:"label,omitempty"` // Label UUID of a virtual address
	AppIndex   uint16 `json:"app_index"`
	Credential bool   `json:"friendship_credential,omitempty"`
	TTL        uint8  `json:"ttl"`
	Period     uint8  `json:"period"`     // steps (6 bits) and resolution (2 bits)
	Retransmit uint8  `json:"retransmit"` // count (3 bits) and interval steps (5 bits)
}

// Model is the configuration of one model instance: the AppKeys bound to
// it (§4.2.6), its subscription list (§4.2.4) and its publication.
type Model struct {
	Element int          `json:"element"`
	Model   string       `json:"model"` // "1000" (SIG) or "05F1:0001" (vendor)
	AppKeys []uint16     `json:"app_keys,omitempty"`
	Subs    []uint16     `json:"subscriptions,omitempty"`
	Labels  []Key        `json:"labels,omitempty"` // Label UUIDs of virtual subscriptions
	Pub     *Publication `json:"publication,omitempty"`
}

// RPLEntry is the replay protection list's record of one source
// (§3.9.8): the last SEQ accepted and the IV Index it came with.
type RPLEntry struct {
	Seq     uint32 `json:"seq"`
	IVIndex uint32 `json:"iv_index"`
}

// Remote is a node a configuration client knows: its primary address,
// element count and device key.
type Remote struct {
	Address  uint16 `json:"address"`
	Elements int    `json:"elements"`
	DevKey   Key    `json:"dev_key"`
	UUID     Key    `json:"uuid"`
}

// State is everything a provisioned node keeps.
type State struct {
	Version  int    `json:"version"`
	UUID     Key    `json:"uuid"`
	Address  uint16 `json:"unicast_address"` // primary element
	Elements int    `json:"elements"`
	DevKey   Key    `json:"dev_key"`
	IVIndex  uint32 `json:"iv_index"`
	IVUpdate bool   `json:"iv_update"`
	// SeqLimit is the end of the reserved block of sequence numbers: the
	// node may use any SEQ below it that it has not used; loaded, it
	// continues from SeqLimit.
	SeqLimit uint32   `json:"seq_limit"`
	NetKeys  []NetKey `json:"net_keys"`
	AppKeys  []AppKey `json:"app_keys,omitempty"`
	Models   []Model  `json:"models,omitempty"`

	DefaultTTL      uint8 `json:"default_ttl"`
	Relay           bool  `json:"relay"`
	RelayRetransmit uint8 `json:"relay_retransmit"`
	NetTransmit     uint8 `json:"net_transmit"`
	Beacon          bool  `json:"beacon"`

	RPL map[string]RPLEntry `json:"rpl,omitempty"` // by source address, "0x0001"

	// Remotes is the configuration client's list of nodes it provisioned.
	Remotes []Remote `json:"remotes,omitempty"`
}

// Version is the state file format version.
const Version = 1

// RPLKey is the key of an address in State.RPL.
func RPLKey(addr uint16) string { return fmt.Sprintf("0x%04x", addr) }

// ParseRPLKey decodes an RPL key.
func ParseRPLKey(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 0, 16)
	return uint16(v), err
}

// ErrNotFound is returned by Load when there is no state file.
var ErrNotFound = errors.New("store: no state file")

// Load reads a state file.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("store: %s: format version %d (want %d)", path, s.Version, Version)
	}
	if s.Address == 0 || s.Address >= 0x8000 || len(s.NetKeys) == 0 {
		return nil, fmt.Errorf("store: %s: no unicast address or NetKey", path)
	}
	if s.Elements < 1 {
		s.Elements = 1
	}
	return &s, nil
}

// Save writes s to path atomically: a temporary file in the same
// directory, written, synced and renamed over path (mode 0600: the file
// holds keys), then the directory synced.
func Save(path string, s *State) error {
	s.Version = Version
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Remove deletes the state file (Node Reset); a missing file is not an
// error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
