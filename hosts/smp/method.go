package smp

import "fmt"

// Method is an association model (Vol 3 Part H §2.3.5).
type Method uint8

// Association models. The passkey variants say who types the passkey:
// the other device displays it.
const (
	JustWorks              Method = iota
	PasskeyInitiatorInputs        // responder displays, initiator inputs
	PasskeyResponderInputs        // initiator displays, responder inputs
	PasskeyBothInput              // both users input the same passkey
	NumericComparison             // LE Secure Connections only
	OutOfBand
)

var methodNames = []string{"Just Works", "Passkey Entry (initiator inputs)", "Passkey Entry (responder inputs)",
	"Passkey Entry (both input)", "Numeric Comparison", "Out of Band"}

func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// Authenticated reports whether the model gives MITM protection: every
// model but Just Works (§2.3.5).
func (m Method) Authenticated() bool { return m != JustWorks }

// Passkey reports whether m is one of the Passkey Entry variants.
func (m Method) Passkey() bool {
	return m == PasskeyInitiatorInputs || m == PasskeyResponderInputs || m == PasskeyBothInput
}

// inputs reports whether the initiator (or responder) types the passkey;
// displays whether it shows it.
func (m Method) inputs(initiator bool) bool {
	switch m {
	case PasskeyBothInput:
		return true
	case PasskeyInitiatorInputs:
		return initiator
	case PasskeyResponderInputs:
		return !initiator
	}
	return false
}

func (m Method) displays(initiator bool) bool { return m.Passkey() && !m.inputs(initiator) }

// oobRule is a cell of Tables 2.6 and 2.7.
type oobRule uint8

const (
	// useOOB: "Use OOB".
	useOOB oobRule = iota
	// checkMITM: "If both MITM flags are not set, Just Works; otherwise
	// use the IO capabilities (Table 2.8)".
	checkMITM
)

// table26 is Table 2.6, the LE legacy pairing rule on the OOB data flags,
// indexed [initiator OOB set][responder OOB set]: OOB only when both have
// the other's OOB data.
var table26 = [2][2]oobRule{
	{checkMITM, checkMITM},
	{checkMITM, useOOB},
}

// table27 is Table 2.7, the LE Secure Connections rule: OOB when at least
// one device has the other's OOB data.
var table27 = [2][2]oobRule{
	{checkMITM, useOOB},
	{useOOB, useOOB},
}

// ioEntry is a cell of Table 2.8: the model in legacy pairing and in LE
// Secure Connections.
type ioEntry struct{ legacy, sc Method }

// Shorthands for table28.
var (
	jw   = ioEntry{JustWorks, JustWorks}
	pkI  = ioEntry{PasskeyInitiatorInputs, PasskeyInitiatorInputs} // responder displays, initiator inputs
	pkR  = ioEntry{PasskeyResponderInputs, PasskeyResponderInputs} // initiator displays, responder inputs
	pkB  = ioEntry{PasskeyBothInput, PasskeyBothInput}
	jwNC = ioEntry{JustWorks, NumericComparison}
	pkNC = ioEntry{PasskeyInitiatorInputs, NumericComparison}
	prNC = ioEntry{PasskeyResponderInputs, NumericComparison}
)

// table28 is Table 2.8 (mapping of IO capabilities to key generation
// method), indexed [responder IO capability][initiator IO capability] in
// the order DisplayOnly, DisplayYesNo, KeyboardOnly, NoInputNoOutput,
// KeyboardDisplay.
var table28 = [5][5]ioEntry{
	//               init: DisplayOnly DisplayYesNo KeyboardOnly NoInputNoOutput KeyboardDisplay
	DisplayOnly:     {jw, jw, pkI, jw, pkI},
	DisplayYesNo:    {jw, jwNC, pkI, jw, pkNC},
	KeyboardOnly:    {pkR, pkR, pkB, jw, pkR},
	NoInputNoOutput: {jw, jw, jw, jw, jw},
	KeyboardDisplay: {pkR, prNC, pkI, jw, prNC},
}

// SelectMethod chooses the association model from the initiator's Pairing
// Request and the responder's Pairing Response (§2.3.5.1): Table 2.6 or
// 2.7 on the OOB data flags and MITM bits, then Table 2.8 on the IO
// capabilities. sc is whether LE Secure Connections was negotiated. IO
// capabilities out of range count as NoInputNoOutput (they are refused
// with Invalid Parameters before a method is chosen).
func SelectMethod(req, rsp PairingParams, sc bool) Method {
	table := &table26
	if sc {
		table = &table27
	}
	if table[req.OOB&1][rsp.OOB&1] == useOOB {
		return OutOfBand
	}
	if req.AuthReq&AuthMITM == 0 && rsp.AuthReq&AuthMITM == 0 {
		return JustWorks
	}
	ic, rc := req.IOCap, rsp.IOCap
	if !ic.Valid() {
		ic = NoInputNoOutput
	}
	if !rc.Valid() {
		rc = NoInputNoOutput
	}
	e := table28[rc][ic]
	if sc {
		return e.sc
	}
	return e.legacy
}
