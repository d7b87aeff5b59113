package report

import (
	"fmt"
	"html/template"
	"strings"
	"unicode/utf8"

	"blesim/linklayer/sim"
)

// Chart geometry, in SVG user units (pixels).
const (
	timeColW    = 120 // the virtual-time column on the left
	colW        = 220 // one device column
	rightPad    = 260 // room for findings and broadcasts right of the last column
	headerH     = 48  // device boxes (a separate SVG that stays in view)
	topPad      = 6   // space above the first row
	rowH        = 40  // one event row
	footerH     = 16
	charW       = 6.6 // average width of a 12px sans-serif character
	smallCharW  = 5.6 // the same at 10px
	maxFindingW = 900 // longest finding text drawn; the tooltip has all of it
)

// layerColours are the arrow colours per layer (colour-blind-friendly
// palette); red is kept for findings.
var layerColours = map[string]string{
	LayerLL:    "#1f6fb4",
	LayerL2CAP: "#8c564b",
	LayerATT:   "#2a9d3a",
	LayerSMP:   "#8e44ad",
	LayerMesh:  "#e67e00",
	LayerHCI:   "#6b6b6b",
}

const (
	otherColour     = "#444444"
	encryptedColour = "#333333"
	findingColour   = "#d0021b"
	faintColour     = "#a7b1bc"
)

// keepAlive reports whether e is a row of empty PDUs: drawn faintly, as
// they only acknowledge and keep the connection alive.
func keepAlive(e Event) bool {
	return e.Kind == Message && !e.Encrypted && strings.HasPrefix(e.Label, "empty PDU")
}

func layerColour(layer string) string {
	if c, ok := layerColours[layer]; ok {
		return c
	}
	return otherColour
}

// esc escapes s for XML and HTML text and attribute values, dropping
// characters XML cannot carry.
func esc(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r >= 0x7F && r <= 0x9F || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return template.HTMLEscapeString(s)
}

