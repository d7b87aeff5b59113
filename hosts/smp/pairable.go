package smp

// SetPairable turns pairing on or off while the device runs (a lock's
// pairing mode, a pairing button): off, every Pairing Request is answered
// with Pairing Failed, Pairing Not Supported (Core v5.4 Vol 3 Part H
// §3.5.5), as with Config.NoPairing; encryption with existing bonds still
// works. A pairing already under way goes on.
func (m *Manager) SetPairable(on bool) { m.cfg.NoPairing = !on }

// Pairable reports whether the device accepts Pairing Requests.
func (m *Manager) Pairable() bool { return !m.cfg.NoPairing }
