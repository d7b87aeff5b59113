package vhci

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"blesim/vhci/hci"
)

// Socket transport defaults.
const (
	// DefaultWriteQueue is how many packets a socket transport buffers for
	// a peer that is slow to read before it drops the connection.
	DefaultWriteQueue = 1024
	// DefaultWriteTimeout bounds one write to the socket: a peer that
	// stops reading for this long is dropped.
	DefaultWriteTimeout = 5 * time.Second
	// closeFlushTimeout bounds how long Close spends sending what is still
	// queued.
	closeFlushTimeout = time.Second
	dialTimeout       = 5 * time.Second
	unixSocketMode    = 0o600
)

// Server accepts H4-over-socket connections from host stacks outside the
// process (Bumble, Zephyr's native_sim, btproxy...). Each connection is one
// Transport: a byte stream of H4 packets framed by their headers
// (Core v5.4 Vol 4 Part A §2), like a UART without flow control.
type Server struct {
	ln      net.Listener
	network string
	addr    string
}

// parseSpec splits "tcp:HOST:PORT" or "unix:PATH".
func parseSpec(spec string) (network, address string, err error) {
	network, address, ok := strings.Cut(spec, ":")
	switch {
	case ok && network == "tcp":
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("bad H4 socket %q: %v; want tcp:HOST:PORT, e.g. tcp:127.0.0.1:9000 (port 0 picks a free one)", spec, err)
		}
		return network, address, nil
	case ok && network == "unix":
		if address == "" {
			return "", "", fmt.Errorf("bad H4 socket %q: empty path; want unix:PATH, e.g. unix:/tmp/blesim-h4.sock", spec)
		}
		return network, address, nil
	}
	return "", "", fmt.Errorf("bad H4 socket %q: want tcp:HOST:PORT (e.g. tcp:127.0.0.1:9000) or unix:PATH (e.g. unix:/tmp/blesim-h4.sock)", spec)
}

// Listen starts an H4 socket server. spec is "tcp:HOST:PORT" or
// "unix:PATH". A stale unix socket file (nobody listening) is removed; a
// live one, or a file that is not a socket, is an error. The unix socket is
// made mode 0600: only the owner can attach a host.
func Listen(spec string) (*Server, error) {
	network, address, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		if err := removeStaleSocket(address); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("H4 server %s: %w", spec, err)
	}
	s := &Server{ln: ln, network: network, addr: network + ":" + ln.Addr().String()}
	if network == "unix" {
		s.addr = network + ":" + address
		if err := os.Chmod(address, unixSocketMode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("H4 server %s: %w", spec, err)
		}
	}
	return s, nil
}

// removeStaleSocket removes path if it is a unix socket nobody listens on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("H4 server unix:%s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("H4 server unix:%s: the path exists and is not a socket; refusing to replace it (pick another path or remove the file)", path)
	}
	if c, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("H4 server unix:%s: another process is listening on this socket; stop it or pick another path", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("H4 server unix:%s: removing the stale socket: %w", path, err)
	}
	return nil
}

// Addr returns the address in Listen's form, with the actual port:
// "tcp:127.0.0.1:54321" or "unix:/tmp/blesim-h4.sock". Dial accepts it.
func (s *Server) Addr() string { return s.addr }

// Accept waits for the next host to connect. After Close it returns an
// error wrapping ErrClosed.
func (s *Server) Accept() (Transport, error) {
	c, err := s.ln.Accept()
	if errors.Is(err, net.ErrClosed) {
		return nil, fmt.Errorf("H4 server %s: %w", s.addr, ErrClosed)
	}
	if err != nil {
		return nil, fmt.Errorf("H4 server %s: %w", s.addr, err)
	}
	name := s.network + " " + c.RemoteAddr().String()
	if s.network == "unix" {
		name = "unix " + strings.TrimPrefix(s.addr, "unix:")
	}
	return newStream(c, name, DefaultWriteQueue, DefaultWriteTimeout), nil
}

// Close stops accepting (and removes the unix socket file). Connections
// already accepted stay open.
func (s *Server) Close() error { return s.ln.Close() }

// Dial connects to an H4 socket ("tcp:HOST:PORT" or "unix:PATH") and
// returns the link as a Transport: the host side of a Server's connection,
// or the controller side when the host stack is the one listening.
func Dial(spec string) (Transport, error) {
	network, address, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout(network, address, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("H4 socket %s: %w", spec, err)
	}
	return newStream(c, network+" "+address, DefaultWriteQueue, DefaultWriteTimeout), nil
}

// stream is a Transport over a byte-stream connection. Reads are framed by
// hci.ReadH4. Writes go through a bounded queue drained by a goroutine so
// that a peer that stops reading can never block the caller (the
// simulation's scheduler): when the queue is full, or one write takes
// longer than writeTimeout, the connection is dropped and the cause is
// returned from every later call.
type stream struct {
	conn         net.Conn
	r            *bufio.Reader
	name         string
	writeTimeout time.Duration

	queue      chan []byte
	done       chan struct{} // closed when the transport shuts down
	writerDone chan struct{} // closed when the writer goroutine exits

	mu     sync.Mutex
	closed bool  // Close was called or the link failed
	cause  error // why the link failed; nil after a plain Close
	flush  bool  // the writer should send what is queued before closing
}

