// Package mesh is the root of blesim's Bluetooth Mesh host (Mesh Protocol
// v1.1). The layers live in sub-packages:
//
//	crypto   s1, k1–k4, s2, k5, derived keys, nonces, AES-CCM, network PDU
//	         encryption and obfuscation (§3.9)
//	beacon   Unprovisioned Device and Secure Network beacons (§3.10)
//	prov     the provisioning protocol, provisioner and device roles, as
//	         bearer-independent state machines (§5.4)
//	pbadv    PB-ADV and the generic provisioning layer over AD type 0x29
//	         (§5.2.1, §5.3)
//	pbgatt   PB-GATT: the Mesh Provisioning Service and proxy SAR
//	         (§5.2.2, §6.3, §7.1)
//	network  the network layer: network PDUs, message cache, relay, IV
//	         Index and IV Update, Secure Network beacons (§3.4, §3.10.4,
//	         §3.11.5)
//	transport  lower transport (segmentation, reassembly, acknowledgments,
//	         SAR timers) and upper transport security (§3.5, §3.6)
//	access   opcodes, access messages, model IDs, Composition Data (§3.7,
//	         §4.2.2)
//	store    the node's state file: keys, addresses, SEQ reserve, IV
//	         Index, replay protection list (written atomically)
//	stack    a node: the layers above wired to its state, elements and
//	         models, sending and dispatching access messages
//	config   Configuration Server and Client (§4.4.1, §4.4.2)
//	generic  Generic OnOff Server and Client (Mesh Model §3.2.1, §3.3.1)
//
// The built-in mesh hosts that drive a controller over HCI (an
// unprovisioned node, a provisioner) are in hosts/meshnode.
//
// Everything runs on the simulation goroutine, in virtual time, with
// randomness from an injected io.Reader; RandReader adapts the scheduler's
// seeded source.
package mesh

import (
	"io"
	"math/rand/v2"
)

// RandReader returns an io.Reader drawing from r (the scheduler's seeded
// source, sim.Scheduler.Rand), so a simulation's keys, randoms and Link
// IDs repeat with its seed. Use crypto/rand.Reader outside simulations.
func RandReader(r *rand.Rand) io.Reader { return randReader{r} }

type randReader struct{ r *rand.Rand }

func (rr randReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); {
		v := rr.r.Uint64()
		for j := 0; j < 8 && i < len(p); j++ {
			p[i] = byte(v >> (8 * j))
			i++
		}
	}
	return len(p), nil
}
