package scenario

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"blesim/hosts/att"
	"blesim/hosts/profiles"
	"blesim/hosts/smp"
	"blesim/linklayer/sim"
)

// E-lock steps and expectations (the e-lock library scenarios):
//
//	steps:
//	  - pairing_mode: {device: Lock, on: false}   # the button on the lock
//	  - passkey: {device: Phone, value: 123456}   # what the phone's user types
//	  - probe_passkey: Attacker                   # learn a fixed passkey bit by bit
//	expect:
//	  - att_error: {device: Phone, uuid: "6c6f636b-0003-4000-8000-626c6573696d", code: 0x05}
//	  - finding: {device: Attacker, code: passkey-revealed, message: "passkey revealed: 123456"}
const (
	ActPairingMode  = "pairing_mode"
	ActPasskey      = "passkey"
	ActProbePasskey = "probe_passkey"
	// ExpATTError: a read, write or subscribe step failed with an ATT
	// error (Core v5.4 Vol 3 Part F §3.4.1.1).
	ExpATTError = "att_error"
)

// Fields of the e-lock steps and of att_error.
var (
	pairingModeFields  = []string{"device", "on"}
	passkeyFields      = []string{"device", "value"}
	probePasskeyFields = []string{"device", "timeout"}
	attErrorFields     = []string{"device", "uuid", "code", "count"}
)

// DefaultProbeTimeout bounds a probe_passkey step: every failed attempt
// makes the lock wait twice as long before the next (Vol 3 Part H
// §2.3.6), up to 64 times its first wait.
const DefaultProbeTimeout = 30 * time.Minute

var sixDigits = regexp.MustCompile(`^[0-9]{1,6}$`)

// lockStep decodes the e-lock steps; handled is false for other actions.
// Step.Wait holds probe_passkey's time limit (it extends the step
// timeout).
func (d *decoder) lockStep(st *Step, v *yaml.Node, p string) (ok, handled bool) {
	var fields []string
	switch st.Action {
	case ActPairingMode:
		fields = pairingModeFields
	case ActPasskey:
		fields = passkeyFields
	case ActProbePasskey:
		fields = probePasskeyFields
		st.Wait = DefaultProbeTimeout
		if v.Kind == yaml.ScalarNode {
			st.Device = d.device(v, p, true)
			return st.Device != "", true
		}
	default:
		return false, false
	}
	nerr := len(d.errs)
	m, ok := d.fields(v, p, fields)
	if !ok {
		return false, true
	}
	if dv := d.need(v, m, p, "device", "a device name"); dv != nil {
		st.Device = d.device(dv, join(p, "device"), st.Action != ActPairingMode)
	}
	switch st.Action {
	case ActPairingMode:
		if ov := d.need(v, m, p, "on", "true or false"); ov != nil {
			st.On = d.boolean(ov, join(p, "on"))
		}
	case ActPasskey:
		if vv := d.need(v, m, p, "value", "the 6-digit passkey, 0 to 999999"); vv != nil {
			if vv.Kind == yaml.ScalarNode && sixDigits.MatchString(vv.Value) {
				k, _ := strconv.ParseUint(vv.Value, 10, 32)
				st.Passkey = uint32(k)
			} else {
				d.errorf(vv, join(p, "value"), "want a passkey of up to 6 digits, 0 to 999999 (e.g. 123456 or \"012345\"), got %s", describe(vv))
			}
		}
	case ActProbePasskey:
		if tv := m["timeout"]; tv != nil {
			st.Wait, _ = d.duration(tv, join(p, "timeout"), time.Second, MaxDuration)
		}
	}
	return len(d.errs) == nerr, true
}

// lockAct runs an e-lock step; handled is false for other actions.
func (r *runner) lockAct(st Step, finish func(error)) (handled bool, err error) {
	switch st.Action {
	case ActPairingMode, ActPasskey, ActProbePasskey:
	default:
		return false, nil
	}
	d := r.ew.Device(st.Device)
	if st.Action == ActPairingMode {
		l, ok := d.Host.(*profiles.Lock)
		if !ok {
			return true, fmt.Errorf("%s (%s) has no pairing mode; it is an e-lock step", st.Device, d.Spec.Profile)
		}
		l.SetPairingMode(st.On)
		finish(nil)
		return true, nil
	}
	if k, ok := r.kernels[st.Device]; ok && st.Action == ActPasskey {
		k.setPasskey(st.Passkey) // what bluetoothd's agent answers from now on
		finish(nil)
		return true, nil
	}
	if d.Central == nil {
		return true, fmt.Errorf("%s: %s needs the built-in central", st.Action, st.Device)
	}
	m := d.Central.SMP
	switch st.Action {
	case ActPasskey:
		ua, ok := m.Agent().(*smp.UserAgent)
		if !ok {
			return true, fmt.Errorf("%s's agent (%T) takes no passkey", st.Device, m.Agent())
		}
		k := st.Passkey
		ua.Passkey = &k
		if waiting, _ := ua.Waiting(); waiting {
			err = ua.EnterPasskey(k)
		}
		finish(err)
	case ActProbePasskey:
		c := d.Central
		if c.Conn == nil {
			return true, fmt.Errorf("%s is not connected", st.Device)
		}
		m.ProbePasskey(c.Conn.Handle, &smp.PasskeyProbe{Log: r.log.Named(st.Device)}, smp.ProbeOptions{Retry: sim.Second},
			func(_ uint32, err error) { finish(err) })
	}
	return true, nil
}

// attErrorExpect reads att_error's uuid and code.
func (d *decoder) attErrorExpect(e *Expectation, v *yaml.Node, am map[string]*yaml.Node, p string) {
	if uv := d.need(v, am, p, "uuid", "a characteristic UUID"); uv != nil {
		e.UUID, _ = d.uuid(uv, join(p, "uuid"))
	}
	if cv := am["code"]; cv != nil {
		e.ATTError, _ = d.byte8(cv, join(p, "code"), "an ATT error code")
	}
}

// findingMessage reads finding's message: text the finding's message
// must contain.
func (d *decoder) findingMessage(e *Expectation, am map[string]*yaml.Node, p string) {
	if mv := am["message"]; mv != nil {
		e.Message, _ = d.str(mv, join(p, "message"), "text the finding's message contains")
	}
}

// matchesATTError matches a failed read, write or subscribe step
// (profiles.Error "read UUID") against att_error.
func (e Expectation) matchesATTError(ev profiles.Error) (related, match bool) {
	op, u, _ := strings.Cut(ev.Step, " ")
	if e.Kind != ExpATTError || (op != ActRead && op != ActWrite && op != ActSubscribe) {
		return false, false
	}
	want, err := att.ParseUUID(e.UUID.Bytes())
	if err != nil || u != want.String() {
		return false, false
	}
	var code att.ErrorCode
	if !errors.As(ev.Err, &code) {
		return true, false
	}
	return true, e.ATTError == nil || uint8(code) == *e.ATTError
}

// describeATTError says what att_error expects.
func (e Expectation) describeATTError() string {
	s := "ATT error on " + e.UUID.String()
	if e.ATTError != nil {
		s = fmt.Sprintf("%v on %s", att.ErrorCode(*e.ATTError), e.UUID)
	}
	return s
}
