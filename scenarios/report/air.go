package report

import (
	"encoding/binary"
	"fmt"

	"blesim/hosts/l2cap"
	"blesim/linklayer"
	"blesim/linklayer/pdu"
	"blesim/linklayer/radio"
	"blesim/linklayer/sim"
	"blesim/scenarios/trace"
	"blesim/vhci/hci"
)

// Party is a device the Recorder can name: packets carrying its address
// (AdvA, ScanA, InitA, TargetA) are drawn in its column.
type Party struct {
	Name    string
	Address hci.BDAddr
}

// Recorder builds a Timeline from the packets on the air, as a sniffer
// would see them. Feed it every transmission with Observe (the signature
// fits engine.World.OnAir and radio.Medium.SetTap); it must be called on
// the simulation goroutine.
//
// Advertising PDUs are named by type (mesh bearers by their content),
// CONNECT_IND opens a connection whose data PDUs are decoded: LL control
// opcodes, and L2CAP frames (reassembled) by channel: ATT opcodes, SMP
// codes, signaling. After LL_START_ENC_REQ the payloads cannot be read
// from the air. Decrypted with the session keys the controllers derived
// (AddKeys; or by the world's one decryption pass, which Record feeds to
// ObserveDecrypted) they are decoded like the others, in rows marked
// Encrypted and Decrypted (drawn with a lock); without them
// they become "encrypted data" rows marked Encrypted. An
// EncryptionStarted row marks the moment the link is encrypted (Core v5.4
// Vol 6 Part B §5.1.3.1). Runs of empty PDUs and repeated advertising
// collapse into one row ("ADV_IND ×37").
type Recorder struct {
	// PortName, when set, names the sender of a packet whose addresses
	// are not among the parties (e.g. a resolvable private address).
	PortName func(*radio.Port) string

	names       map[hci.BDAddr]string
	dec         *trace.Decryptor
	tl          Timeline
	conns       map[uint32]*airConn
	open        map[rowKey]int // collapsible rows still accepting repeats
	lastScanner map[hci.BDAddr]string
}

// airConn is one connection seen on the air, keyed by access address.
type airConn struct {
	central, peripheral string
	centralPort         *radio.Port // the central transmits first
	encrypted           bool
	announced           bool         // EncryptionStarted emitted
	frag                [2]*fragment // L2CAP reassembly per direction
}

type fragment struct {
	at        sim.Time
	buf       []byte
	want      int
	encrypted bool
}

// rowKey identifies rows that may collapse into one.
type rowKey struct {
	a, b, layer, label, extra string
}

// NewRecorder returns a Recorder that names the given parties; their
// names are the first columns, in order.
func NewRecorder(title string, parties ...Party) *Recorder {
	r := &Recorder{
		names:       map[hci.BDAddr]string{},
		dec:         trace.NewDecryptor(),
		conns:       map[uint32]*airConn{},
		open:        map[rowKey]int{},
		lastScanner: map[hci.BDAddr]string{},
	}
	r.tl.Title = title
	for _, p := range parties {
		r.names[p.Address] = p.Name
		r.tl.AddDevice(p.Name)
	}
	return r
}

// Timeline returns what was recorded so far, sorted by time, with the
// collapsed rows labelled with their count.
func (r *Recorder) Timeline() Timeline {
	tl := Timeline{Title: r.tl.Title, Devices: append([]string(nil), r.tl.Devices...)}
	tl.Events = make([]Event, len(r.tl.Events))
	copy(tl.Events, r.tl.Events)
	for i := range tl.Events {
		e := &tl.Events[i]
		if e.Count > 1 {
			e.Label = fmt.Sprintf("%s ×%d", e.Label, e.Count)
		}
	}
	tl.Sort()
	return tl
}

// AddFinding records a finding about device at time at.
func (r *Recorder) AddFinding(at sim.Time, device, message string) {
	r.add(Event{At: at, From: device, Kind: Finding, Label: message}, false, "")
}

// AddNote records a remark on device's lifeline.
func (r *Recorder) AddNote(at sim.Time, device, text string) {
	r.add(Event{At: at, From: device, Kind: Note, Label: text}, false, "")
}

// Add records any event as is.
func (r *Recorder) Add(e Event) { r.add(e, false, "") }

// name returns the party name for addr, else asks PortName, else the
// address itself.
func (r *Recorder) name(addr hci.BDAddr, from *radio.Port) string {
	if n, ok := r.names[addr]; ok {
		return n
	}
	if from != nil && r.PortName != nil {
		if n := r.PortName(from); n != "" {
			return n
		}
	}
	return addr.String()
}

// AddKeys gives the Recorder the key material one side of a connection
// put into use (the signature fits engine.World.OnSessionKeys and
// linklayer.Controller.SetSessionObserver), so that it can show what the
// link carries once encrypted.
func (r *Recorder) AddKeys(k linklayer.SessionKeys) { r.dec.AddKeys(k) }

