package scenario

import (
	"fmt"
	"strings"

	"blesim/linklayer/sim"
)

// Result is the outcome of a run; it serializes to JSON (result.json).
type Result struct {
	Scenario    string `json:"scenario"`
	Description string `json:"description,omitempty"`
	Source      string `json:"source"`
	Seed        uint64 `json:"seed"`
	// Passed is true when every expectation held.
	Passed       bool                `json:"passed"`
	Expectations []ExpectationResult `json:"expectations"`
	Steps        []StepResult        `json:"steps"`
	Findings     []FindingResult     `json:"findings"`
	// End is the simulated time the run ended at.
	End Time `json:"end"`
	// Files are the traces written (btsnoop per controller, air.pcap).
	Files []string `json:"files,omitempty"`
}

// Time is a simulated time: microseconds, and text in seconds.
type Time struct {
	US   int64  `json:"us"`
	Text string `json:"text"`
}

func stamp(t sim.Time) Time {
	return Time{US: int64(t), Text: fmt.Sprintf("%d.%06ds", int64(t)/1e6, int64(t)%1e6)}
}

// ExpectationResult is one expectation with what happened.
type ExpectationResult struct {
	Index    int    `json:"index"`
	Line     int    `json:"line"`
	Kind     string `json:"kind"`
	Device   string `json:"device"`
	Passed   bool   `json:"passed"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	// At is when it held (the matching event), or when it was decided
	// not to (its deadline or the end of the run).
	At Time `json:"at"`
	// Skipped says why an expectation for another host was not checked
	// (host: kernel on an expectation when the device ran built-in).
	Skipped string `json:"skipped,omitempty"`
}

// StepResult is one step as it ran.
type StepResult struct {
	Index  int    `json:"index"`
	Line   int    `json:"line"`
	Action string `json:"action"`
	Device string `json:"device,omitempty"`
	Start  Time   `json:"start"`
	End    Time   `json:"end"`
	// Error says why the step could not complete (the run goes on).
	Error string `json:"error,omitempty"`
	// Skipped: the step is for another host (its host: field).
	Skipped bool `json:"skipped,omitempty"`
}

// FindingResult is a finding a built-in host reported about its peer.
type FindingResult struct {
	Device  string `json:"device"`
	Code    string `json:"code"`
	Message string `json:"message"`
	At      Time   `json:"at"`
}

// Failed returns the expectations that did not hold.
func (r *Result) Failed() []ExpectationResult {
	var out []ExpectationResult
	for _, e := range r.Expectations {
		if !e.Passed {
			out = append(out, e)
		}
	}
	return out
}

// Summary is a short human report: one line per expectation, step
// errors and findings, and the verdict.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s (%s), seed %d, ran to %s\n", r.Scenario, r.Source, r.Seed, r.End.Text)
	for _, s := range r.Steps {
		if s.Error != "" {
			fmt.Fprintf(&b, "  step %d (line %d) %s at %s: %s\n", s.Index, s.Line, s.Action, s.Start.Text, s.Error)
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  finding %s on %s at %s: %s\n", f.Code, f.Device, f.At.Text, f.Message)
	}
	for _, e := range r.Expectations {
		if e.Skipped != "" {
			fmt.Fprintf(&b, "  skip  expect[%d] %s: %s (%s)\n", e.Index, e.Kind, e.Expected, e.Skipped)
		} else if e.Passed {
			fmt.Fprintf(&b, "  ok    expect[%d] %s: %s (at %s)\n", e.Index, e.Kind, e.Expected, e.At.Text)
		} else {
			fmt.Fprintf(&b, "  FAIL  expect[%d] (line %d) %s: expected %s; observed %s (decided at %s)\n",
				e.Index, e.Line, e.Kind, e.Expected, e.Observed, e.At.Text)
		}
	}
	if r.Passed {
		fmt.Fprintf(&b, "PASS: %d expectation(s) held\n", len(r.Expectations))
	} else {
		fmt.Fprintf(&b, "FAIL: %d of %d expectation(s) did not hold\n", len(r.Failed()), len(r.Expectations))
	}
	return b.String()
}
