package network

// cache is a set of 64-bit keys that forgets old keys: the network
// message cache (§3.4.6.5) keeps the PDUs a node has already seen so that
// it neither processes nor relays them twice. It is 4-way set-associative
// (an array, one cache line per lookup: a node tests every PDU it hears),
// each set replacing its oldest key.
type cache struct {
	sets []cacheSet
}

type cacheSet struct {
	keys [4]uint64
	used uint8 // how many keys are valid
	next uint8 // the slot the next key replaces once the set is full
}

func newCache(size int) *cache {
	n := 1
	for n*4 < size {
		n <<= 1
	}
	return &cache{sets: make([]cacheSet, n)}
}

func (c *cache) set(k uint64) *cacheSet {
	h := k * 0x9E3779B97F4A7C15 // spread the bits (Fibonacci hashing)
	return &c.sets[(h>>32)&uint64(len(c.sets)-1)]
}

// add inserts k and reports whether it was new.
func (c *cache) add(k uint64) bool {
	s := c.set(k)
	for i := range s.used {
		if s.keys[i] == k {
			return false
		}
	}
	if s.used < 4 {
		s.keys[s.used] = k
		s.used++
		return true
	}
	s.keys[s.next] = k
	s.next = (s.next + 1) & 3
	return true
}

// has reports whether k is cached.
func (c *cache) has(k uint64) bool {
	s := c.set(k)
	for i := range s.used {
		if s.keys[i] == k {
			return true
		}
	}
	return false
}

// seen is a direct-mapped set of PDU hashes: one slot per hash's low
// bits, a newer PDU taking the slot of an older one. It only saves work —
// a PDU it forgot is decrypted again and then caught by the message cache
// — so it needs one memory access per lookup.
type seen struct{ slots []uint64 }

func newSeen(size int) *seen {
	n := 1
	for n < size {
		n <<= 1
	}
	return &seen{slots: make([]uint64, n)}
}

func (s *seen) has(h uint64) bool { return h != 0 && s.slots[h&uint64(len(s.slots)-1)] == h }
func (s *seen) add(h uint64)      { s.slots[h&uint64(len(s.slots)-1)] = h }

// hash is 64-bit FNV-1a of b: the cache key of a PDU as received, which
// lets a node drop repeated transmissions before decrypting them.
func hash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// msgKey identifies a network PDU by SRC, SEQ and the IV Index used:
// relayed copies (TTL changed, so other octets) map to the same key.
func msgKey(src uint16, seq, iv uint32) uint64 {
	return uint64(iv&0xffff)<<40 | uint64(src)<<24 | uint64(seq&0xffffff)
}
