// Package kernel drives the real Linux kernel and BlueZ as a scenario's
// central: bluetoothd over D-Bus (BlueZ doc/adapter-api.txt,
// device-api.txt, gatt-api.txt, agent-api.txt), on a controller blesim
// plugged into the kernel through /dev/vhci.
//
// A BlueZ value owns one D-Bus connection. Every method blocks until
// bluetoothd answers (at most a minute); bluetoothd's calls to our agent
// (passkey requests during Pair) are answered on the connection's reader
// goroutine through the callbacks in Agent, which may block until the
// answer is known.
package kernel

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"blesim/scenarios/kernel/dbus"
	"blesim/vhci/hci"
)

// D-Bus names of BlueZ.
const (
	service      = "org.bluez"
	ifaceAdapter = "org.bluez.Adapter1"
	ifaceDevice  = "org.bluez.Device1"
	ifaceChar    = "org.bluez.GattCharacteristic1"
	ifaceAgent   = "org.bluez.Agent1"
	ifaceAgentM  = "org.bluez.AgentManager1"
	ifaceProps   = "org.freedesktop.DBus.Properties"
	ifaceObjMgr  = "org.freedesktop.DBus.ObjectManager"
	agentPath    = dbus.ObjectPath("/blesim/agent")
	errRejected  = "org.bluez.Error.Rejected"
	errCanceled  = "org.bluez.Error.Canceled"
	pollInterval = 100 * time.Millisecond
)

// Agent answers bluetoothd's pairing questions (agent-api.txt). A nil
// function rejects the request.
type Agent struct {
	// Passkey returns the passkey to enter for device (Passkey Entry with
	// this side typing, Core v5.4 Vol 3 Part H §2.3.5.3).
	Passkey func(device hci.BDAddr) (uint32, error)
	// Confirm says whether passkey matches (Numeric Comparison).
	Confirm func(device hci.BDAddr, passkey uint32) bool
	// Display is told the passkey bluetoothd shows for the user to type on
	// device.
	Display func(device hci.BDAddr, passkey uint32)
}

// BlueZ is a connection to bluetoothd for one adapter.
type BlueZ struct {
	conn    *dbus.Conn
	adapter dbus.ObjectPath
	Agent   Agent
	log     *zap.Logger
}

// Open connects to the system bus at bus (dbus.SystemBusPath() for the
// default) and waits up to wait for bluetoothd to have the adapter whose
// address is addr, then powers it on.
func Open(bus string, addr hci.BDAddr, wait time.Duration, log *zap.Logger) (*BlueZ, error) {
	c, err := dbus.Dial(bus, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("D-Bus system bus %s: %w (is dbus-daemon running?)", bus, err)
	}
	b := &BlueZ{conn: c, log: log}
	c.Handle = b.handle
	c.CallTimeout = 60 * time.Second
	c.Serve()
	deadline := time.Now().Add(wait)
	for {
		path, err := b.findAdapter(addr)
		if err == nil && path != "" {
			b.adapter = path
			break
		}
		if time.Now().After(deadline) {
			c.Close()
			if err == nil {
				err = fmt.Errorf("bluetoothd has no adapter with address %s after %s (is bluetoothd running?)", addr, wait)
			}
			return nil, err
		}
		time.Sleep(pollInterval)
	}
	if err := b.set(b.adapter, ifaceAdapter, "Powered", dbus.Variant{Sig: "b", Value: true}); err != nil {
		c.Close()
		return nil, fmt.Errorf("power on %s: %w", b.adapter, err)
	}
	return b, nil
}

// Close unregisters the agent and closes the connection.
func (b *BlueZ) Close() error {
	_, _ = b.call(service, "/org/bluez", ifaceAgentM, "UnregisterAgent", "o", agentPath)
	return b.conn.Close()
}

func (b *BlueZ) call(dest string, path dbus.ObjectPath, iface, member, sig string, args ...any) (*dbus.Message, error) {
	return b.conn.Call(dest, path, iface, member, sig, args...)
}

func (b *BlueZ) set(path dbus.ObjectPath, iface, prop string, v dbus.Variant) error {
	_, err := b.call(service, path, ifaceProps, "Set", "ssv", iface, prop, v)
	return err
}

// objects returns bluetoothd's object tree: path -> interface ->
// property -> value.
func (b *BlueZ) objects() (map[dbus.ObjectPath]map[string]map[string]any, error) {
	r, err := b.call(service, "/", ifaceObjMgr, "GetManagedObjects", "")
	if err != nil {
		return nil, err
	}
	out := map[dbus.ObjectPath]map[string]map[string]any{}
	if len(r.Body) != 1 {
		return nil, errors.New("GetManagedObjects: unexpected reply")
	}
	objs, _ := r.Body[0].([]dbus.DictEntry)
	for _, o := range objs {
		path, _ := o.Key.(dbus.ObjectPath)
		ifaces := map[string]map[string]any{}
		list, _ := o.Value.([]dbus.DictEntry)
		for _, i := range list {
			name, _ := i.Key.(string)
			props := map[string]any{}
			pl, _ := i.Value.([]dbus.DictEntry)
			for _, p := range pl {
				k, _ := p.Key.(string)
				if v, ok := p.Value.(dbus.Variant); ok {
					props[k] = v.Value
				}
			}
			ifaces[name] = props
		}
		out[path] = ifaces
	}
	return out, nil
}

