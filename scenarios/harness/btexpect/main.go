// Command btexpect drives an interactive program (bluetoothctl, gatttool
// -I, mesh-cfgclient) through a pseudo-terminal from a small script, the way
// a person at the keyboard would: type a line, wait for a prompt or an
// answer, answer an agent's question. It is built statically and copied
// into the harness VM (busybox has no expect).
//
//	btexpect [-timeout 20s] SCRIPT -- PROGRAM [ARGS...]
//
// Script lines (blank lines and lines starting with # are ignored):
//
//	send TEXT          type TEXT and Enter
//	expect REGEXP      wait until the output (since the last match) matches
//	expect-not REGEXP  fail if the output seen so far (since the last match) matches
//	sleep DURATION     wait, e.g. 500ms
//	capture NAME REGEXP  wait for REGEXP with one group and export it as ${NAME} for later lines
//	shell COMMAND      run COMMAND with /bin/sh (after ${NAME} expansion); fail if it fails
//	eof                wait until the program exits (e.g. after "send quit"), so it is
//	                   not killed in the middle of what it does on the way out
//
// The transcript goes to stdout. The exit status is 0 when every line
// succeeded, 1 when an expect timed out (the line and the recent output are
// printed), 2 for usage errors.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() { os.Exit(run()) }

func run() int {
	timeout := flag.Duration("timeout", 20*time.Second, "how long each expect waits")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: btexpect [-timeout 20s] SCRIPT -- PROGRAM [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) < 3 || args[1] != "--" {
		flag.Usage()
		return 2
	}
	lines, err := readScript(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "btexpect:", err)
		return 2
	}
	ptm, pts, err := openPTY()
	if err != nil {
		fmt.Fprintln(os.Stderr, "btexpect:", err)
		return 2
	}
	cmd := exec.Command(args[2], args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true, Setctty: true}
	cmd.Env = append(os.Environ(), "TERM=dumb", "COLUMNS=200")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "btexpect:", err)
		return 2
	}
	pts.Close()
	out := &screen{}
	go out.pump(ptm)
	defer func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}()
	vars := map[string]string{}
	for _, l := range lines {
		text := expand(l.arg, vars)
		switch l.verb {
		case "send":
			if _, err := io.WriteString(ptm, text+"\r"); err != nil {
				return fail(l, "cannot type: "+err.Error(), out)
			}
		case "eof":
			if !out.waitDone(*timeout) {
				return fail(l, fmt.Sprintf("still running after %v", *timeout), out)
			}
		case "sleep":
			d, err := time.ParseDuration(text)
			if err != nil {
				return fail(l, "bad duration", out)
			}
			time.Sleep(d)
		case "expect", "capture", "expect-not":
			name := ""
			if l.verb == "capture" {
				name, text, _ = strings.Cut(text, " ")
			}
			re, err := regexp.Compile(text)
			if err != nil {
				return fail(l, "bad regexp: "+err.Error(), out)
			}
			if l.verb == "expect-not" {
				if re.Match(out.pending()) {
					return fail(l, "unwanted output matched", out)
				}
				continue
			}
			m, ok := out.wait(re, *timeout)
			if !ok {
				return fail(l, fmt.Sprintf("no match within %v", *timeout), out)
			}
			if name != "" {
				if len(m) < 2 {
					return fail(l, "capture needs one (group)", out)
				}
				vars[name] = string(m[1])
			}
		case "shell":
			c := exec.Command("/bin/sh", "-c", text)
			b, err := c.CombinedOutput()
			fmt.Printf("\n[btexpect shell] %s\n%s", text, b)
			if err != nil {
				return fail(l, "command failed: "+err.Error(), out)
			}
		default:
			return fail(l, "unknown verb (send, expect, expect-not, sleep, capture, shell, eof)", out)
		}
	}
	return 0
}

type line struct {
	n         int
	verb, arg string
}

func readScript(path string) ([]line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ls []line
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(t, " ")
		ls = append(ls, line{n, verb, strings.TrimSpace(arg)})
	}
	return ls, sc.Err()
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}

func fail(l line, why string, out *screen) int {
	fmt.Printf("\nbtexpect: line %d (%s %s): %s\nbtexpect: output since the last match:\n%s\n", l.n, l.verb, l.arg, why, out.pending())
	return 1
}

// screen collects the program's output; matching consumes it up to the
// end of the match.
type screen struct {
	mu   sync.Mutex
	buf  []byte
	done bool
	cond *sync.Cond
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x01|\x02|\r`)

func (s *screen) pump(r io.Reader) {
	s.mu.Lock()
	s.cond = sync.NewCond(&s.mu)
	s.mu.Unlock()
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		if n > 0 {
			os.Stdout.Write(b[:n])
			s.mu.Lock()
			s.buf = append(s.buf, ansi.ReplaceAll(b[:n], nil)...)
			s.cond.Broadcast()
			s.mu.Unlock()
		}
		if err != nil {
			s.mu.Lock()
			s.done = true
			if s.cond != nil {
				s.cond.Broadcast()
			}
			s.mu.Unlock()
			return
		}
	}
}

func (s *screen) pending() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf)
}

func (s *screen) wait(re *regexp.Regexp, d time.Duration) ([][]byte, bool) {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		if loc := re.FindSubmatchIndex(s.buf); loc != nil {
			var m [][]byte
			for i := 0; i+1 < len(loc); i += 2 {
				if loc[i] >= 0 {
					m = append(m, bytes.Clone(s.buf[loc[i]:loc[i+1]]))
				} else {
					m = append(m, nil)
				}
			}
			s.buf = s.buf[loc[1]:]
			s.mu.Unlock()
			return m, true
		}
		done := s.done
		s.mu.Unlock()
		if done || time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDone waits until the program's side of the pty is closed (it
// exited), at most d.
func (s *screen) waitDone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		if done {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openPTY opens a pseudo-terminal pair (Linux /dev/ptmx).
func openPTY() (*os.File, *os.File, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	ptm := os.NewFile(uintptr(fd), "/dev/ptmx")
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptm.Close()
		return nil, nil, errors.Join(errors.New("open pty slave"), err)
	}
	return ptm, pts, nil
}
