package gatt

import "blesim/hosts/att"

// Attribute security (Core v5.4 Vol 3 Part F §4, Vol 3 Part G §8.1, and
// the responder's rules of Vol 3 Part C §10.3.1): an access to an
// attribute whose permissions need encryption, authentication or
// authorization is refused with
//
//   - Insufficient Authentication (0x05) when the link is not encrypted
//     and no key is shared with the client (it must pair), or when it is
//     encrypted with an unauthenticated key and authentication is needed;
//   - Insufficient Encryption (0x0F) when the link is not encrypted but a
//     bond holds a key (the client must start encryption);
//   - Insufficient Encryption Key Size (0x0C) when the link's key is
//     shorter than the attribute's MinKeySize;
//   - Insufficient Authorization (0x08) when Server.Authorize says no.
//
// Clients like BlueZ react to 0x05 and 0x0F by pairing or encrypting and
// retrying.

// Security is the security state of the link the server answers on.
type Security struct {
	Encrypted     bool
	Authenticated bool
	KeySize       int
	HasLTK        bool // a bond with the client holds a key
}

// Security returns the link's security (zero without a link).
func (sc *ServerConn) Security() Security {
	if sc.Link == nil {
		return Security{}
	}
	l := sc.Link
	return Security{Encrypted: l.Encrypted, Authenticated: l.Authenticated && l.Encrypted, KeySize: l.KeySize, HasLTK: l.HasLTK}
}

// checkSecurity applies the rules above to an access needing encryption
// (enc), authentication (authn) and authorization (authz).
func (sc *ServerConn) checkSecurity(a *attribute, enc, authn, authz, write bool) error {
	sec := sc.Security()
	if (enc || authn) && !sec.Encrypted {
		if sec.HasLTK {
			return att.ErrInsufficientEncryption
		}
		return att.ErrInsufficientAuthn
	}
	if authn && !sec.Authenticated {
		return att.ErrInsufficientAuthn
	}
	if (enc || authn) && a.minKey > 0 && sec.KeySize < a.minKey {
		return att.ErrEncryptionKeySizeTooShrt
	}
	if authz && (sc.srv.Authorize == nil || !sc.srv.Authorize(sc, a.handle, write)) {
		return att.ErrInsufficientAuthz
	}
	return nil
}

// checkRead returns the ATT error for reading a, or nil.
func (sc *ServerConn) checkRead(a *attribute) error {
	if a.perm&PermRead == 0 {
		return att.ErrReadNotPermitted
	}
	return sc.checkSecurity(a, a.perm&PermReadEncrypt != 0, a.perm&PermReadAuthen != 0, a.perm&PermReadAuthz != 0, false)
}

// checkWrite returns the ATT error for writing a, or nil.
func (sc *ServerConn) checkWrite(a *attribute) error {
	if a.perm&PermWrite == 0 {
		return att.ErrWriteNotPermitted
	}
	return sc.checkSecurity(a, a.perm&PermWriteEncrypt != 0, a.perm&PermWriteAuthen != 0, a.perm&PermWriteAuthz != 0, true)
}
