package meshnode

import (
	"fmt"

	"go.uber.org/zap"

	"blesim/hosts/gatt"
	"blesim/hosts/hcihost"
	"blesim/hosts/l2cap"
	"blesim/hosts/mesh/pbgatt"
	"blesim/hosts/mesh/prov"
	"blesim/linklayer/sim"
	"blesim/vhci/hci"
)

// nodeHCI is what a node on its own controller adds: the host side of
// HCI, the advertising bearer, and for PB-GATT a GATT server with the
// Mesh Provisioning Service behind connectable advertising.
type nodeHCI struct {
	n      *Node
	Host   *hcihost.Host
	Bearer *AdvBearer
	mux    *l2cap.Mux
	server *gatt.Server
	pb     *pbgatt.Server
	advPB  []byte // connectable advertising data of PB-GATT
}

// NewNode creates a mesh device on its own virtual controller: send
// passes H4 packets to the controller; the wiring must call Receive with
// the controller's packets, then Start.
func NewNode(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg NodeConfig) (*Node, error) {
	h := hcihost.New(log.Named("hci"), sched, send)
	b := NewAdvBearer(log.Named("bearer"), h)
	if cfg.Transmissions > 0 {
		b.Transmissions = cfg.Transmissions
	}
	n, err := newNode(log, sched, b, cfg)
	if err != nil {
		return nil, err
	}
	x := &nodeHCI{n: n, Host: h, Bearer: b}
	n.hci = x
	b.OnReceive = n.ReceiveAD
	if n.cfg.PBGATT {
		if x.advPB, err = pbgatt.AdvData(cfg.UUID, cfg.OOBInfo); err != nil {
			return nil, fmt.Errorf("mesh node %q: %w", cfg.Name, err)
		}
		x.mux = l2cap.NewMux(log.Named("l2cap"), h)
		x.pb = pbgatt.NewServer(log.Named("pb-gatt"), sched)
		name := cfg.Name
		if name == "" {
			name = "blesim mesh node"
		}
		db, err := gatt.NewDB(gatt.GAPService(name, 0), gatt.GATTService(), x.pb.Service)
		if err != nil {
			return nil, fmt.Errorf("mesh node %q: %w", cfg.Name, err)
		}
		x.server = gatt.NewServer(log.Named("gatt"), db)
		x.mux.OnConnect = func(c *l2cap.Conn) {
			x.server.Attach(gatt.NewBearer(c.Logger().Named("att"), c), c)
		}
		x.pb.OnLink = func(l *pbgatt.ServerLink) pbgatt.Handler {
			n.linkOpen = "PB-GATT"
			n.emit(LinkOpened{UUID: cfg.UUID, Bearer: "PB-GATT"})
			return n.dev.Open(l)
		}
	}
	return n, nil
}

// Host is the node's HCI host (nil for a node on a plain bearer).
func (n *Node) Host() *hcihost.Host {
	if n.hci == nil {
		return nil
	}
	return n.hci.Host
}

// Bearer is the node's advertising bearer (nil on a plain bearer).
func (n *Node) Bearer() *AdvBearer {
	if n.hci == nil {
		return nil
	}
	return n.hci.Bearer
}

// Receive takes one H4 packet from the controller.
func (n *Node) Receive(h4 []byte) {
	if n.hci != nil {
		n.hci.Host.Receive(h4)
	}
}

// Start brings the controller up, starts scanning and the advertising
// bearer, then loads the state file or starts beaconing. A node on a
// plain bearer starts at once.
func (n *Node) Start() {
	if n.hci == nil {
		n.begin()
		return
	}
	x := n.hci
	x.Host.Bringup(func(err error) {
		if err != nil {
			n.emit(Error{Step: "bring-up", Err: err})
			return
		}
		withRandomAddress(x.Host, x.Bearer, n.cfg.RandomAddress, func(err error) {
			if err != nil {
				n.emit(Error{Step: "set random address", Err: err})
				return
			}
			x.Bearer.Start(func(err error) {
				if err != nil {
					n.emit(Error{Step: "scan enable", Err: err})
					return
				}
				n.begin()
			})
		})
	})
}

// withRandomAddress sets the static random address (when given) and makes
// the bearer use it, then calls then.
func withRandomAddress(h *hcihost.Host, b *AdvBearer, a *hci.BDAddr, then func(error)) {
	if a == nil {
		then(nil)
		return
	}
	b.OwnAddrType = 1
	h.SetRandomAddress(*a, func(_ []byte, err error) { then(err) })
}

func (x *nodeHCI) unprovisioned() {
	if x.pb != nil {
		x.Bearer.SetIdle(x.advPB)
	}
}

// provisioned stops PB-GATT advertising; the provisioner closes the link
// by disconnecting (§5.2.2), or the node does after a while.
func (x *nodeHCI) provisioned() {
	x.Bearer.SetIdle(nil)
	if x.mux == nil {
		return
	}
	x.n.sched.After(prov.ProtocolTimeout/6, func() {
		for _, sc := range x.server.Conns() {
			if sc.Link != nil {
				sc.Link.Disconnect(hci.StatusRemoteUserTerminated)
			}
		}
	})
}
