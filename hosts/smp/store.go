package smp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"blesim/hosts/crypto/smpcrypto"
	"blesim/vhci/hci"
)

// Bond is what a device keeps about a peer it bonded with (Vol 3 Part H
// §2.4, Vol 3 Part C §9.4). Keys are in wire order.
type Bond struct {
	// Peer is the peer's identity address (its Identity Address
	// Information, else the address it connected with).
	Peer Address `json:"peer"`
	// LTK, EDIV and Rand encrypt the link when this device is the
	// central: in legacy pairing the peer's distributed keys (Encryption
	// Information, Central Identification), in LE Secure Connections the
	// pairing's LTK with EDIV and Rand zero. nil when the peer sent none.
	LTK  *Key   `json:"ltk,omitempty"`
	EDIV uint16 `json:"ediv"`
	Rand uint64 `json:"rand"`
	// KeySize is the negotiated encryption key size (7..16).
	KeySize int `json:"key_size"`
	// Authenticated: the pairing had MITM protection.
	Authenticated bool `json:"authenticated"`
	// SC: the pairing was LE Secure Connections.
	SC bool `json:"sc"`
	// PeerIRK and PeerCSRK are the peer's identity resolving and
	// signature keys.
	PeerIRK  *Key `json:"peer_irk,omitempty"`
	PeerCSRK *Key `json:"peer_csrk,omitempty"`
	// Local holds the keys this device distributed.
	Local LocalKeys `json:"local"`
	// Connections counts connections with this peer since bonding (for
	// Config.ForgetAfter).
	Connections int `json:"connections"`
}

// LocalKeys are the keys a device distributed to a peer. In legacy
// pairing the peripheral encrypts with its own LTK, EDIV and Rand.
type LocalKeys struct {
	LTK  *Key   `json:"ltk,omitempty"`
	EDIV uint16 `json:"ediv"`
	Rand uint64 `json:"rand"`
	IRK  *Key   `json:"irk,omitempty"`
	CSRK *Key   `json:"csrk,omitempty"`
}

// CentralKey returns the LTK, EDIV and Rand a central starts encryption
// with (Vol 4 Part E §7.8.24), and whether there is one.
func (b *Bond) CentralKey() (ltk Key, ediv uint16, rand uint64, ok bool) {
	if b.LTK == nil {
		return Key{}, 0, 0, false
	}
	if b.SC {
		return *b.LTK, 0, 0, true
	}
	return *b.LTK, b.EDIV, b.Rand, true
}

// PeripheralKey returns the LTK a peripheral answers an LTK Request for
// ediv and rand with (§7.8.25): the SC LTK for EDIV = Rand = 0, or the
// legacy LTK it distributed when EDIV and Rand match.
func (b *Bond) PeripheralKey(ediv uint16, rand uint64) (Key, bool) {
	if b.SC {
		if b.LTK != nil && ediv == 0 && rand == 0 {
			return *b.LTK, true
		}
		return Key{}, false
	}
	if b.Local.LTK != nil && ediv == b.Local.EDIV && rand == b.Local.Rand {
		return *b.Local.LTK, true
	}
	return Key{}, false
}

// hasKey reports whether the bond can encrypt a link in either role.
func (b *Bond) hasKey() bool { return b.LTK != nil || b.Local.LTK != nil }

// resolves reports whether addr is a resolvable private address of the
// bond's peer.
func (b *Bond) resolves(addr hci.BDAddr) bool {
	return b.PeerIRK != nil && smpcrypto.ResolveRPA(smpcrypto.Rev16(*b.PeerIRK), addr)
}

// storeFile is the on-disk format.
type storeFile struct {
	Version  int    `json:"version"`
	LocalIRK *Key   `json:"local_irk,omitempty"`
	Bonds    []Bond `json:"bonds"`
}

// Store holds one device's bonds, keyed by the peer's identity address.
// With a path it is a JSON file, loaded by OpenStore and rewritten
// atomically on every change: a temporary file in the same directory is
// written and synced, renamed over the old one and the directory synced;
// the file's mode is 0600. Without a path it lives in memory.
type Store struct {
	path     string
	bonds    map[Address]*Bond
	localIRK *Key
}

// NewMemoryStore returns an empty store that is never written to disk.
func NewMemoryStore() *Store { return &Store{bonds: map[Address]*Bond{}} }

// OpenStore returns the store kept in the file at path, loading it when
// it exists.
func OpenStore(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("smp: bond store path is empty")
	}
	s := &Store{path: path, bonds: map[Address]*Bond{}}
	if err := s.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the file path ("" for a memory store).
func (s *Store) Path() string { return s.path }

// Load (re)reads the file. A missing file is an empty store.
func (s *Store) Load() error {
	if s.path == "" {
		return nil
	}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.bonds = map[Address]*Bond{}
		s.localIRK = nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("smp: bond store: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("smp: bond store %s: %w", s.path, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("smp: bond store %s: version %d not supported (want 1)", s.path, f.Version)
	}
	bonds := map[Address]*Bond{}
	for i := range f.Bonds {
		b := f.Bonds[i]
		b.Peer = b.Peer.norm()
		if b.KeySize != 0 && (b.KeySize < 7 || b.KeySize > 16) {
			return fmt.Errorf("smp: bond store %s: bond %s: key size %d outside 7..16", s.path, b.Peer, b.KeySize)
		}
		bonds[b.Peer] = &b
	}
	s.bonds, s.localIRK = bonds, f.LocalIRK
	return nil
}