func (b *BlueZ) findAdapter(addr hci.BDAddr) (dbus.ObjectPath, error) {
	objs, err := b.objects()
	if err != nil {
		return "", err
	}
	for path, ifaces := range objs {
		if a, ok := ifaces[ifaceAdapter]; ok {
			if s, _ := a["Address"].(string); strings.EqualFold(s, addr.String()) {
				return path, nil
			}
		}
	}
	return "", nil
}

// DevicePath is bluetoothd's object path for the device at addr.
func (b *BlueZ) DevicePath(addr hci.BDAddr) dbus.ObjectPath {
	return dbus.ObjectPath(string(b.adapter) + "/dev_" + strings.ReplaceAll(strings.ToUpper(addr.String()), ":", "_"))
}

// RegisterAgent registers the agent with capability ("KeyboardDisplay",
// "DisplayOnly", "DisplayYesNo", "KeyboardOnly", "NoInputNoOutput") as
// the default agent.
func (b *BlueZ) RegisterAgent(capability string) error {
	_, _ = b.call(service, "/org/bluez", ifaceAgentM, "UnregisterAgent", "o", agentPath)
	if _, err := b.call(service, "/org/bluez", ifaceAgentM, "RegisterAgent", "os", agentPath, capability); err != nil {
		return fmt.Errorf("RegisterAgent %s: %w", capability, err)
	}
	if _, err := b.call(service, "/org/bluez", ifaceAgentM, "RequestDefaultAgent", "o", agentPath); err != nil {
		return fmt.Errorf("RequestDefaultAgent: %w", err)
	}
	return nil
}

// Known reports whether bluetoothd has an object for the device at addr.
func (b *BlueZ) Known(addr hci.BDAddr) (bool, error) {
	objs, err := b.objects()
	if err != nil {
		return false, err
	}
	_, ok := objs[b.DevicePath(addr)][ifaceDevice]
	return ok, nil
}

// Discover scans (LE only) until bluetoothd knows the device at addr, for
// at most wait.
func (b *BlueZ) Discover(addr hci.BDAddr, wait time.Duration) error {
	if ok, err := b.Known(addr); err != nil || ok {
		return err
	}
	filter := []dbus.DictEntry{{Key: "Transport", Value: dbus.Variant{Sig: "s", Value: "le"}}}
	if _, err := b.call(service, b.adapter, ifaceAdapter, "SetDiscoveryFilter", "a{sv}", filter); err != nil {
		return fmt.Errorf("SetDiscoveryFilter: %w", err)
	}
	if _, err := b.call(service, b.adapter, ifaceAdapter, "StartDiscovery", ""); err != nil {
		return fmt.Errorf("StartDiscovery: %w", err)
	}
	defer func() { _, _ = b.call(service, b.adapter, ifaceAdapter, "StopDiscovery", "") }()
	deadline := time.Now().Add(wait)
	for {
		ok, err := b.Known(addr)
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bluetoothd did not discover %s within %s", addr, wait)
		}
		time.Sleep(pollInterval)
	}
}

// Connect calls Device1.Connect.
func (b *BlueZ) Connect(addr hci.BDAddr) error {
	_, err := b.call(service, b.DevicePath(addr), ifaceDevice, "Connect", "")
	return err
}

// Disconnect calls Device1.Disconnect.
func (b *BlueZ) Disconnect(addr hci.BDAddr) error {
	_, err := b.call(service, b.DevicePath(addr), ifaceDevice, "Disconnect", "")
	return err
}

// Pair calls Device1.Pair (bluetoothd bonds when the adapter is
// pairable, which it is by default).
func (b *BlueZ) Pair(addr hci.BDAddr) error {
	_, err := b.call(service, b.DevicePath(addr), ifaceDevice, "Pair", "")
	return err
}

// Remove deletes the device and its keys (Adapter1.RemoveDevice, what
// "bluetoothctl remove" does).
func (b *BlueZ) Remove(addr hci.BDAddr) error {
	_, err := b.call(service, b.adapter, ifaceAdapter, "RemoveDevice", "o", b.DevicePath(addr))
	return err
}

