package report

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromium finds a headless-capable Chromium, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// screenshot renders html to a PNG with headless Chromium.
func screenshot(t *testing.T, bin, htmlPath, pngPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--user-data-dir="+t.TempDir(), "--screenshot="+pngPath,
		"--window-size=1400,1000", "file://"+htmlPath)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chromium: %s", out)
}

// distinctColours counts the distinct colours of img, sampling every
// other pixel.
func distinctColours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	return len(seen)
}

// TestReportRendersInChromium renders a report of a real pairing run (and
// a finding) in headless Chromium and checks the screenshot is not blank.
// Set REPORT_SCREENSHOT_DIR to keep the HTML and PNG for a look.
func TestReportRendersInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the screenshot check")
	}
	if testing.Short() {
		t.Skip("screenshot check skipped in -short mode")
	}
	dir := os.Getenv("REPORT_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	dir, err := filepath.Abs(dir)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))

	tl := recordDemo(t, true)
	tl.Title = "Central pairs with the Oximeter and reads its battery level"
	for _, e := range tl.Events {
		if e.Kind == EncryptionStarted {
			tl.Events = append(tl.Events, Event{At: e.At + 1, From: "Oximeter", Kind: Finding,
				Label: "sample finding: key-not-negotiated (central distributed EncKey)"})
			break
		}
	}
	htmlPath := filepath.Join(dir, "report.html")
	f, err := os.Create(htmlPath)
	require.NoError(t, err)
	require.NoError(t, WriteHTML(f, tl))
	require.NoError(t, f.Close())

	pngPath := filepath.Join(dir, "report.png")
	screenshot(t, bin, htmlPath, pngPath)
	pf, err := os.Open(pngPath)
	require.NoError(t, err)
	defer pf.Close()
	img, err := png.Decode(pf)
	require.NoError(t, err)
	require.Equal(t, 1400, img.Bounds().Dx())
	n := distinctColours(img)
	t.Logf("screenshot %s: %dx%d, %d distinct colours", pngPath, img.Bounds().Dx(), img.Bounds().Dy(), n)
	require.Greater(t, n, 20, "the screenshot looks blank")
}