// Observe decodes one transmission. tx and its PDU are only read during
// the call.
func (r *Recorder) Observe(tx *radio.Reception, from *radio.Port) {
	// The decryptor sees every packet (it passes advertising through), so
	// that its packet counters follow the senders'.
	clear, st := r.dec.Decrypt(tx.Packet, from)
	r.ObserveDecrypted(tx, from, clear, st)
}

// ObserveDecrypted decodes one transmission that someone else has
// decrypted (clear and st as trace.Decryptor.Decrypt returns them; the
// signature fits engine.World.OnAirDecrypted). The Recorder's own keys
// (AddKeys) are then not used.
func (r *Recorder) ObserveDecrypted(tx *radio.Reception, from *radio.Port, clear radio.Packet, st int) {
	if tx.Channel.IsAdvertising() || tx.AccessAddress == pdu.AdvertisingAccessAddress {
		r.adv(tx.Start, tx.PDU, from)
		return
	}
	if c := r.conns[tx.AccessAddress]; c != nil {
		r.data(c, tx.Start, clear.PDU, from, st)
	}
}

func (r *Recorder) adv(at sim.Time, b []byte, from *radio.Port) {
	p, err := pdu.ParseAdv(b)
	if err != nil {
		return
	}
	t := p.Type()
	e := Event{At: at, Layer: LayerLL, Label: t.String(), Kind: Message}
	switch t {
	case pdu.TypeAdvInd, pdu.TypeAdvNonconnInd, pdu.TypeAdvScanInd:
		e.From = r.name(p.AdvA(), from)
		data := p.AdvData()
		if label, detail, ok := meshLabel(data); ok {
			e.Layer, e.Label, e.Detail = LayerMesh, label, detail
			r.add(e, true, string(data))
			return
		}
		if ads, err := pdu.ParseAD(data); err == nil {
			if n, _, ok := ads.LocalName(); ok {
				e.Detail = fmt.Sprintf("%q", n)
			}
		}
	case pdu.TypeAdvDirectInd:
		e.From, e.To = r.name(p.AdvA(), from), r.name(p.TargetA(), nil)
	case pdu.TypeScanReq:
		e.From, e.To = r.name(p.ScanA(), from), r.name(p.AdvA(), nil)
		r.lastScanner[p.AdvA()] = e.From
	case pdu.TypeScanRsp:
		e.From, e.To = r.name(p.AdvA(), from), r.lastScanner[p.AdvA()]
	case pdu.TypeConnectInd:
		ll, err := p.LLData()
		if err != nil {
			return
		}
		e.From, e.To = r.name(p.InitA(), from), r.name(p.AdvA(), nil)
		e.Detail = fmt.Sprintf("interval %.2f ms, latency %d, timeout %d ms, AA 0x%08x",
			float64(ll.Interval)*1.25, ll.Latency, int(ll.Timeout)*10, ll.AccessAddress)
		r.conns[ll.AccessAddress] = &airConn{central: e.From, peripheral: e.To}
		r.add(e, false, "")
		return
	default:
		return
	}
	r.add(e, true, "")
}

// data decodes a data PDU b; st says whether it was decrypted (then b is
// the clear PDU) or is as on the air.
func (r *Recorder) data(c *airConn, at sim.Time, b []byte, from *radio.Port, st int) {
	p, err := pdu.ParseData(b)
	if err != nil {
		return
	}
	if c.centralPort == nil {
		c.centralPort = from
	}
	dir := 0
	e := Event{At: at, From: c.central, To: c.peripheral, Layer: LayerLL, Kind: Message}
	if from != c.centralPort {
		dir = 1
		e.From, e.To = c.peripheral, c.central
	}
	payload := p.Payload()
	n := len(payload)
	if n == 0 {
		e.Label = "empty PDU"
		r.add(e, true, "")
		return
	}
	llid := p.LLID()
	if st != trace.Clear {
		r.decrypted(c, e, dir, llid, payload, st)
		return
	}
	// An encrypted non-empty PDU carries at least one octet and the MIC;
	// shorter ones, and a plaintext LL_ENC_REQ after a pause, are clear.
	if c.encrypted && (n < 1+pdu.MICLen || llid == pdu.LLIDControl && n == 23 && payload[0] == byte(pdu.OpEncReq)) {
		c.encrypted, c.announced = false, false
	}
	if c.encrypted {
		if !c.announced {
			c.announced = true
			r.add(Event{At: at, From: c.central, To: c.peripheral, Layer: LayerLL, Kind: EncryptionStarted,
				Label: "link encrypted from here"}, false, "")
		}
		e.Encrypted = true
		if llid == pdu.LLIDControl {
			e.Label = "encrypted LL control"
		} else {
			e.Label = "encrypted data"
		}
		e.Detail = octets(n-pdu.MICLen) + " + MIC"
		c.frag[dir] = nil
		r.add(e, false, "")
		return
	}
	r.plain(c, e, dir, llid, payload)
}

