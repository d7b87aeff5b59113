package main

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseToken(t *testing.T) {
	v, err := parseToken("2890555fad38f6d4")
	require.NoError(t, err)
	require.Equal(t, uint64(0x2890555fad38f6d4), v)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	require.Equal(t, []byte{0x28, 0x90, 0x55, 0x5f, 0xad, 0x38, 0xf6, 0xd4}, b[:])
	_, err = parseToken("2890")
	require.Error(t, err)
}
