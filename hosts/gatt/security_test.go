package gatt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"blesim/hosts/att"
	"blesim/hosts/gatt"
	"blesim/hosts/internal/fakectl"
	"blesim/hosts/internal/testrig"
	"blesim/hosts/l2cap"
	"blesim/linklayer/sim"
)

// Attribute security by link state (Vol 3 Part F §4, Vol 3 Part G §8.1,
// Vol 3 Part C §10.3.1): each required level against each link state,
// for reads, writes and subscriptions (the CCCD inherits the value's
// security for writes).
func TestAttributeSecurity(t *testing.T) {
	chars := []*gatt.Characteristic{
		{UUID: att.UUID16(0xB001), Props: gatt.PropRead | gatt.PropWrite | gatt.PropNotify, Perm: gatt.PermReadWrite | gatt.PermReadEncrypt | gatt.PermWriteEncrypt, Value: []byte{1}},
		{UUID: att.UUID16(0xB002), Props: gatt.PropRead | gatt.PropWrite, Perm: gatt.PermReadWrite | gatt.PermReadAuthen | gatt.PermWriteAuthen, Value: []byte{2}},
		{UUID: att.UUID16(0xB003), Props: gatt.PropRead | gatt.PropWrite, Perm: gatt.PermReadWrite | gatt.PermReadEncrypt | gatt.PermWriteEncrypt, MinKeySize: 16, Value: []byte{3}},
		{UUID: att.UUID16(0xB004), Props: gatt.PropRead | gatt.PropWrite, Perm: gatt.PermReadWrite | gatt.PermReadAuthz | gatt.PermWriteAuthz, Value: []byte{4}},
		{UUID: att.UUID16(0xB005), Props: gatt.PropRead, Value: []byte{5}},
	}
	db := gatt.MustDB(&gatt.Service{UUID: att.UUID16(0xBBBB), Characteristics: chars})
	enc, authn, keysz, authz, open := chars[0], chars[1], chars[2], chars[3], chars[4]
	type link struct {
		encrypted, authenticated, hasLTK, authorized bool
		keySize                                      int
	}
	const (
		ok    = att.ErrorCode(0)
		eAuth = att.ErrInsufficientAuthn
		eEnc  = att.ErrInsufficientEncryption
		eKey  = att.ErrEncryptionKeySizeTooShrt
		eAuz  = att.ErrInsufficientAuthz
	)
	tests := []struct {
		name string
		link link
		want map[*gatt.Characteristic]att.ErrorCode
	}{
		{"GATT/SR/GAR/BI-11-C unencrypted, no bond", link{},
			map[*gatt.Characteristic]att.ErrorCode{enc: eAuth, authn: eAuth, keysz: eAuth, authz: eAuz, open: ok}},
		{"GATT/SR/GAR/BI-12-C unencrypted, bonded", link{hasLTK: true},
			map[*gatt.Characteristic]att.ErrorCode{enc: eEnc, authn: eEnc, keysz: eEnc, authz: eAuz, open: ok}},
		{"GATT/SR/GAR/BI-10-C encrypted, unauthenticated, 7-octet key", link{encrypted: true, hasLTK: true, keySize: 7},
			map[*gatt.Characteristic]att.ErrorCode{enc: ok, authn: eAuth, keysz: eKey, authz: eAuz, open: ok}},
		{"GATT/SR/GAR/BV-xx encrypted, authenticated, 16-octet key, authorized", link{encrypted: true, authenticated: true, keySize: 16, authorized: true},
			map[*gatt.Characteristic]att.ErrorCode{enc: ok, authn: ok, keysz: ok, authz: ok, open: ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := zap.NewNop()
			p := testrig.New(t, log, fakectl.Options{})
			srv := gatt.NewServer(log, db)
			srv.Authorize = func(*gatt.ServerConn, uint16, bool) bool { return tt.link.authorized }
			var raw [][]byte
			p.OnConnect = func(c *l2cap.Conn) {
				if c.Role == 1 {
					srv.Attach(gatt.NewBearer(log, c), c)
					return
				}
				c.SetHandler(l2cap.CIDATT, func(b []byte) { raw = append(raw, append([]byte(nil), b...)) })
			}
			p.Connect(t)
			l := p.PConn
			l.Encrypted, l.Authenticated, l.HasLTK, l.KeySize = tt.link.encrypted, tt.link.authenticated, tt.link.hasLTK, tt.link.keySize
			req := func(b []byte) att.ErrorCode {
				raw = nil
				require.NoError(t, p.CConn.Send(l2cap.CIDATT, b))
				p.Run(100 * sim.Millisecond)
				require.Len(t, raw, 1)
				if raw[0][0] == 0x01 {
					return att.ErrorCode(raw[0][4])
				}
				return ok
			}
			for c, want := range tt.want {
				h := c.ValueHandle
				assert.Equal(t, want, req([]byte{0x0A, byte(h), byte(h >> 8)}), "read %s", c.UUID)
				if c.Props&gatt.PropWrite != 0 {
					assert.Equal(t, want, req([]byte{0x12, byte(h), byte(h >> 8), 9}), "write %s", c.UUID)
				}
			}
			// Subscribing to the encrypted characteristic needs the same.
			h := enc.CCCDHandle
			assert.Equal(t, tt.want[enc], req([]byte{0x12, byte(h), byte(h >> 8), 1, 0}), "CCCD write")
			assert.Equal(t, ok, req([]byte{0x0A, byte(h), byte(h >> 8)}), "CCCD read is open")
		})
	}
}
