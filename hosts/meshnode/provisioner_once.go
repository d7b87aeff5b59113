package meshnode

import (
	"fmt"
	"slices"

	"go.uber.org/zap"

	"blesim/hosts/mesh/prov"
)

// Bearer names for ProvisionOnce.
const (
	BearerPBADV  = "pb-adv"
	BearerPBGATT = "pb-gatt"
)

// once is a single provisioning attempt asked for with ProvisionOnce.
type once struct {
	target Target
	bearer string
}

// ProvisionOnce makes one provisioning attempt of the device t.UUID with
// exactly t's OOB data (Mesh Protocol v1.1 §5.4.2.3: the provisioner
// picks the authentication method from the device's capabilities and
// what it can do: static OOB when t.StaticOOB is set, else output OOB when
// t.Output, else input OOB when t.Input, else No OOB; the OOB public key
// when t.PublicKey is set) over the given bearer ("pb-adv", "pb-gatt", or
// "" for the usual choice). A PB-GATT attempt waits until the device's
// connectable advertising has been heard. The outcome is a Provisioned or
// ProvisioningFailed event; a failed attempt is not retried. Use it on a
// provisioner that provisions nothing on its own (no Any, no Targets).
func (p *Provisioner) ProvisionOnce(t Target, bearer string) error {
	switch bearer {
	case "", BearerPBADV:
	case BearerPBGATT:
		if p.hci == nil || p.hci.gatt == nil {
			return fmt.Errorf("mesh provisioner %q: PB-GATT is not enabled", p.cfg.Name)
		}
	default:
		return fmt.Errorf("mesh provisioner %q: unknown bearer %q (pb-adv or pb-gatt)", p.cfg.Name, bearer)
	}
	if p.active[t.UUID] || slices.Contains(p.queue, t.UUID) {
		return fmt.Errorf("mesh provisioner %q: device %x is already being provisioned", p.cfg.Name, t.UUID)
	}
	if p.once == nil {
		p.once = map[[16]byte]once{}
	}
	p.once[t.UUID] = once{target: t, bearer: bearer}
	p.attempts[t.UUID] = 0
	if p.started && p.want(t.UUID) {
		p.queue = append(p.queue, t.UUID)
		p.pump()
	}
	return nil
}

// onceTarget is the target of a ProvisionOnce attempt.
func (p *Provisioner) onceTarget(uuid [16]byte) (Target, bool) {
	o, ok := p.once[uuid]
	return o.target, ok
}

// bearerFor says how start provisions uuid: over PB-GATT or PB-ADV, or
// not yet (a PB-GATT attempt whose device has not been heard; its
// advertising report queues it again).
func (p *Provisioner) bearerFor(uuid [16]byte) (gatt, wait bool) {
	heard := p.hci != nil && p.hci.gatt != nil && p.hci.gatt.has(uuid)
	switch o, ok := p.once[uuid]; {
	case !ok || o.bearer == "":
		return heard, false
	case o.bearer == BearerPBGATT:
		return true, !heard
	}
	return false, false
}

// connectFailed handles a PB-GATT connection that failed or dropped
// before the provisioning session started (no provisioning PDU was
// exchanged): a ProvisionOnce attempt connects again, up to maxAttempts
// connections, as a provisioner's user would retry; other attempts end.
func (p *Provisioner) connectFailed(uuid [16]byte, r prov.Result) {
	if _, ok := p.once[uuid]; !ok || p.attempts[uuid] >= maxAttempts {
		p.done(uuid, "PB-GATT", r)
		return
	}
	p.log.Info("PB-GATT connection failed; connecting again", zap.String("uuid", fmt.Sprintf("%x", uuid)), zap.Error(r.Err))
	delete(p.active, uuid)
	p.sched.After(RetryDelay/2, func() {
		if _, ok := p.once[uuid]; ok && p.want(uuid) {
			p.queue = append(p.queue, uuid)
			p.pump()
		}
	})
	p.pump()
}