// fit cuts s to about width pixels of text at cw pixels a character.
func fit(s string, width, cw float64) string {
	max := int(width / cw)
	if max < 4 {
		max = 4
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// fmtTime formats a virtual time as seconds with microseconds.
func fmtTime(t sim.Time) string {
	return fmt.Sprintf("%d.%06d s", int64(t)/1e6, int64(t)%1e6)
}

// chart draws one page of a Timeline: rows [from, to) of tl.Events.
type chart struct {
	tl       Timeline
	col      map[string]int
	from, to int
	page     int
	tints    []tint
	w, h     float64
	bg, fg   strings.Builder
}

// tint is the shaded stretch of an encrypted link: rows [start, end]
// between two columns.
type tint struct{ a, b, start, end int }

// encryptedTints finds, for each EncryptionStarted row, the rows until
// which the link stays encrypted: the last encrypted message between the
// same two devices before a clear one (other than empty PDUs).
func encryptedTints(tl Timeline, col map[string]int) []tint {
	var out []tint
	for i, e := range tl.Events {
		if e.Kind != EncryptionStarted {
			continue
		}
		a, okA := col[e.From]
		b, okB := col[e.To]
		if !okA || !okB {
			continue
		}
		end := i
		for j := i + 1; j < len(tl.Events); j++ {
			f := tl.Events[j]
			if f.Kind != Message || !samePair(e, f) {
				continue
			}
			if !f.Encrypted && !strings.HasPrefix(f.Label, "empty PDU") {
				break
			}
			end = j
		}
		out = append(out, tint{a: a, b: b, start: i, end: end})
	}
	return out
}

func samePair(e, f Event) bool {
	return e.From == f.From && e.To == f.To || e.From == f.To && e.To == f.From
}

func (c *chart) x(col int) float64 { return timeColW + colW*float64(col) + colW/2 }

func (c *chart) y(row int) float64 { return topPad + rowH*float64(row-c.from) }

// svg renders the page as two SVG documents: the device header (which
// the page keeps in view while scrolling) and the chart body.
func (c *chart) svg() (head, body string) {
	n := len(c.tl.Devices)
	c.w = timeColW + colW*float64(n) + rightPad
	// Widen the page for findings, whose message runs right of the
	// marker (up to maxFindingW).
	for i := c.from; i < c.to; i++ {
		if e := c.tl.Events[i]; e.Kind == Finding {
			need := c.x(c.col[e.From]) + 40 + min(float64(utf8.RuneCountInString(e.Label))*(charW+0.6), maxFindingW)
			c.w = max(c.w, need)
		}
	}
	c.h = topPad + rowH*float64(c.to-c.from) + footerH
	c.stripes()
	for _, t := range c.tints {
		c.drawTint(t)
	}
	c.lifelines()
	for i := c.from; i < c.to; i++ {
		c.row(i, c.tl.Events[i])
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="msc" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12" role="img" aria-label="message sequence chart, page %d">`,
		c.w, c.h, c.w, c.h, c.page)
	b.WriteString("\n<defs>")
	for _, l := range append(append([]string(nil), Layers...), "other", "faint") {
		colour := layerColour(l)
		if l == "faint" {
			colour = faintColour
		}
		fmt.Fprintf(&b, `<marker id="%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`,
			c.marker(l), colour)
	}
	b.WriteString("</defs>\n")
	fmt.Fprintf(&b, `<rect class="paper" x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", c.w, c.h)
	b.WriteString(c.bg.String())
	b.WriteString(c.fg.String())
	b.WriteString("</svg>")
	return c.header(), b.String()
}

func (c *chart) marker(layer string) string {
	if _, ok := layerColours[layer]; !ok && layer != "faint" {
		layer = "other"
	}
	return fmt.Sprintf("p%d-arrow-%s", c.page, layer)
}

// stripes shades every other row.
func (c *chart) stripes() {
	for i := c.from; i < c.to; i++ {
		if (i-c.from)%2 == 1 {
			fmt.Fprintf(&c.bg, `<rect class="stripe" x="0" y="%.0f" width="%.0f" height="%d" fill="#f6f8fa"/>`+"\n", c.y(i), c.w, rowH)
		}
	}
}

// lifelines draws a dashed lifeline per device.
func (c *chart) lifelines() {
	for i, d := range c.tl.Devices {
		x := c.x(i)
		fmt.Fprintf(&c.bg, `<line class="lifeline" data-device="%s" x1="%.1f" y1="0" x2="%.1f" y2="%.0f" stroke="#9aa5b1" stroke-width="1.5" stroke-dasharray="5 4"/>`+"\n",
			esc(d), x, x, c.h-4)
	}
}

// header returns the device header: a named box per device above its
// lifeline.
func (c *chart) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="msc-head" width="%.0f" height="%d" viewBox="0 0 %.0f %d" font-family="sans-serif" font-size="12" role="img" aria-label="devices">`+"\n",
		c.w, headerH, c.w, headerH)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%d" fill="#ffffff"/>`, c.w, headerH)
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%.0f" y2="%d" stroke="#cfd6de"/>`+"\n", headerH-1, c.w, headerH-1)
	fmt.Fprintf(&b, `<text class="timehead" x="8" y="%d" fill="#555" font-size="11">virtual time</text>`+"\n", headerH-12)
	for i, d := range c.tl.Devices {
		x := c.x(i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="38" x2="%.1f" y2="%d" stroke="#9aa5b1" stroke-width="1.5" stroke-dasharray="5 4"/>`, x, x, headerH)
		fmt.Fprintf(&b, `<g class="device"><title>%s</title><rect x="%.1f" y="6" width="%d" height="32" rx="6" fill="#24324a"/><text x="%.1f" y="27" text-anchor="middle" fill="#ffffff" font-weight="bold" font-size="13">%s</text></g>`+"\n",
			esc(d), x-colW/2+12, colW-24, x, esc(fit(d, colW-36, 7.6)))
	}
	b.WriteString("</svg>")
	return b.String()
}

// drawTint shades an encrypted link between its two lifelines.
func (c *chart) drawTint(t tint) {
	start, end := t.start, t.end
	if end < c.from || start >= c.to {
		return
	}
	if start < c.from {
		start = c.from
	}
	if end >= c.to {
		end = c.to - 1
	}
	x1, x2 := c.x(t.a), c.x(t.b)
	if x2 < x1 {
		x1, x2 = x2, x1
	}
	fmt.Fprintf(&c.bg, `<rect class="encrypted-link" x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="#fff4c2" opacity="0.7"/>`+"\n",
		x1-12, c.y(start), x2-x1+24, c.y(end+1)-c.y(start))
}

// timeCell writes the virtual time of a row (and the end of a run).
func (c *chart) timeCell(y float64, e Event) {
	fmt.Fprintf(&c.fg, `<text class="time" x="8" y="%.1f" fill="#333" font-family="monospace" font-size="11">%s</text>`, y+4, fmtTime(e.At))
	if e.Count > 1 && e.Until > e.At {
		fmt.Fprintf(&c.fg, `<text class="time" x="8" y="%.1f" fill="#888" font-family="monospace" font-size="10">… %s</text>`, y+16, fmtTime(e.Until))
	}
}

// row draws event i.
func (c *chart) row(i int, e Event) {
	top := c.y(i)
	mid := top + rowH*0.55
	from, okFrom := c.col[e.From]
	if !okFrom {
		from = 0
	}
	to, okTo := c.col[e.To]
	fmt.Fprintf(&c.fg, `<g class="event %s" data-kind="%s" data-row="%d">`, kindClass(e), e.Kind, i)
	fmt.Fprintf(&c.fg, `<title>%s</title>`, esc(tooltip(e)))
	c.timeCell(mid, e)
	switch e.Kind {
	case EncryptionStarted:
		fmt.Fprintf(&c.fg, `<rect class="encryption-band" x="%d" y="%.1f" width="%.0f" height="%d" fill="#ffd84d" stroke="#c9a400" rx="4"/>`,
			timeColW-8, top+6, c.w-timeColW-8, rowH-12)
		text := "link encrypted from here"
		if okFrom && okTo {
			text += " (" + e.From + " ⇄ " + e.To + ")"
		}
		fmt.Fprintf(&c.fg, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold" fill="#4a3b00">%s</text>`,
			(timeColW+c.w)/2, top+rowH/2+4, esc(fit(text, c.w-timeColW-40, charW+0.6)))
	case Finding:
		x := c.x(from)
		fmt.Fprintf(&c.bg, `<rect class="finding-row" x="0" y="%.0f" width="%.0f" height="%d" fill="#fde8ea"/>`+"\n", top, c.w, rowH)
		msg := esc(fit(e.Label, c.w-x-24, charW+0.6))
		fmt.Fprintf(&c.fg, `<circle cx="%.1f" cy="%.1f" r="9" fill="%s"/><text x="%.1f" y="%.1f" text-anchor="middle" fill="#fff" font-weight="bold">!</text>`,
			x, mid, findingColour, x, mid+4)
		fmt.Fprintf(&c.fg, `<text class="finding-text" x="%.1f" y="%.1f" fill="%s" font-weight="bold">%s</text>`, x+16, mid+4, findingColour, msg)
	case Note:
		x := c.x(from)
		text := fit(e.Label, colW*1.6, charW)
		w := float64(utf8.RuneCountInString(text))*charW + 16
		fmt.Fprintf(&c.fg, `<rect x="%.1f" y="%.1f" width="%.1f" height="22" rx="4" fill="#ffffff" stroke="#9aa5b1"/><text x="%.1f" y="%.1f" font-style="italic" fill="#333">%s</text>`,
			x+8, mid-13, w, x+16, mid+2, esc(text))
	default:
		switch {
		case e.To == "" || !okTo:
			c.broadcast(e, from, mid)
		case from == to:
			c.self(e, from, mid)
		default:
			c.arrow(e, from, to, mid)
		}
	}
	c.fg.WriteString("</g>\n")
}

func kindClass(e Event) string {
	switch e.Kind {
	case EncryptionStarted:
		return "encryption"
	case Finding:
		return "finding"
	case Note:
		return "note"
	}
	switch {
	case e.To == "":
		return "bcast"
	case e.From == e.To:
		return "self"
	}
	return "msg"
}

func tooltip(e Event) string {
	s := fmtTime(e.At)
	if e.Count > 1 {
		s += " – " + fmtTime(e.Until)
	}
	s += "  " + e.From
	if e.To != "" {
		s += " → " + e.To
	}
	if e.Layer != "" {
		s += "  [" + e.Layer + "]"
	}
	s += "  " + e.Label
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	switch {
	case e.MICFailure:
		s += " (encrypted on air, shown decrypted with the sender's keys; the receiver's MIC check failed)"
	case e.Decrypted:
		s += " (encrypted on air, shown decrypted with the session keys)"
	case e.Encrypted:
		s += " (encrypted on air)"
	}
	return s
}

// sealed reports whether e is drawn as unreadable ciphertext: encrypted
// on air and not decrypted.
func sealed(e Event) bool { return e.Encrypted && !e.Decrypted }

// lockColour is the colour of the lock drawn on decrypted rows (and red
// for a MIC failure).
const lockColour = "#9a6b00"

// lock draws a padlock whose left edge is at x, vertically centred on the
// label baseline y: the mark of a PDU that was encrypted on air.
func (c *chart) lock(e Event, x, y float64) {
	colour := lockColour
	if e.MICFailure {
		colour = findingColour
	}
	fmt.Fprintf(&c.fg, `<g class="lock" fill="%s"><path d="M%.1f,%.1f v-2.5 a3,3 0 0 1 6,0 v2.5" fill="none" stroke="%s" stroke-width="1.6"/><rect x="%.1f" y="%.1f" width="9" height="7" rx="1.2"/></g>`,
		colour, x+1.5, y-6, colour, x, y-6)
}

// stroke returns the line attributes for a message.
func (c *chart) stroke(e Event) string {
	colour := layerColour(e.Layer)
	dash := ""
	if sealed(e) {
		colour, dash = encryptedColour, ` stroke-dasharray="7 4"`
	}
	marker := c.marker(e.Layer)
	if sealed(e) {
		marker = c.marker("other")
	}
	if keepAlive(e) {
		// A run of empty PDUs goes both ways.
		m := c.marker("faint")
		start := ""
		if e.Count > 1 {
			start = fmt.Sprintf(` marker-start="url(#%s)"`, m)
		}
		return fmt.Sprintf(`stroke="%s" stroke-width="1.2"%s marker-end="url(#%s)"`, faintColour, start, m)
	}
	return fmt.Sprintf(`stroke="%s" stroke-width="2"%s marker-end="url(#%s)"`, colour, dash, marker)
}

// labels writes the label above and the detail below a message spanning
// [x1, x2] (centred at cx).
func (c *chart) labels(e Event, cx, span, mid float64, anchor string) {
	colour := layerColour(e.Layer)
	if sealed(e) {
		colour = encryptedColour
	}
	weight := "bold"
	if keepAlive(e) {
		colour, weight = "#7d8a97", "normal"
	}
	label := fit(e.Label, span, charW)
	fmt.Fprintf(&c.fg, `<text class="label" x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-weight="%s">%s</text>`,
		cx, mid-6, anchor, colour, weight, esc(label))
	if e.Decrypted && anchor == "start" {
		// The lock follows the label (arrows carry it at the sender).
		c.lock(e, cx+float64(utf8.RuneCountInString(label))*(charW+0.4)+5, mid-6)
	}
	if e.Detail != "" {
		fmt.Fprintf(&c.fg, `<text class="detail" x="%.1f" y="%.1f" text-anchor="%s" fill="#555" font-size="10">%s</text>`,
			cx, mid+13, anchor, esc(fit(e.Detail, span, smallCharW)))
	}
}

func (c *chart) arrow(e Event, from, to int, mid float64) {
	x1, x2 := c.x(from), c.x(to)
	dir := 1.0
	if x2 < x1 {
		dir = -1
	}
	fmt.Fprintf(&c.fg, `<line class="arrow layer-%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>`,
		esc(e.Layer), x1, mid, x2-dir*2, mid, c.stroke(e))
	span := (x2 - x1) * dir
	if e.Decrypted {
		// The lock sits at the sender's end, above the line; the label
		// keeps clear of it.
		span -= 28
		lx := x1 + 6
		if dir < 0 {
			lx = x1 - 15
		}
		c.lock(e, lx, mid-5)
	}
	c.labels(e, (x1+x2)/2, span-16, mid, "middle")
}

func (c *chart) self(e Event, col int, mid float64) {
	x := c.x(col)
	fmt.Fprintf(&c.fg, `<path class="arrow layer-%s" d="M%.1f,%.1f h30 v12 h-28" fill="none" %s/>`,
		esc(e.Layer), x, mid-6, c.stroke(e))
	c.labels(e, x+38, colW*0.75, mid+2, "start")
}

// broadcast draws a packet sent to no one in particular (advertising):
// a short dashed arrow out of the sender's lifeline with its label.
func (c *chart) broadcast(e Event, col int, mid float64) {
	x := c.x(col)
	length := colW * 0.4
	fmt.Fprintf(&c.fg, `<line class="broadcast layer-%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="2 3" marker-end="url(#%s)"/>`,
		esc(e.Layer), x, mid, x+length, mid, layerColour(e.Layer), c.marker(e.Layer))
	fmt.Fprintf(&c.fg, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, x, mid, layerColour(e.Layer))
	c.labels(e, x+6, colW*1.05, mid, "start")
}
