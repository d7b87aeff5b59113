package report

import (
	"blesim/linklayer/radio"
	"blesim/scenarios/engine"
)

// Record returns a Recorder attached to ew's air (engine.World.OnAir) and
// to the session keys its controllers derive (engine.World.OnSessionKeys,
// so encrypted links are shown decrypted) that names ew's devices by their
// addresses, in the world's order. Call it
// before running the scheduler; read the result with Timeline.
func Record(ew *engine.World, title string) *Recorder {
	parties := make([]Party, 0, len(ew.Devices))
	for _, d := range ew.Devices {
		parties = append(parties, Party{Name: d.Spec.Name, Address: d.Ctrl.Address()})
	}
	r := NewRecorder(title, parties...)
	ew.OnSessionKeys(r.AddKeys)
	ew.OnAir(func(tx *radio.Reception, from *radio.Port) { r.Observe(tx, from) })
	return r
}
