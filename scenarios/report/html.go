package report

import (
	"fmt"
	"html/template"
	"io"

	"blesim/linklayer/sim"
)

// PageRows is how many rows one chart page holds; longer timelines are
// split into several pages (each scrollable sideways when wide).
var PageRows = 150

// page is one chart page for the template.
type page struct {
	Caption string
	Head    template.HTML // the device header SVG
	SVG     template.HTML // the chart body SVG
}

type legendItem struct {
	Name, Colour string
}

type pageData struct {
	Title    string
	Summary  string
	Legend   []legendItem
	Findings []Event
	Pages    []page
}

// WriteHTML writes tl as a single self-contained HTML page: inline CSS and
// inline SVG, no scripts, no fonts or anything else from the network (a
// Content-Security-Policy forbids it). Text from tl is escaped.
func WriteHTML(w io.Writer, tl Timeline) error {
	tl.Sort()
	col := map[string]int{}
	var devices []string
	add := func(n string) {
		if _, ok := col[n]; !ok && n != "" {
			col[n] = len(devices)
			devices = append(devices, n)
		}
	}
	for _, d := range tl.Devices {
		add(d)
	}
	for _, e := range tl.Events {
		add(e.From)
		add(e.To)
	}
	tl.Devices = devices
	title := tl.Title
	if title == "" {
		title = "blesim message sequence chart"
	}
	d := pageData{Title: title, Findings: tl.Findings()}
	d.Summary = fmt.Sprintf("%d devices, %d rows", len(devices), len(tl.Events))
	if n := len(tl.Events); n > 0 {
		d.Summary += fmt.Sprintf(", virtual time %s to %s", fmtTime(tl.Events[0].At), fmtTime(lastTime(tl)))
	}
	for _, l := range Layers {
		d.Legend = append(d.Legend, legendItem{l, layerColour(l)})
	}
	tints := encryptedTints(tl, col)
	rows := PageRows
	if rows < 1 {
		rows = 1
	}
	n := len(tl.Events)
	pages := (n + rows - 1) / rows
	if pages == 0 {
		pages = 1
	}
	for p := 0; p < pages; p++ {
		from, to := p*rows, min((p+1)*rows, n)
		c := &chart{tl: tl, col: col, from: from, to: to, page: p + 1, tints: tints}
		caption := ""
		if pages > 1 {
			caption = fmt.Sprintf("Page %d of %d: rows %d–%d of %d", p+1, pages, from+1, to, n)
		}
		head, body := c.svg()
		d.Pages = append(d.Pages, page{Caption: caption, Head: template.HTML(head), SVG: template.HTML(body)})
	}
	return pageTemplate.Execute(w, d)
}

func lastTime(tl Timeline) sim.Time {
	var t sim.Time
	for _, e := range tl.Events {
		t = max(t, e.At, e.Until)
	}
	return t
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"time": fmtTime,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { margin: 0; padding: 16px 24px; font-family: sans-serif; color: #1d2633; background: #eef1f5; }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 15px; margin: 18px 0 6px; }
.summary { margin: 0 0 10px; color: #4a5568; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 12px; padding: 0; list-style: none; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 26px; height: 0; border-top: 3px solid; }
.swatch.enc { border-top-style: dashed; border-color: #333; }
.swatch.band { height: 12px; border: 1px solid #c9a400; background: #ffd84d; width: 22px; }
.swatch.finding { width: 12px; height: 12px; border: none; border-radius: 50%; background: #d0021b; }
.swatch.bcast { border-top-style: dotted; border-color: #1f6fb4; }
.findings { background: #fde8ea; border-left: 4px solid #d0021b; padding: 8px 14px; margin: 8px 0 12px; }
.findings h2 { margin: 0 0 4px; color: #a00016; }
.findings ol { margin: 0; padding-left: 20px; }
.findings time { font-family: monospace; color: #555; }
.page { margin: 0 0 20px; }
.scroll { overflow: auto; max-height: 88vh; background: #fff; border: 1px solid #cfd6de; border-radius: 6px; }
.scroll svg { display: block; }
.head { position: sticky; top: 0; z-index: 1; }
footer { color: #6b7785; font-size: 12px; }
@media print { body { background: #fff; } .scroll { max-height: none; overflow: visible; } .page + .page { break-before: page; } }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="summary">{{.Summary}}</p>
<ul class="legend">
{{- range .Legend}}
<li><span class="swatch" style="border-color: {{.Colour}}"></span>{{.Name}}</li>
{{- end}}
<li><span class="swatch bcast"></span>broadcast (advertising)</li>
<li><span class="swatch enc"></span>encrypted on air (no keys)</li>
<li><svg class="lock-key" width="12" height="14" viewBox="0 0 12 14" aria-hidden="true"><path d="M3,7 v-2.5 a3,3 0 0 1 6,0 v2.5" fill="none" stroke="#9a6b00" stroke-width="1.6"/><rect x="1.5" y="7" width="9" height="7" rx="1.2" fill="#9a6b00"/></svg>encrypted on air, shown decrypted with the session keys</li>
<li><span class="swatch band"></span>encryption starts</li>
<li><span class="swatch finding"></span>finding</li>
</ul>
</header>
{{- if .Findings}}
<section class="findings">
<h2>Findings ({{len .Findings}})</h2>
<ol>
{{- range .Findings}}
<li><time>{{time .At}}</time> <b>{{.From}}</b>: {{.Label}}{{if .Detail}} — {{.Detail}}{{end}}</li>
{{- end}}
</ol>
</section>
{{- end}}
{{- range .Pages}}
<section class="page">
{{- if .Caption}}
<h2>{{.Caption}}</h2>
{{- end}}
<div class="scroll">
<div class="head">{{.Head}}</div>
{{.SVG}}
</div>
</section>
{{- end}}
<footer>Generated by blesim. Times are virtual (seconds since the start of the run). Hover a row for its full text.</footer>
</body>
</html>
`))
