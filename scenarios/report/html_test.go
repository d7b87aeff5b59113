package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/sim"
)

// sampleTimeline is a small pairing story: advertising, connect, SMP,
// encryption, encrypted ATT, a finding and a note.
func sampleTimeline(central, peripheral string) Timeline {
	ms := func(v int) sim.Time { return sim.Time(v * 1000) }
	return Timeline{
		Title:   "Lost bond: " + peripheral,
		Devices: []string{central, peripheral},
		Events: []Event{
			{At: ms(1), From: peripheral, Layer: LayerLL, Label: "ADV_IND ×37", Count: 37, Until: ms(110), Detail: `"Oximeter"`},
			{At: ms(7), From: central, To: peripheral, Layer: LayerLL, Label: "SCAN_REQ"},
			{At: ms(7), From: peripheral, To: central, Layer: LayerLL, Label: "SCAN_RSP"},
			{At: ms(113), From: central, To: peripheral, Layer: LayerLL, Label: "CONNECT_IND", Detail: "interval 30.00 ms"},
			{At: ms(150), From: central, To: peripheral, Layer: LayerSMP, Label: "Pairing Request", Detail: "IO KeyboardOnly"},
			{At: ms(180), From: peripheral, To: central, Layer: LayerSMP, Label: "Pairing Response"},
			{At: ms(210), From: central, To: central, Layer: LayerHCI, Label: "LE Enable Encryption"},
			{At: ms(240), From: central, To: peripheral, Layer: LayerLL, Label: "LL_ENC_REQ"},
			{At: ms(270), From: peripheral, To: central, Layer: LayerLL, Label: "LL_START_ENC_REQ"},
			{At: ms(300), From: central, To: peripheral, Kind: EncryptionStarted, Label: "link encrypted from here"},
			{At: ms(300), From: central, To: peripheral, Layer: LayerLL, Label: "encrypted LL control", Encrypted: true},
			{At: ms(330), From: central, To: peripheral, Layer: LayerATT, Label: "encrypted data", Encrypted: true, Detail: "7 octets + MIC"},
			{At: ms(331), From: peripheral, Kind: Finding, Label: "key-not-negotiated: central sent Encryption Information"},
			{At: ms(360), From: central, Kind: Note, Label: "the central removes the bond"},
			{At: ms(400), From: peripheral, To: central, Layer: LayerMesh, Label: "PB-ADV Link Open"},
		},
	}
}

// svgDocs returns the chart bodies (<svg class="msc">…</svg>) of an HTML
// report; heads returns the device headers (<svg class="msc-head">).
func svgDocs(t *testing.T, html string) []string { return svgByClass(t, html, "msc") }

func heads(t *testing.T, html string) []string { return svgByClass(t, html, "msc-head") }

func svgByClass(t *testing.T, html, class string) []string {
	t.Helper()
	var out []string
	for {
		i := strings.Index(html, "<svg")
		if i < 0 {
			return out
		}
		j := strings.Index(html[i:], "</svg>")
		require.Positive(t, j, "unterminated <svg>")
		doc := html[i : i+j+len("</svg>")]
		html = html[i+j+len("</svg>"):]
		open := doc[:strings.Index(doc, ">")]
		if strings.Contains(open, `class="`+class+`"`) {
			out = append(out, doc)
		}
	}
}

// element is what the structural tests look at in a parsed SVG.
type element struct {
	name  string
	attrs map[string]string
}

// parseSVG parses doc strictly as XML and lists its elements and text.
func parseSVG(t *testing.T, doc string) (els []element, text string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	var sb strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG is not well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			el := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				el.attrs[a.Name.Local] = a.Value
			}
			els = append(els, el)
		case xml.CharData:
			sb.Write(tok)
			sb.WriteByte('\n')
		}
	}
	return els, sb.String()
}

func count(els []element, name, class string) int {
	n := 0
	for _, e := range els {
		if e.name == name && (class == "" || hasClass(e.attrs["class"], class)) {
			n++
		}
	}
	return n
}

func hasClass(attr, class string) bool {
	for _, c := range strings.Fields(attr) {
		if c == class {
			return true
		}
	}
	return false
}

func render(t *testing.T, tl Timeline) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, tl))
	return b.String()
}

