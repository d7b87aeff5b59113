// Command meshsend sends mesh access messages (e.g. Generic OnOff Set)
// through BlueZ's bluetooth-meshd, from the node mesh-cfgclient created. It
// is the model client mesh-cfgclient 5.66 lacks: that tool configures nodes
// (composition, keys, bindings) but cannot send application messages.
//
//	meshsend -token TOKEN [-app-idx 1] [-wait 3s] DST HEX [HEX...]
//
// TOKEN is the node's token (mesh-cfgclient prints "Created new node with
// token 0123456789abcdef" and stores it in its config_db.json). meshsend
// attaches to that node the way mesh-cfgclient does (Network1.Attach with
// the same composition: one element with the Configuration Server and
// Client models), calls Node1.Send once per HEX message to the unicast
// address DST (hex) with the AppKey index, waits -wait for messages
// delivered to it, prints them and exits, which detaches the node. The
// node must not be attached elsewhere: quit mesh-cfgclient first.
//
// bluetooth-meshd only hands an application the access messages of models
// bound to the AppKey, and the Configuration models cannot be, so a
// Generic OnOff Status does not come back here: bluetooth-meshd --debug
// logs it ("Clr Rx: 8204...").
//
// Built statically and copied into the harness VM, like btexpect.
package main

import (
	"blesim/scenarios/kernel/dbus"

	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	meshService  = "org.bluez.mesh"
	appPath      = dbus.ObjectPath("/meshsend")
	elementPath  = dbus.ObjectPath("/meshsend/ele0")
	ifaceApp     = "org.bluez.mesh.Application1"
	ifaceElement = "org.bluez.mesh.Element1"
	ifaceObjMgr  = "org.freedesktop.DBus.ObjectManager"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("meshsend", flag.ContinueOnError)
	token := fs.String("token", "", "the node's token, 16 hex digits as mesh-cfgclient prints it")
	appIdx := fs.Uint("app-idx", 1, "AppKey index")
	wait := fs.Duration("wait", 3*time.Second, "how long to wait for messages after sending")
	timeout := fs.Duration("timeout", 20*time.Second, "limit for each D-Bus call")
	bus := fs.String("bus", dbus.SystemBusPath(), "the bus's unix socket")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: meshsend -token TOKEN [-app-idx 1] [-wait 3s] DST HEX [HEX...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 || *token == "" {
		fs.Usage()
		return 2
	}
	tok, err := parseToken(*token)
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshsend:", err)
		return 2
	}
	dst, err := strconv.ParseUint(strings.TrimPrefix(fs.Arg(0), "0x"), 16, 16)
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshsend: bad destination address:", fs.Arg(0))
		return 2
	}
	var msgs [][]byte
	for _, h := range fs.Args()[1:] {
		b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		if err != nil || len(b) == 0 {
			fmt.Fprintln(os.Stderr, "meshsend: bad message (hex):", h)
			return 2
		}
		msgs = append(msgs, b)
	}

	c, err := dbus.Dial(*bus, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshsend: system bus:", err)
		return 1
	}
	defer c.Close()
	c.Handle = handle
	c.SetDeadline(time.Now().Add(*timeout))
	r, err := c.Call(meshService, "/org/bluez/mesh", "org.bluez.mesh.Network1", "Attach", "ot", appPath, tok)
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshsend: Attach:", err)
		return 1
	}
	node, _ := r.Body[0].(dbus.ObjectPath)
	fmt.Printf("attached: %s\n", node)
	for _, m := range msgs {
		c.SetDeadline(time.Now().Add(*timeout))
		_, err := c.Call(meshService, node, "org.bluez.mesh.Node1", "Send", "oqqa{sv}ay",
			elementPath, uint16(dst), uint16(*appIdx), []dbus.DictEntry{}, m)
		if err != nil {
			fmt.Fprintln(os.Stderr, "meshsend: Send:", err)
			return 1
		}
		fmt.Printf("sent to %04x with AppKey %d: %x\n", dst, *appIdx, m)
	}
	// Answer what arrives (MessageReceived) until -wait is over.
	c.SetDeadline(time.Now().Add(*wait))
	for {
		if _, err := c.Next(); err != nil {
			break
		}
	}
	return 0
}

// parseToken reads the token as mesh-cfgclient prints it and stores it:
// the node's 8 token octets, which bluetooth-meshd passes on D-Bus as a
// big-endian uint64 (node.c match_token: l_get_be64(node->token)).
func parseToken(s string) (uint64, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, fmt.Errorf("bad token %q: want 16 hex digits", s)
	}
	return binary.BigEndian.Uint64(b), nil
}

// handle answers bluetooth-meshd's calls: the object tree (the same
// composition as mesh-cfgclient's node, or Attach is refused), and the
// messages it delivers.
func handle(m *dbus.Message) (string, []any, string, string) {
	switch {
	case m.Path == appPath && m.Interface == ifaceObjMgr && m.Member == "GetManagedObjects":
		return "a{oa{sa{sv}}}", []any{managedObjects()}, "", ""
	case m.Path == elementPath && m.Interface == ifaceElement:
		fmt.Printf("%s %v\n", m.Member, m.Body)
		return "", nil, "", ""
	case m.Path == appPath && m.Interface == ifaceApp:
		return "", nil, "", ""
	}
	return "", nil, "org.freedesktop.DBus.Error.UnknownMethod", "meshsend has no " + m.Interface + "." + m.Member
}

func managedObjects() []dbus.DictEntry {
	v := func(sig string, x any) dbus.Variant { return dbus.Variant{Sig: sig, Value: x} }
	e := func(k, x any) dbus.DictEntry { return dbus.DictEntry{Key: k, Value: x} }
	q := func(x uint16) dbus.Variant { return v("q", x) }
	model := func(id uint16) any {
		return dbus.Struct{id, []dbus.DictEntry{e("Subscribe", v("b", false)), e("Publish", v("b", false))}}
	}
	return []dbus.DictEntry{
		e(appPath, []dbus.DictEntry{e(ifaceApp, []dbus.DictEntry{
			e("CompanyID", q(0x05F1)), e("ProductID", q(0x0002)), e("VersionID", q(0x0001)), e("CRPL", q(0x7FFF)),
		})}),
		e(elementPath, []dbus.DictEntry{e(ifaceElement, []dbus.DictEntry{
			e("Index", v("y", uint8(0))),
			e("Models", v("a(qa{sv})", []any{model(0x0000), model(0x0001)})),
			e("VendorModels", v("a(qqa{sv})", []any{})),
		})}),
	}
}
