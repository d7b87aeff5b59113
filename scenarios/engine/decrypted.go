package engine

import (
	"go.uber.org/zap"

	"blesim/linklayer"
	"blesim/linklayer/radio"
	"blesim/scenarios/trace"
)

// OnSessionKeys adds fn to the functions that see the key material of
// every LL encryption session a controller of this world puts into use
// (linklayer.Controller.SetSessionObserver; Core v5.4 Vol 6 Part B
// §5.1.3.1), built-in and external controllers alike. Decrypted traces
// and charts use it; call it before running the scheduler.
func (w *World) OnSessionKeys(fn func(linklayer.SessionKeys)) {
	w.onKeys = append(w.onKeys, fn)
}

func (w *World) sessionKeys(k linklayer.SessionKeys) {
	for _, fn := range w.onKeys {
		fn(k)
	}
}

// OnAirDecrypted adds fn to the functions that see every transmission
// when it starts, as OnAir does, together with the packet in clear: a data
// PDU of an encrypted link decrypted with its sender's session keys, st
// one of trace.Clear, trace.Decrypted, trace.DecryptedMICFailure. One
// trace.Decryptor serves every such function, so each packet is opened
// once however many outputs want it in clear. Call it before running the
// scheduler.
func (w *World) OnAirDecrypted(fn func(tx *radio.Reception, from *radio.Port, clear radio.Packet, st int)) {
	if w.dec == nil {
		w.dec = trace.NewDecryptor()
		w.OnSessionKeys(w.dec.AddKeys)
		w.OnAir(func(tx *radio.Reception, from *radio.Port) {
			clear, st := w.dec.Decrypt(tx.Packet, from)
			for _, fn := range w.onClear {
				fn(tx, from, clear, st)
			}
		})
	}
	w.onClear = append(w.onClear, fn)
}

// openDecryptedPcap writes the air to path as the teaching copy: data PDUs
// of encrypted links in clear (MIC removed, Length fixed, the header's
// other bits as on air), flagged "decrypted, MIC checked" in the
// pseudo-header (trace.Decryptor).
func (w *World) openDecryptedPcap(path string) error {
	p, f, err := createPcap(path, "decrypted pcap")
	if err != nil {
		return err
	}
	w.dpcap, w.dpcapF = p, f
	w.OnAirDecrypted(func(tx *radio.Reception, _ *radio.Port, pk radio.Packet, st int) {
		rec := trace.Packet{At: tx.Start, Air: pk, Decrypted: st != trace.Clear, MICInvalid: st == trace.DecryptedMICFailure}
		if err := p.Write(rec); err != nil {
			w.log.Warn("decrypted pcap write failed", zap.Error(err))
		}
	})
	return nil
}
