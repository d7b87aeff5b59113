package scenario

import (
	"fmt"
	"strings"

	"blesim/hosts/profiles"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// localDisconnect is a Disconnection Complete with reason 0x16 (the device
// ended the link itself) together with the reason it gave in its HCI
// Disconnect, as its peer received it. A disconnect expectation matches
// the given reason: "the phone disconnects with 0x05" is what the phone
// sent, while its own Disconnection Complete says 0x16.
type localDisconnect struct {
	profiles.Disconnected
	Given hci.Status
}

// pairWindow is how far apart the two ends' Disconnection Complete events
// of one link may be.
const pairWindow = sim.Time(2 * sim.Second)

// withGivenReasons returns the observations with each device-ended
// disconnection replaced by a localDisconnect when the peer is a built-in
// device that reported the link's end.
func (r *runner) withGivenReasons() []observation {
	out := append([]observation(nil), r.obs...)
	peer := map[string]string{} // device -> peer device of its last connection
	for i, o := range out {
		switch e := o.Event.(type) {
		case profiles.Connected:
			peer[o.Device] = ""
			for _, d := range r.ew.Devices {
				if d.Spec.Address == e.PeerAddr {
					peer[o.Device] = d.Spec.Name
				}
			}
		case profiles.Disconnected:
			p := peer[o.Device]
			if e.Reason != hci.StatusLocalHostTerminated || p == "" {
				continue
			}
			best := -1
			for j, q := range r.obs {
				pd, ok := q.Event.(profiles.Disconnected)
				if !ok || q.Device != p || pd.Reason == hci.StatusLocalHostTerminated {
					continue
				}
				if dt := q.At - o.At; dt > -pairWindow && dt < pairWindow && (best < 0 || abs(dt) < abs(r.obs[best].At-o.At)) {
					best = j
				}
			}
			if best >= 0 {
				out[i].Event = localDisconnect{e, r.obs[best].Event.(profiles.Disconnected).Reason}
			}
		}
	}
	return out
}

func abs(t sim.Time) sim.Time { return max(t, -t) }

// status formats an HCI status with its code ("PIN or Key Missing
// (0x06)"), whether or not its name includes it.
func status(s hci.Status) string {
	t := s.String()
	if strings.HasSuffix(t, ")") {
		return t
	}
	return fmt.Sprintf("%s (0x%02X)", t, uint8(s))
}