// characteristic waits (up to wait) for the device's services to be
// resolved and returns the path of its characteristic uuid (128-bit,
// lowercase, as BlueZ writes UUIDs).
func (b *BlueZ) characteristic(addr hci.BDAddr, uuid string, wait time.Duration) (dbus.ObjectPath, error) {
	prefix := string(b.DevicePath(addr)) + "/"
	deadline := time.Now().Add(wait)
	for {
		objs, err := b.objects()
		if err != nil {
			return "", err
		}
		resolved, _ := objs[b.DevicePath(addr)][ifaceDevice]["ServicesResolved"].(bool)
		for path, ifaces := range objs {
			c, ok := ifaces[ifaceChar]
			if !ok || !strings.HasPrefix(string(path), prefix) {
				continue
			}
			if u, _ := c["UUID"].(string); strings.EqualFold(u, uuid) {
				return path, nil
			}
		}
		if resolved || time.Now().After(deadline) {
			return "", fmt.Errorf("%s has no characteristic %s (services resolved: %v)", addr, uuid, resolved)
		}
		time.Sleep(pollInterval)
	}
}

// ReadValue reads characteristic uuid of the connected device.
func (b *BlueZ) ReadValue(addr hci.BDAddr, uuid string) ([]byte, error) {
	path, err := b.characteristic(addr, uuid, 10*time.Second)
	if err != nil {
		return nil, err
	}
	r, err := b.call(service, path, ifaceChar, "ReadValue", "a{sv}", []dbus.DictEntry{})
	if err != nil {
		return nil, err
	}
	v, _ := r.Body[0].([]byte)
	return v, nil
}

// WriteValue writes characteristic uuid (a Write Request).
func (b *BlueZ) WriteValue(addr hci.BDAddr, uuid string, value []byte) error {
	path, err := b.characteristic(addr, uuid, 10*time.Second)
	if err != nil {
		return err
	}
	opts := []dbus.DictEntry{{Key: "type", Value: dbus.Variant{Sig: "s", Value: "request"}}}
	_, err = b.call(service, path, ifaceChar, "WriteValue", "aya{sv}", value, opts)
	return err
}

// StartNotify subscribes to characteristic uuid.
func (b *BlueZ) StartNotify(addr hci.BDAddr, uuid string) error {
	path, err := b.characteristic(addr, uuid, 10*time.Second)
	if err != nil {
		return err
	}
	_, err = b.call(service, path, ifaceChar, "StartNotify", "")
	return err
}

// handle answers bluetoothd's calls to our agent (agent-api.txt).
func (b *BlueZ) handle(m *dbus.Message) (string, []any, string, string) {
	if m.Path != agentPath || m.Interface != ifaceAgent {
		return "", nil, "org.freedesktop.DBus.Error.UnknownMethod", "no " + m.Interface + "." + m.Member
	}
	dev := hci.BDAddr{}
	if len(m.Body) > 0 {
		if p, ok := m.Body[0].(dbus.ObjectPath); ok {
			dev = addrOfPath(p)
		}
	}
	b.log.Info("agent", zap.String("call", m.Member), zap.Stringer("device", dev))
	switch m.Member {
	case "Release", "Cancel", "AuthorizeService", "RequestAuthorization":
		return "", nil, "", ""
	case "RequestPasskey":
		if b.Agent.Passkey == nil {
			return "", nil, errRejected, "no passkey to enter"
		}
		pk, err := b.Agent.Passkey(dev)
		if err != nil {
			return "", nil, errCanceled, err.Error()
		}
		return "u", []any{pk}, "", ""
	case "DisplayPasskey":
		if len(m.Body) >= 2 && b.Agent.Display != nil {
			if pk, ok := m.Body[1].(uint32); ok {
				b.Agent.Display(dev, pk)
			}
		}
		return "", nil, "", ""
	case "RequestConfirmation":
		pk, _ := m.Body[1].(uint32)
		if b.Agent.Confirm != nil && b.Agent.Confirm(dev, pk) {
			return "", nil, "", ""
		}
		return "", nil, errRejected, "numbers differ"
	}
	return "", nil, errRejected, "blesim's agent does not do " + m.Member
}

// addrOfPath reads the address out of /org/bluez/hciN/dev_AA_BB_CC_DD_EE_FF.
func addrOfPath(p dbus.ObjectPath) hci.BDAddr {
	s := string(p)
	i := strings.LastIndex(s, "/dev_")
	if i < 0 {
		return hci.BDAddr{}
	}
	a, err := hci.ParseBDAddr(strings.ReplaceAll(s[i+5:], "_", ":"))
	if err != nil {
		return hci.BDAddr{}
	}
	return a
}

// Bonded lists the devices bluetoothd keeps keys for (Device1.Bonded;
// Paired on a BlueZ without that property).
func (b *BlueZ) Bonded() ([]hci.BDAddr, error) {
	objs, err := b.objects()
	if err != nil {
		return nil, err
	}
	var out []hci.BDAddr
	prefix := string(b.adapter) + "/dev_"
	for path, ifaces := range objs {
		d, ok := ifaces[ifaceDevice]
		if !ok || !strings.HasPrefix(string(path), prefix) {
			continue
		}
		bonded, has := d["Bonded"].(bool)
		if !has {
			bonded, _ = d["Paired"].(bool)
		}
		if bonded {
			out = append(out, addrOfPath(path))
		}
	}
	return out, nil
}
