package world

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// returns is consistent: a world without an error, or errors that all name
// the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Example))
	f.Add([]byte(""))
	f.Add([]byte("devices:\n  - {name: a, profile: generic, services: [{uuid: 180F, characteristics: [{uuid: 2A19, properties: [read, notify], value: \"hex:57\", notify_every: 1s}]}]}\n"))
	f.Add([]byte("controllers: [{address: \"C0:00:00:00:00:01\", address_type: random, position: [1, 2]}]\n"))
	f.Add([]byte("a: &a [*a]\nb: *x\n---\n<<: {}\n"))
	f.Add([]byte("devices: &d\n  - *d\n"))
	f.Add([]byte("medium: {path_loss_exponent: .inf, packet_loss: -0.0}\nseed: 0x10\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Parse("f.yaml", data)
		if err != nil {
			if w != nil {
				t.Fatalf("both a world and an error: %v", err)
			}
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error is %T, want a non-empty ErrorList", err)
			}
			for _, e := range list {
				if !strings.HasPrefix(e.Error(), "f.yaml") {
					t.Fatalf("error does not name the file: %q", e.Error())
				}
			}
			return
		}
		names := map[string]bool{}
		for i, d := range w.Devices {
			if d.Name == "" || len(d.Name) > MaxNameLen || names[d.Name] {
				t.Fatalf("devices[%d] has a bad or repeated name %q", i, d.Name)
			}
			names[d.Name] = true
		}
		seen := map[[6]byte]bool{}
		for i := range len(w.Controllers) + 2 {
			a := w.ControllerFor(i).Address
			if seen[a] {
				t.Fatalf("controller %d repeats address %s", i, a)
			}
			seen[a] = true
		}
		for i, d := range w.Devices {
			if seen[d.Address] {
				t.Fatalf("devices[%d] repeats address %s", i, d.Address)
			}
			seen[d.Address] = true
		}
	})
}
