package network

// cache is a set of 64-bit keys that forgets old keys: the network
// message cache (§3.4.6.5) keeps the PDUs a node has already seen so that
// it neither processes nor relays them twice. It holds two generations of
// up to size/2 keys each; when the newer one fills up, the older one is
// dropped. (Two maps and no deletions: a node tests every PDU it hears
// against its cache, and map deletions leave tombstones that slow every
// later lookup.)
type cache struct {
	cur, old map[uint64]struct{}
	half     int
}

func newCache(size int) *cache {
	h := max(size/2, 1)
	return &cache{cur: make(map[uint64]struct{}, h), old: make(map[uint64]struct{}, h), half: h}
}

// add inserts k and reports whether it was new.
func (c *cache) add(k uint64) bool {
	if c.has(k) {
		return false
	}
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, c.old
		clear(c.cur)
	}
	c.cur[k] = struct{}{}
	return true
}

// has reports whether k is cached.
func (c *cache) has(k uint64) bool {
	if _, ok := c.cur[k]; ok {
		return true
	}
	_, ok := c.old[k]
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
