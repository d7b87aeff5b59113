package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkAdvertisers1000 is the workload: 1,000 advertisers at
// 100 ms and one active scanner for 60 simulated seconds. Targets: at least
// 100x real time, at most 64 KiB per idle device.
func BenchmarkAdvertisers1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := Run(1000, 60)
		b.ReportMetric(r.RealTimeFactor, "x_realtime")
		b.ReportMetric(r.CPUFactor, "x_per_cpu_s")
		b.ReportMetric(r.BytesPerIdle, "B/idle_device")
		b.ReportMetric(r.BytesPerAdv, "B/adv_device")
	}
}

// TestRunSmall checks the workload itself: every advertiser is heard and
// the active scanner gets scan responses.
func TestRunSmall(t *testing.T) {
	r := Run(20, 3)
	require.Equal(t, 20, r.DistinctHeard, "scanner should hear every advertiser within 3 s")
	require.Greater(t, r.ScanResponses, 0, "active scanning should get SCAN_RSPs")
	// 20 advertisers × 3 channels × ~28 events in 3 s, plus requests/responses.
	require.Greater(t, r.Transmissions, uint64(20*3*25))
}

// TestPairingWorkload: one complete pairing through real controllers.
func TestPairingWorkload(t *testing.T) {
	ok, err := runPairings(1, 3)
	require.NoError(t, err)
	require.Equal(t, 3, ok, "each round: the central paired, read the encrypted value and disconnected")
}

// BenchmarkSCPairing is the pairing benchmark: complete LE Secure
// Connections pairings per CPU second next to the P-256 work alone.
// Target: a pairing costs at most twice its P-256 work.
func BenchmarkSCPairing(b *testing.B) {
	r, err := RunPairings(max(b.N, 50))
	require.NoError(b, err)
	b.ReportMetric(r.PerSecond, "pairings/cpu_s")
	b.ReportMetric(r.CostVsP256, "x_p256")
}
