//go:build !unix

package radio

import "time"

func processCPU() time.Duration { return 0 }