// Save writes the store atomically (see Store). A memory store does
// nothing.
func (s *Store) Save() error {
	if s.path == "" {
		return nil
	}
	f := storeFile{Version: 1, LocalIRK: s.localIRK, Bonds: s.All()}
	if f.Bonds == nil {
		f.Bonds = []Bond{}
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("smp: bond store: %w", err)
	}
	return writeAtomic(s.path, append(raw, '\n'))
}

// rename is os.Rename (a variable so tests can make it fail).
var (
	rename   = os.Rename
	osRename = os.Rename
)

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("smp: bond store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("smp: bond store: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("smp: bond store %s: %w", path, err)
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get returns the bond with the peer whose identity address is a.
func (s *Store) Get(a Address) (Bond, bool) {
	b, ok := s.bonds[a.norm()]
	if !ok {
		return Bond{}, false
	}
	return *b, true
}

// Resolve returns the bond whose peer IRK resolves the resolvable private
// address addr (Vol 6 Part B §1.3.2.3).
func (s *Store) Resolve(addr hci.BDAddr) (Bond, bool) {
	if !addr.IsResolvablePrivate() {
		return Bond{}, false
	}
	for _, b := range s.All() {
		if b.resolves(addr) {
			return b, true
		}
	}
	return Bond{}, false
}

// Lookup finds the bond of a peer seen at address a: by identity, else
// by resolving a resolvable private address.
func (s *Store) Lookup(a Address) (Bond, bool) {
	if b, ok := s.Get(a); ok {
		return b, true
	}
	if a.Type&1 == 1 {
		return s.Resolve(a.Addr)
	}
	return Bond{}, false
}

// Put stores b (replacing the bond with the same peer) and saves.
func (s *Store) Put(b Bond) error {
	b.Peer = b.Peer.norm()
	s.bonds[b.Peer] = &b
	return s.Save()
}

// Delete removes the bond with peer a and saves. Deleting a missing bond
// is not an error.
func (s *Store) Delete(a Address) error {
	if _, ok := s.bonds[a.norm()]; !ok {
		return nil
	}
	delete(s.bonds, a.norm())
	return s.Save()
}

// DeleteAll removes every bond (the local IRK stays) and saves.
func (s *Store) DeleteAll() error {
	s.bonds = map[Address]*Bond{}
	return s.Save()
}

// All returns the bonds ordered by peer address.
func (s *Store) All() []Bond {
	out := make([]Bond, 0, len(s.bonds))
	for _, b := range s.bonds {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Bond) int {
		if c := slices.Compare(smpcrypto.Reverse(a.Peer.Addr[:]), smpcrypto.Reverse(b.Peer.Addr[:])); c != 0 {
			return c
		}
		return int(a.Peer.Type) - int(b.Peer.Type)
	})
	return out
}

// Len returns the number of bonds.
func (s *Store) Len() int { return len(s.bonds) }

// LocalIRK returns the device's own IRK kept in the store, if any.
func (s *Store) LocalIRK() (Key, bool) {
	if s.localIRK == nil {
		return Key{}, false
	}
	return *s.localIRK, true
}

// SetLocalIRK keeps the device's own IRK in the store and saves.
func (s *Store) SetLocalIRK(k Key) error {
	s.localIRK = &k
	return s.Save()
}

// hex64/hex16 are EDIV and Rand in the bond file: hex strings as btmon
// prints them ("0x5256", "0xa38007f54be58be6"), which JSON tools read
// without losing the low bits of a 64-bit Rand.
type (
	hex64 uint64
	hex16 uint16
)

func (v hex64) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "0x%016x", uint64(v)), nil }
func (v hex16) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "0x%04x", uint16(v)), nil }

func (v *hex64) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 0, 64)
	*v = hex64(n)
	return err
}

func (v *hex16) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(string(b), 0, 16)
	*v = hex16(n)
	return err
}

type bondJSON Bond
type localJSON LocalKeys

// MarshalJSON writes EDIV and Rand as hex strings.
func (b Bond) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		bondJSON
		EDIV hex16 `json:"ediv"`
		Rand hex64 `json:"rand"`
	}{bondJSON(b), hex16(b.EDIV), hex64(b.Rand)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (b *Bond) UnmarshalJSON(raw []byte) error {
	var v struct {
		bondJSON
		EDIV hex16 `json:"ediv"`
		Rand hex64 `json:"rand"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	*b = Bond(v.bondJSON)
	b.EDIV, b.Rand = uint16(v.EDIV), uint64(v.Rand)
	return nil
}

// MarshalJSON writes EDIV and Rand as hex strings.
func (k LocalKeys) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		localJSON
		EDIV hex16 `json:"ediv"`
		Rand hex64 `json:"rand"`
	}{localJSON(k), hex16(k.EDIV), hex64(k.Rand)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (k *LocalKeys) UnmarshalJSON(raw []byte) error {
	var v struct {
		localJSON
		EDIV hex16 `json:"ediv"`
		Rand hex64 `json:"rand"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	*k = LocalKeys(v.localJSON)
	k.EDIV, k.Rand = uint16(v.EDIV), uint64(v.Rand)
	return nil
}
