// Package harness carries the real-stack VM harness (QEMU with Debian's
// kernel and BlueZ, see README.md) inside the blesim binary, so `blesim vm`
// works from any directory on a machine without /dev/vhci.
package harness

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed *.sh tests/*.sh
var scripts embed.FS

// Extract writes the harness scripts into a directory under base named
// after their content hash (so an upgrade never runs stale scripts) and
// returns the path of vm-run.sh.
func Extract(base string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(scripts, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := scripts.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "harness-"+hex.EncodeToString(h.Sum(nil))[:12])
	err = fs.WalkDir(scripts, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := scripts.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o755)
	})
	if err != nil {
		return "", fmt.Errorf("extracting the VM harness to %s: %w", dir, err)
	}
	return filepath.Join(dir, "vm-run.sh"), nil
}
