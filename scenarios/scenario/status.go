package scenario

import (
	"fmt"
	"strings"

	"blesim/vhci/hci"
)

// status formats an HCI status with its code ("PIN or Key Missing
// (0x06)"), whether or not its name includes it.
func status(s hci.Status) string {
	t := s.String()
	if strings.HasSuffix(t, ")") {
		return t
	}
	return fmt.Sprintf("%s (0x%02X)", t, uint8(s))
}
