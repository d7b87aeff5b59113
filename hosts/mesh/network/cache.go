package network

// cache is a fixed-size set of 64-bit keys that forgets the oldest key
// when full: the network message cache (§3.4.6.5) keeps the PDUs a node
// has already seen so that it neither processes nor relays them twice.
type cache struct {
	set  map[uint64]struct{}
	ring []uint64
	next int
}

func newCache(size int) *cache {
	return &cache{set: make(map[uint64]struct{}, size), ring: make([]uint64, 0, size)}
}

// add inserts k and reports whether it was new.
func (c *cache) add(k uint64) bool {
	if _, ok := c.set[k]; ok {
		return false
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, k)
	} else {
		delete(c.set, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.set[k] = struct{}{}
	return true
}

// has reports whether k is cached.
func (c *cache) has(k uint64) bool {
	_, ok := c.set[k]
	return ok
}

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