var _ Transport = (*stream)(nil)

func newStream(c net.Conn, name string, queueLen int, writeTimeout time.Duration) *stream {
	s := &stream{
		conn:         c,
		r:            bufio.NewReaderSize(c, 4096),
		name:         name,
		writeTimeout: writeTimeout,
		queue:        make(chan []byte, queueLen),
		done:         make(chan struct{}),
		writerDone:   make(chan struct{}),
	}
	go s.writer()
	return s
}

// writer drains the queue onto the connection.
func (s *stream) writer() {
	defer close(s.writerDone)
	for {
		select {
		case p := <-s.queue:
			if err := s.write(p, time.Now().Add(s.writeTimeout)); err != nil {
				s.fail(err)
				return
			}
		case <-s.done:
			s.mu.Lock()
			flush := s.flush
			s.mu.Unlock()
			if flush {
				deadline := time.Now().Add(closeFlushTimeout)
			drain:
				for {
					select {
					case p := <-s.queue:
						if s.write(p, deadline) != nil {
							break drain
						}
					default:
						break drain
					}
				}
			}
			s.conn.Close()
			return
		}
	}
}

func (s *stream) write(p []byte, deadline time.Time) error {
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	if _, err := s.conn.Write(p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%s: %w: one write blocked for %v; dropping the connection", s.name, ErrPeerStalled, s.writeTimeout)
		}
		return fmt.Errorf("%s: write: %w", s.name, err)
	}
	return nil
}

// shutdownLocked marks the transport closed; s.mu must be held.
func (s *stream) shutdownLocked(cause error, flush bool) bool {
	if s.closed {
		return false
	}
	s.closed, s.cause, s.flush = true, cause, flush
	close(s.done)
	return true
}

// fail drops the connection at once because of cause.
func (s *stream) fail(cause error) {
	s.mu.Lock()
	first := s.shutdownLocked(cause, false)
	s.mu.Unlock()
	if first {
		s.conn.Close() // unblocks the reader and the writer
	}
}

// ReadPacket reads the next H4 packet from the peer. It returns io.EOF
// when the peer closed the connection between packets or after Close, and
// the cause when the link was dropped (a stalled peer, a framing error).
func (s *stream) ReadPacket() ([]byte, error) {
	pkt, err := hci.ReadH4(s.r)
	if err == nil {
		return pkt, nil
	}
	s.mu.Lock()
	closed, cause := s.closed, s.cause
	s.mu.Unlock()
	switch {
	case cause != nil:
		return nil, cause
	case closed, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return nil, io.EOF
	case errors.Is(err, hci.ErrType), errors.Is(err, hci.ErrTooLong):
		err = fmt.Errorf("%s: %w; dropping the connection", s.name, err)
		s.fail(err)
		return nil, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%s: the peer closed the connection in the middle of a packet: %w", s.name, err)
	}
	return nil, fmt.Errorf("%s: read: %w", s.name, err)
}

// WritePacket queues a copy of pkt. It never blocks: if the peer has let
// the queue fill up, the connection is dropped and an error wrapping
// ErrPeerStalled is returned. pkt must be a complete H4 packet (checked
// with hci.SplitH4), since a malformed one would desynchronise the peer.
func (s *stream) WritePacket(pkt []byte) error {
	if _, _, err := hci.SplitH4(pkt); err != nil {
		return fmt.Errorf("%s: not sending a malformed H4 packet: %w", s.name, err)
	}
	p := append([]byte(nil), pkt...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if s.cause != nil {
			return s.cause
		}
		return fmt.Errorf("%s: %w", s.name, ErrClosed)
	}
	select {
	case s.queue <- p:
		return nil
	default:
	}
	err := fmt.Errorf("%s: %w: its write queue of %d packets is full; dropping the connection", s.name, ErrPeerStalled, cap(s.queue))
	if s.shutdownLocked(err, false) {
		s.conn.Close()
	}
	return err
}

// Close sends what is still queued (for at most a second), closes the
// connection and makes a blocked ReadPacket return io.EOF.
func (s *stream) Close() error {
	s.mu.Lock()
	first := s.shutdownLocked(nil, true)
	s.mu.Unlock()
	if first {
		// Unblock a reader now, and bound a write in progress; the writer
		// closes the connection once it has flushed.
		_ = s.conn.SetReadDeadline(time.Now())
		_ = s.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	}
	<-s.writerDone
	return nil
}

// Name returns e.g. "tcp 127.0.0.1:54321" or "unix /tmp/blesim-h4.sock".
func (s *stream) Name() string { return s.name }
