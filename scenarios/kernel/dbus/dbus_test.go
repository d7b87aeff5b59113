package dbus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMarshalHello checks the encoding against the bytes of the Hello call
// every D-Bus client sends first (as dbus-monitor --binary shows it).
func TestMarshalHello(t *testing.T) {
	m := &Message{Type: TypeMethodCall, Serial: 1, Destination: "org.freedesktop.DBus",
		Path: "/org/freedesktop/DBus", Interface: "org.freedesktop.DBus", Member: "Hello"}
	b, err := m.Marshal()
	require.NoError(t, err)
	want := "l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x6d\x00\x00\x00" +
		"\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00\x00\x00" +
		"\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00" +
		"\x03\x01s\x00\x05\x00\x00\x00Hello\x00\x00\x00" +
		"\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00"
	require.Equal(t, []byte(want), b)
	back, err := ReadMessage(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, m, back)
}

// TestRoundTrip encodes and decodes the shapes meshsend uses, with the
// alignment traps (a struct after a byte, an empty array of structs).
func TestRoundTrip(t *testing.T) {
	body := []any{sampleObjects(), uint8(7), ObjectPath("/a/b"), uint16(0x00AA), uint16(1),
		[]DictEntry{}, []byte{0x82, 0x02, 0x01, 0x00}, Variant{"(yt)", Struct{uint8(1), uint64(1 << 40)}},
		true, int32(-2), "text", Signature("a{sv}"), []any{}}
	m := &Message{Type: TypeMethodReturn, Serial: 9, ReplySerial: 4, Destination: ":1.7",
		Signature: "a{oa{sa{sv}}}yoqqa{sv}ayvbisgaq", Body: body}
	b, err := m.Marshal()
	require.NoError(t, err)
	back, err := ReadMessage(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, m, back)
}

// TestParseToken: mesh-cfgclient prints the node's token octets; meshd
// wants them as a big-endian uint64 on D-Bus.
// TestBadInputDoesNotPanic feeds truncated and corrupted messages.
func TestBadInputDoesNotPanic(t *testing.T) {
	m := &Message{Type: TypeMethodCall, Serial: 3, Path: "/x", Member: "M", Signature: "a{oa{sa{sv}}}",
		Body: []any{sampleObjects()}}
	b, err := m.Marshal()
	require.NoError(t, err)
	for i := range b {
		_, _ = ReadMessage(bytes.NewReader(b[:i]))
		c := bytes.Clone(b)
		c[i] ^= 0xFF
		_, _ = ReadMessage(bytes.NewReader(c))
	}
}

// TestAgainstDBusDaemon talks to a private dbus-daemon (the reference
// implementation, which rejects malformed messages): a call from
// dbus-send reaches our handler, and one connection calls another with
// the object tree bluetooth-meshd asks for.
func TestAgainstDBusDaemon(t *testing.T) {
	sock := startDaemon(t)
	server, err := Dial(sock, 5*time.Second)
	require.NoError(t, err)
	defer server.Close()
	require.True(t, strings.HasPrefix(server.Name, ":"), server.Name)
	server.Handle = func(m *Message) (string, []any, string, string) {
		if m.Path == "/app" && m.Member == "GetManagedObjects" {
			return "a{oa{sa{sv}}}", []any{sampleObjects()}, "", ""
		}
		return "", nil, "org.freedesktop.DBus.Error.UnknownMethod", "no " + m.Member
	}

	client, err := Dial(sock, 5*time.Second)
	require.NoError(t, err)
	defer client.Close()

	// dbus-send (libdbus) calls us; the daemon forwards our reply.
	send := exec.Command("dbus-send", "--bus=unix:path="+sock, "--print-reply", "--dest="+server.Name,
		"/app", "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
	var sendOut bytes.Buffer
	send.Stdout, send.Stderr = &sendOut, &sendOut
	require.NoError(t, send.Start())
	go func() {
		server.SetDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := server.Next(); err != nil {
				return
			}
		}
	}()
	require.NoError(t, send.Wait(), sendOut.String())
	require.Contains(t, sendOut.String(), `"org.bluez.mesh.Element1"`)
	require.Contains(t, sendOut.String(), `uint16 32767`)

	// Our client calls our server through the daemon.
	client.SetDeadline(time.Now().Add(5 * time.Second))
	r, err := client.Call(server.Name, "/app", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", "")
	require.NoError(t, err)
	require.Equal(t, "a{oa{sa{sv}}}", r.Signature)
	require.Equal(t, []any{sampleObjects()}, r.Body)
	_, err = client.Call(server.Name, "/nowhere", "x.y", "Z", "")
	require.ErrorContains(t, err, "UnknownMethod")
}

// sampleObjects is an object tree like the one meshsend exports: nested
// dictionaries, variants, structs and arrays.
func sampleObjects() []DictEntry {
	v := func(sig string, x any) Variant { return Variant{Sig: sig, Value: x} }
	model := func(id uint16) any {
		return Struct{id, []DictEntry{{"Subscribe", v("b", false)}, {"Publish", v("b", false)}}}
	}
	return []DictEntry{
		{ObjectPath("/app"), []DictEntry{{"org.bluez.mesh.Application1", []DictEntry{
			{"CompanyID", v("q", uint16(0x05F1))}, {"CRPL", v("q", uint16(0x7FFF))},
		}}}},
		{ObjectPath("/app/ele0"), []DictEntry{{"org.bluez.mesh.Element1", []DictEntry{
			{"Index", v("y", uint8(0))},
			{"Models", v("a(qa{sv})", []any{model(0x0000), model(0x0001)})},
			{"VendorModels", v("a(qqa{sv})", []any{})},
		}}}},
	}
}

// startDaemon runs a private dbus-daemon and returns its socket path.
func startDaemon(t *testing.T) string {
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("no dbus-daemon")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=`+sock+`</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`), 0o644))
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_, err = bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)

	return sock
}

// TestServe: with Serve, calls from several goroutines get their own
// replies while the reader goroutine answers calls addressed to us.
func TestServe(t *testing.T) {
	sock := startDaemon(t)
	server, err := Dial(sock, 5*time.Second)
	require.NoError(t, err)
	defer server.Close()
	server.Handle = func(m *Message) (string, []any, string, string) {
		if m.Member == "Echo" {
			return "s", []any{m.Body[0]}, "", ""
		}
		return "", nil, "org.example.Error.No", "no " + m.Member
	}
	server.Serve()
	client, err := Dial(sock, 5*time.Second)
	require.NoError(t, err)
	defer client.Close()
	client.Serve()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			want := fmt.Sprint("hello ", i)
			r, err := client.Call(server.Name, "/x", "org.example", "Echo", "s", want)
			if err == nil && r.Body[0] != want {
				err = fmt.Errorf("got %v, want %s", r.Body[0], want)
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	_, err = client.Call(server.Name, "/x", "org.example", "Nope", "")
	require.ErrorContains(t, err, "org.example.Error.No: no Nope")
	server.Close()
	_, err = client.Call(server.Name, "/x", "org.example", "Echo", "s", "gone")
	require.Error(t, err, "the server has gone: the bus answers with an error")
}
