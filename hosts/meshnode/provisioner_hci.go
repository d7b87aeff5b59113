package meshnode

import (
	"go.uber.org/zap"

	"blesim/hosts/hcihost"
	"blesim/linklayer/sim"
)

// provHCI is the provisioner's controller: the HCI host and the
// advertising bearer.
type provHCI struct {
	Host   *hcihost.Host
	Bearer *AdvBearer
	gatt   *gattProv // PB-GATT (ProvisionerConfig.PBGATT)
}

// NewProvisioner creates the built-in provisioner on its own virtual
// controller: send passes H4 packets to the controller; the wiring must
// call Receive with the controller's packets, then Start.
func NewProvisioner(log *zap.Logger, sched *sim.Scheduler, send func(h4 []byte), cfg ProvisionerConfig) (*Provisioner, error) {
	h := hcihost.New(log.Named("hci"), sched, send)
	b := NewAdvBearer(log.Named("bearer"), h)
	if cfg.Transmissions > 0 {
		b.Transmissions = cfg.Transmissions
	}
	p, err := NewProvisionerOnBearer(log, sched, b, cfg)
	if err != nil {
		return nil, err
	}
	p.hci = &provHCI{Host: h, Bearer: b}
	b.OnReceive = p.ReceiveAD
	if cfg.PBGATT {
		p.hci.gatt = newGattProv(p, h)
		b.OnReport = p.hci.gatt.report
	}
	return p, nil
}

// Host is the provisioner's HCI host (nil on a plain bearer).
func (p *Provisioner) Host() *hcihost.Host {
	if p.hci == nil {
		return nil
	}
	return p.hci.Host
}

// Bearer is the provisioner's advertising bearer (nil on a plain bearer).
func (p *Provisioner) Bearer() *AdvBearer {
	if p.hci == nil {
		return nil
	}
	return p.hci.Bearer
}

// Receive takes one H4 packet from the controller.
func (p *Provisioner) Receive(h4 []byte) {
	if p.hci != nil {
		p.hci.Host.Receive(h4)
	}
}

// Start brings the controller up and starts scanning; the provisioner then
// provisions every wanted device it hears. On a plain bearer it starts at
// once.
func (p *Provisioner) Start() {
	if p.hci == nil {
		p.begin()
		return
	}
	p.hci.Host.Bringup(func(err error) {
		if err != nil {
			p.emit(Error{Step: "bring-up", Err: err})
			return
		}
		withRandomAddress(p.hci.Host, p.hci.Bearer, p.cfg.RandomAddress, func(err error) {
			if err != nil {
				p.emit(Error{Step: "set random address", Err: err})
				return
			}
			p.hci.Bearer.Start(func(err error) {
				if err != nil {
					p.emit(Error{Step: "scan enable", Err: err})
					return
				}
				p.begin()
			})
		})
	})
}
