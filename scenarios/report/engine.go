package report

import (
	"blesim/scenarios/engine"
)

// Record returns a Recorder attached to ew's air with the data PDUs of
// encrypted links in clear (engine.World.OnAirDecrypted: the world's one
// decryption pass, shared with the decrypted pcap) that names ew's devices by their
// addresses, in the world's order. Call it
// before running the scheduler; read the result with Timeline.
func Record(ew *engine.World, title string) *Recorder {
	parties := make([]Party, 0, len(ew.Devices))
	for _, d := range ew.Devices {
		parties = append(parties, Party{Name: d.Spec.Name, Address: d.Ctrl.Address()})
	}
	r := NewRecorder(title, parties...)
	ew.OnAirDecrypted(r.ObserveDecrypted)
	return r
}
