package network

import (
	"go.uber.org/zap"

	"blesim/hosts/mesh/beacon"
	"blesim/linklayer/sim"
)

// Secure Network beacon timing (§3.10.3.1 in v1.0.1 terms, kept by v1.1
// §3.10.4.1): the interval adapts to how many beacons a node hears,
// Interval = ObservationPeriod × (Observed + 1) / Expected, where Expected
// is the number a node would hear if one node sent every 10 s, bounded to
// 10 s .. 600 s. In a large network every node hears many beacons and
// sends rarely.
const (
	MinBeaconInterval = 10 * sim.Second
	MaxBeaconInterval = 600 * sim.Second
	ObservationPeriod = 20 * sim.Second
	// IVUpdateDuration is the least time a node stays in each IV Update
	// state (§3.11.5: 96 hours).
	IVUpdateDuration = 96 * 3600 * sim.Second
)

type beaconTimes struct {
	interval sim.Duration
	last     sim.Time
	sent     bool
	observed int
}

func (l *Layer) times(s *Subnet) *beaconTimes {
	t := l.beaconData[s]
	if t == nil {
		t = &beaconTimes{interval: MinBeaconInterval}
		l.beaconData[s] = t
	}
	return t
}

// SetBeaconing turns the sending of Secure Network beacons on or off (the
// Beacon state, §4.2.11). The first beacon goes out after a random part of
// the minimum interval, so that nodes started together spread out.
func (l *Layer) SetBeaconing(on bool) {
	if l.beaconT == nil || on == l.beaconing {
		return
	}
	l.beaconing = on
	if !on {
		l.beaconT.Stop()
		l.observeT.Stop()
		return
	}
	first := sim.Duration(l.cfg.Sched.Rand().Int64N(int64(MinBeaconInterval)))
	l.beaconT.ResetAfter(first)
	l.observeT.ResetAfter(ObservationPeriod)
}

// Beaconing reports the Beacon state.
func (l *Layer) Beaconing() bool { return l.beaconing }

// SendBeacons sends every subnet's Secure Network beacon now (after
// provisioning, or an IV state change).
func (l *Layer) SendBeacons() {
	now := l.cfg.Sched.Now()
	for _, s := range l.subnets {
		t := l.times(s)
		t.last, t.sent = now, true
		l.Stats.Beacons++
		if l.cfg.Send != nil {
			l.cfg.Send(s.beacon(l.iv.Flags(), l.iv.Index))
		}
	}
}

// beaconTick sends the beacon of every subnet whose interval has passed
// and sleeps until the next one is due.
func (l *Layer) beaconTick() {
	if !l.beaconing {
		return
	}
	now := l.cfg.Sched.Now()
	for _, s := range l.subnets {
		t := l.times(s)
		if !t.sent || now.Sub(t.last) >= t.interval {
			t.last, t.sent = now, true
			l.Stats.Beacons++
			if l.cfg.Send != nil {
				l.cfg.Send(s.beacon(l.iv.Flags(), l.iv.Index))
			}
		}
	}
	l.scheduleBeacon()
}

// allSent reports whether every subnet has sent its first beacon (until
// then the first, randomly delayed, tick is pending).
func (l *Layer) allSent() bool {
	for _, s := range l.subnets {
		if !l.times(s).sent {
			return false
		}
	}
	return len(l.subnets) > 0
}

func (l *Layer) scheduleBeacon() {
	now := l.cfg.Sched.Now()
	next := now.Add(MaxBeaconInterval)
	for _, s := range l.subnets {
		t := l.times(s)
		next = min(next, t.last.Add(t.interval))
	}
	l.beaconT.Reset(max(next, now.Add(sim.Second)))
}

// observe recomputes each subnet's beacon interval at the end of an
// observation period.
func (l *Layer) observe() {
	expected := int64(ObservationPeriod / MinBeaconInterval)
	for _, s := range l.subnets {
		t := l.times(s)
		iv := sim.Duration(int64(ObservationPeriod) * int64(t.observed+1) / expected)
		t.interval = min(max(iv, MinBeaconInterval), MaxBeaconInterval)
		t.observed = 0
	}
	if l.beaconing {
		l.observeT.ResetAfter(ObservationPeriod)
		if l.allSent() {
			l.scheduleBeacon()
		}
	}
}

// BeaconInterval is the current beacon interval of a subnet.
func (l *Layer) BeaconInterval(s *Subnet) sim.Duration { return l.times(s).interval }

// ReceiveBeacon handles a Secure Network beacon (Beacon Type first,
// §3.10.4): it must name one of this node's subnets by Network ID and
// authenticate with its BeaconKey; then its IV Index and IV Update flag
// drive the IV state (§3.11.5, §3.11.6).
func (l *Layer) ReceiveBeacon(b []byte) {
	key := string(b)
	for _, s := range l.subnets {
		if s.lastBeacon == key {
			l.times(s).observed++
			return
		}
	}
	snb, err := beacon.ParseSecureNetwork(b)
	if err != nil {
		return
	}
	var sub *Subnet
	for _, s := range l.subnets {
		if s.NetworkID == snb.NetworkID {
			sub = s
			break
		}
	}
	if sub == nil {
		return
	}
	if !snb.Verify(sub.BeaconKey) {
		l.log.Debug("Secure Network beacon does not authenticate", zap.Uint16("net_idx", sub.Index))
		return
	}
	sub.lastBeacon = key
	l.times(sub).observed++
	if next, ok := l.iv.Next(snb.IVIndex, snb.Flags&0x02 != 0); ok {
		l.setIV(next)
		if next.Updating {
			l.ivDoneT.Stop()
		}
		if l.beaconing {
			l.SendBeacons()
		}
	}
}

// StartIVUpdate starts an IV Update (§3.11.5), as a node does when its
// sequence numbers run out: the IV Index goes up by one with the IV Update
// flag set (transmissions keep the old index), and after
// IVUpdateDuration the node returns to Normal operation with the new
// index. It does nothing while an update is in progress.
func (l *Layer) StartIVUpdate() {
	if l.iv.Updating {
		return
	}
	l.setIV(IVState{Index: l.iv.Index + 1, Updating: true})
	if l.ivDoneT != nil {
		l.ivDoneT.ResetAfter(IVUpdateDuration)
	}
	if l.beaconing {
		l.SendBeacons()
	}
}

func (l *Layer) completeIVUpdate() {
	if !l.iv.Updating {
		return
	}
	l.setIV(IVState{Index: l.iv.Index})
	if l.beaconing {
		l.SendBeacons()
	}
}
