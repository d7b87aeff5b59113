package report

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// screenshot renders html to a PNG with headless Chromium, robustly as
// root in a container: no sandbox (it needs user namespaces), no GPU, no
// /dev/shm (often 64 MiB there), a throwaway profile, nothing from the
// network, and a time limit.
func screenshot(t *testing.T, bin, htmlPath, pngPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--no-first-run", "--no-default-browser-check",
		"--user-data-dir="+t.TempDir(), "--screenshot="+pngPath,
		"--window-size=1400,2400", "file://"+htmlPath)
	cmd.WaitDelay = 5 * time.Second // do not wait on children holding the pipes
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chromium: %s", out)
}

// nearColour counts the pixels of img within tol (per channel) of the
// colour #rrggbb, sampling every pixel.
func nearColour(img image.Image, hex string, tol int) int {
	var want [3]int
	for i := range want {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		want[i] = int(v)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			ok := true
			for i := range got {
				if d := got[i] - want[i]; d > tol || d < -tol {
					ok = false
				}
			}
			if ok {
				n++
			}
		}
	}
	return n
}

// nonWhite is the share of pixels of img that are not (nearly) white.
func nonWhite(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 245 || g>>8 < 245 || bl>>8 < 245 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
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
		if os.Getenv("BLESIM_REQUIRE_TOOLS") == "1" {
			t.Fatal("chromium is not installed and BLESIM_REQUIRE_TOOLS=1 (make sysdeps, or apt-get install --no-install-recommends chromium)")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the screenshot check")
	}
	if testing.Short() && os.Getenv("BLESIM_REQUIRE_TOOLS") != "1" {
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
	share := nonWhite(img)
	t.Logf("%.1f%% of the pixels are not white", 100*share)
	require.Greater(t, share, 0.10, "the screenshot looks blank")
	// The chart's own colours: the page background, the device boxes,
	// the ATT and SMP arrows, the encryption band, the finding marker and
	// the lock of the decrypted rows.
	for _, c := range []struct {
		name, hex string
		min       int
	}{
		{"page background", "#eef1f5", 5000},
		{"device boxes", "#24324a", 2000},
		{"SMP arrows", layerColours[LayerSMP], 200},
		{"ATT arrows", layerColours[LayerATT], 100},
		{"encryption band", "#ffd84d", 2000},
		{"finding marker", findingColour, 100},
		{"lock", lockColour, 20},
	} {
		n := nearColour(img, c.hex, 16)
		t.Logf("%s (%s): %d pixels", c.name, c.hex, n)
		require.GreaterOrEqual(t, n, c.min, "%s (%s) drawn in the screenshot", c.name, c.hex)
	}
}