func TestChartStructure(t *testing.T) {
	tl := sampleTimeline("Central", "Oximeter")
	html := render(t, tl)
	docs := svgDocs(t, html)
	require.Len(t, docs, 1)
	els, text := parseSVG(t, docs[0])

	require.Equal(t, 2, count(els, "line", "lifeline"), "one lifeline per device")
	hs := heads(t, html)
	require.Len(t, hs, 1)
	headEls, headText := parseSVG(t, hs[0])
	require.Equal(t, 2, count(headEls, "g", "device"), "one named box per device")
	require.Contains(t, headText, "Oximeter")
	// Point-to-point messages are <line class="arrow">, self messages a
	// <path class="arrow">, broadcasts <line class="broadcast">.
	require.Equal(t, 10, count(els, "line", "arrow"))
	require.Equal(t, 1, count(els, "path", "arrow"))
	require.Equal(t, 1, count(els, "line", "broadcast"))
	require.Equal(t, 1, count(els, "rect", "encryption-band"))
	require.Contains(t, text, "link encrypted from here")
	require.Equal(t, 1, count(els, "rect", "encrypted-link"), "the encrypted stretch is shaded")
	require.Equal(t, 1, count(els, "g", "finding"))
	require.Contains(t, text, "key-not-negotiated")
	require.Contains(t, text, "ADV_IND ×37")
	require.Contains(t, text, "0.113000 s", "virtual timestamps")
	for _, l := range []string{LayerLL, LayerSMP, LayerATT, LayerMesh, LayerHCI} {
		require.Positive(t, count(els, "line", "layer-"+l)+count(els, "path", "layer-"+l), l)
	}

	// The page: legend, findings list, no scripts or remote resources.
	require.Contains(t, html, `<ul class="legend">`)
	require.Contains(t, html, `<section class="findings">`)
	require.NotContains(t, html, "<script")
	require.NotContains(t, html, "http://www.w3.org/1999")
	for _, bad := range []string{"https://", "src=", "@import", "url(http"} {
		require.NotContains(t, html, bad)
	}
}

func TestHostileNamesAreEscaped(t *testing.T) {
	evil := `<script>alert("x")</script>`
	tl := sampleTimeline(evil, `Lock & "Key" </svg><img src=x onerror=alert(1)>`+"\x01\x7f")
	tl.Events = append(tl.Events, Event{At: 500000, From: evil, Kind: Finding, Label: `</title><script>bad()</script>`})
	html := render(t, tl)
	require.NotContains(t, html, "<script")
	require.NotContains(t, html, "<img")
	require.Contains(t, html, "&lt;script&gt;")
	docs := svgDocs(t, html)
	require.Len(t, docs, 1, "a device name cannot close the SVG early")
	require.Len(t, heads(t, html), 1)
	_, headText := parseSVG(t, heads(t, html)[0])
	require.Contains(t, headText, `<script>alert("x")</script>`)
	els, text := parseSVG(t, docs[0])
	require.Equal(t, 2, count(els, "line", "lifeline"))
	for _, e := range els {
		require.NotEqual(t, "script", e.name)
		require.NotEqual(t, "img", e.name)
	}
	require.Contains(t, text, `<script>alert("x")</script>`, "the name is shown as text")
}

func TestLongTimelinesArePaginated(t *testing.T) {
	old := PageRows
	PageRows = 20
	defer func() { PageRows = old }()
	tl := Timeline{Devices: []string{"A", "B"}}
	for i := 0; i < 45; i++ {
		tl.Events = append(tl.Events, Event{At: sim.Time(i * 100), From: "A", To: "B", Layer: LayerATT, Label: "Write Command"})
	}
	tl.Events = append(tl.Events, Event{At: 0, From: "A", To: "B", Kind: EncryptionStarted})
	html := render(t, tl)
	docs := svgDocs(t, html)
	require.Len(t, docs, 3)
	total := 0
	for _, d := range docs {
		els, _ := parseSVG(t, d)
		require.Equal(t, 2, count(els, "line", "lifeline"), "every page has the lifelines")
		total += count(els, "line", "arrow")
	}
	require.Equal(t, 45, total)
	require.Len(t, heads(t, html), 3, "every page repeats the device header")
	require.Contains(t, html, "Page 3 of 3")
}

func TestEmptyTimeline(t *testing.T) {
	html := render(t, Timeline{Title: "nothing happened"})
	docs := svgDocs(t, html)
	require.Len(t, docs, 1)
	parseSVG(t, docs[0])
}