// decrypted shows a PDU that was encrypted on air, decrypted with the
// sender's keys: announced as the start of encryption when it is the
// first, decoded like a clear one, marked Encrypted and Decrypted. When
// the receiver derived other keys (a wrong LTK) it says so: the receiver
// sees a MIC failure, and the link never becomes encrypted.
func (r *Recorder) decrypted(c *airConn, e Event, dir int, llid pdu.LLID, payload []byte, st int) {
	e.Encrypted, e.Decrypted = true, true
	c.encrypted = true
	if st == trace.DecryptedMICFailure {
		e.MICFailure = true
	} else if !c.announced {
		c.announced = true
		r.add(Event{At: e.At, From: c.central, To: c.peripheral, Layer: LayerLL, Kind: EncryptionStarted,
			Label: "link encrypted from here"}, false, "")
	}
	r.plain(c, e, dir, llid, payload)
	if llid == pdu.LLIDControl && pdu.ControlPDU(payload).Opcode() == pdu.OpPauseEncRsp {
		// The peripheral's LL_PAUSE_ENC_RSP is the last encrypted PDU
		// before a key refresh (§5.1.3.2): the restart is announced anew.
		c.encrypted, c.announced = false, false
	}
}

// plain decodes a clear (or decrypted) non-empty data PDU: LL control, or
// L2CAP reassembled per direction.
func (r *Recorder) plain(c *airConn, e Event, dir int, llid pdu.LLID, payload []byte) {
	n, at := len(payload), e.At
	switch llid {
	case pdu.LLIDControl:
		e.Label, e.Detail = controlLabel(payload)
		switch pdu.ControlPDU(payload).Opcode() {
		case pdu.OpStartEncReq:
			c.encrypted = true // everything after it is encrypted
		case pdu.OpPauseEncRsp:
			c.encrypted = false
		}
		r.add(micNote(e), false, "")
	case pdu.LLIDStart:
		c.frag[dir] = nil
		if n < l2cap.HeaderLen {
			e.Layer, e.Label, e.Detail = LayerL2CAP, "L2CAP (short start fragment)", shortHex(payload)
			r.add(e, false, "")
			return
		}
		want := l2cap.HeaderLen + int(binary.LittleEndian.Uint16(payload))
		if n >= want {
			r.l2cap(e, payload)
			return
		}
		c.frag[dir] = &fragment{at: at, buf: append([]byte(nil), payload...), want: want, encrypted: e.Decrypted}
	default: // continuation
		f := c.frag[dir]
		if f == nil {
			e.Layer, e.Label, e.Detail = LayerL2CAP, "L2CAP continuation (no start)", shortHex(payload)
			r.add(e, false, "")
			return
		}
		f.buf = append(f.buf, payload...)
		if len(f.buf) >= f.want {
			c.frag[dir] = nil
			e.At = f.at
			e.Encrypted = e.Encrypted || f.encrypted
			e.Decrypted = e.Decrypted || f.encrypted
			r.l2cap(e, f.buf)
		}
	}
}

func (r *Recorder) l2cap(e Event, frame []byte) {
	e.Layer, e.Label, e.Detail = l2capLabel(frame)
	r.add(micNote(e), false, "")
}

// micNote adds to the detail of a PDU that failed the receiver's MIC
// check what that means.
func micNote(e Event) Event {
	if e.MICFailure {
		note := "MIC failure at " + e.To + ": its keys differ"
		if e.Detail != "" {
			note = e.Detail + "; " + note
		}
		e.Detail = note
	}
	return e
}

// add appends e. A collapsible event joins the open row with the same key
// (same parties, layer, label and extra discriminator) if there is one.
// A non-collapsible event closes the open rows of the devices it
// involves, so a repeat after it starts a new row.
func (r *Recorder) add(e Event, collapsible bool, extra string) {
	r.tl.AddDevice(e.From)
	r.tl.AddDevice(e.To)
	if !collapsible {
		for k := range r.open {
			if involves(k, e.From) || involves(k, e.To) {
				delete(r.open, k)
			}
		}
		r.tl.Events = append(r.tl.Events, e)
		return
	}
	a, b := e.From, e.To
	if e.Label == "empty PDU" && b < a { // both directions share one row
		a, b = b, a
	}
	k := rowKey{a: a, b: b, layer: e.Layer, label: e.Label, extra: extra}
	if i, ok := r.open[k]; ok {
		row := &r.tl.Events[i]
		row.Count++
		row.Until = e.At
		return
	}
	if extra != "" { // a new mesh PDU from this sender ends its earlier runs
		for ok := range r.open {
			if ok.a == e.From && ok.extra != "" {
				delete(r.open, ok)
			}
		}
	}
	e.Count, e.Until = 1, e.At
	r.open[k] = len(r.tl.Events)
	r.tl.Events = append(r.tl.Events, e)
}

func involves(k rowKey, name string) bool {
	return name != "" && (k.a == name || k.b == name)
}

func octets(n int) string {
	if n == 1 {
		return "1 octet"
	}
	return fmt.Sprintf("%d octets", n)
}
