package linklayer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"blesim/linklayer/radio"
	"blesim/vhci/hci"
)

// Tests of the Filter Accept List commands (Core v5.4 Vol 4 Part E
// §7.8.14–§7.8.17; Vol 6 Part B §4.3.1).

func alEntry(typ uint8, last byte) []byte {
	return params(typ, hci.BDAddr{last, 0x11, 0x22, 0x33, 0x44, 0x55})
}

// TestHCIAcceptListCommands: the size, adding (a duplicate is not added
// twice), removing (absent entries too), clearing, the address types
// accepted, and Memory Capacity Exceeded (0x07) when full.
func TestHCIAcceptListCommands(t *testing.T) {
	b := newBed(t, 1)
	h := b.dev("x", addrA, radio.Position{})
	require.Equal(t, []byte{0, acceptListSize}, h.ret(hci.OpLEReadAcceptListSize, nil))
	size := int(h.ret(hci.OpLEReadAcceptListSize, nil)[1])

	for _, tc := range []struct {
		typ  uint8
		want hci.Status
	}{{0, hci.StatusSuccess}, {1, hci.StatusSuccess}, {0xFF, hci.StatusSuccess},
		{2, hci.StatusInvalidParameters}, {3, hci.StatusInvalidParameters}, {0xFE, hci.StatusInvalidParameters}} {
		require.Equal(t, tc.want, h.st(hci.OpLEAddDeviceToAcceptList, alEntry(tc.typ, 0)), "add type %#x", tc.typ)
		require.Equal(t, tc.want, h.st(hci.OpLERemoveDeviceFromAcceptList, alEntry(tc.typ, 0)), "remove type %#x", tc.typ)
	}
	require.Empty(t, h.c.acceptList)

	// Address is ignored for anonymous advertisements (type 0xFF): one
	// entry, whatever the address, removed by any address.
	h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(0xFF, 1))
	h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(0xFF, 2))
	require.Len(t, h.c.acceptList, 1)
	h.ok(hci.OpLERemoveDeviceFromAcceptList, alEntry(0xFF, 3))
	require.Empty(t, h.c.acceptList)

	// Fill it; a duplicate does not take a slot; one more is refused.
	for i := range size {
		h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(uint8(i%2), byte(i)))
		h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(uint8(i%2), byte(i)))
	}
	require.Len(t, h.c.acceptList, size)
	require.Equal(t, hci.StatusMemoryCapacityExceeded, h.st(hci.OpLEAddDeviceToAcceptList, alEntry(0, 0xEE)))
	// The same address with the other type is another entry.
	require.Equal(t, hci.StatusMemoryCapacityExceeded, h.st(hci.OpLEAddDeviceToAcceptList, alEntry(1, 0)))
	require.True(t, h.c.onAcceptList(0, hci.BDAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}))
	require.False(t, h.c.onAcceptList(1, hci.BDAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}))

	// Removing frees a slot; removing an absent entry is fine.
	h.ok(hci.OpLERemoveDeviceFromAcceptList, alEntry(0, 0))
	h.ok(hci.OpLERemoveDeviceFromAcceptList, alEntry(0, 0))
	require.Len(t, h.c.acceptList, size-1)
	require.False(t, h.c.onAcceptList(0, hci.BDAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}))
	h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(0, 0xEE))
	require.True(t, h.c.onAcceptList(0, hci.BDAddr{0xEE, 0x11, 0x22, 0x33, 0x44, 0x55}))

	h.ok(hci.OpLEClearAcceptList, nil)
	require.Empty(t, h.c.acceptList)
	h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(1, 1))
	require.Len(t, h.c.acceptList, 1)
	// HCI Reset empties it (§7.3.2).
	h.ok(hci.OpReset, nil)
	require.Empty(t, h.c.acceptList)
}

// TestHCIAcceptListInUse: the list may not change (Command Disallowed,
// 0x0C) while advertising, scanning or initiating uses it; it may while
// their filter policies do not (§7.8.15–§7.8.17).
func TestHCIAcceptListInUse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(h *testHost)
		stop  func(h *testHost)
		inUse bool
	}{
		{"advertising, policy 0", advWith(advTypeInd, 0), advOff, false},
		{"advertising, policy 1", advWith(advTypeInd, 1), advOff, true},
		{"advertising, policy 2", advWith(advTypeInd, 2), advOff, true},
		{"advertising, policy 3", advWith(advTypeScanInd, 3), advOff, true},
		// Directed advertising ignores the filter policy (§7.8.5).
		{"directed advertising, policy 3", advWith(advTypeDirectLowDuty, 3), advOff, false},
		{"high duty directed advertising, policy 1", advWith(advTypeDirectHigh, 1), advOff, false},
		{"scanning, policy 0", scanWith(0), scanOff, false},
		{"scanning, policy 1", scanWith(1), scanOff, true},
		{"initiating, policy 0", initWith(0), initOff, false},
		{"initiating, policy 1", initWith(1), initOff, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t, 1)
			h := b.dev("x", addrA, radio.Position{})
			h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(0, 1))
			tc.start(h)
			want := hci.StatusSuccess
			if tc.inUse {
				want = hci.StatusCommandDisallowed
			}
			require.Equal(t, want, h.st(hci.OpLEAddDeviceToAcceptList, alEntry(0, 2)))
			require.Equal(t, want, h.st(hci.OpLERemoveDeviceFromAcceptList, alEntry(0, 1)))
			require.Equal(t, want, h.st(hci.OpLEClearAcceptList, nil))
			if tc.inUse {
				require.Len(t, h.c.acceptList, 1, "a refused command changed the list")
			}
			// Size is always allowed; after stopping, changes are too.
			require.Equal(t, []byte{0, acceptListSize}, h.ret(hci.OpLEReadAcceptListSize, nil))
			tc.stop(h)
			h.ok(hci.OpLEAddDeviceToAcceptList, alEntry(0, 3))
			h.ok(hci.OpLEClearAcceptList, nil)
		})
	}
}

func advWith(typ, policy uint8) func(h *testHost) {
	return func(h *testHost) {
		p := adv20(typ)
		p.fpol, p.peer = policy, addrB
		h.startAdv(p, nil, nil)
	}
}

func advOff(h *testHost) { h.ok(hci.OpLESetAdvertisingEnable, []byte{0}) }

func scanWith(policy uint8) func(h *testHost) {
	return func(h *testHost) { h.startScan(false, 0x10, 0x10, 0, policy, false) }
}

func scanOff(h *testHost) { h.ok(hci.OpLESetScanEnable, []byte{0, 0}) }

func initWith(policy uint8) func(h *testHost) {
	return func(h *testHost) {
		c := defaultCreate(addrB, 0)
		c.fpol = policy
		h.ok(hci.OpLECreateConnection, c.bytes())
	}
}

func initOff(h *testHost) { h.ok(hci.OpLECreateConnectionCancel, nil) }
