package dbus

// A minimal D-Bus client: the wire format (D-Bus Specification, "Message
// Protocol"), EXTERNAL authentication on a unix socket, method calls and
// answering the calls the bus delivers to us. Only what the harness tools and the kernel central need;
// the harness VM has no Python and no D-Bus library for Go programs.

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Go values for D-Bus types: y uint8, b bool, n int16, q uint16, i int32,
// u uint32, x int64, t uint64, d float64, s string, o ObjectPath,
// g Signature, v Variant, ay []byte, a{..} []DictEntry, other arrays []any,
// structs Struct.
type (
	ObjectPath string
	Signature  string
	Struct     []any
	DictEntry  struct{ Key, Value any }
	Variant    struct {
		Sig   string
		Value any
	}
)

// Message types and header fields.
const (
	TypeMethodCall   = 1
	TypeMethodReturn = 2
	TypeError        = 3
	TypeSignal       = 4

	flagNoReplyExpected = 1

	fieldPath        = 1
	fieldInterface   = 2
	fieldMember      = 3
	fieldErrorName   = 4
	fieldReplySerial = 5
	fieldDestination = 6
	fieldSender      = 7
	fieldSignature   = 8
)

// Message is one D-Bus message.
type Message struct {
	Type        byte
	Flags       byte
	Serial      uint32
	Path        ObjectPath
	Interface   string
	Member      string
	ErrorName   string
	ReplySerial uint32
	Destination string
	Sender      string
	Signature   string
	Body        []any
}

func (m *Message) String() string {
	switch m.Type {
	case TypeMethodReturn:
		return fmt.Sprintf("return #%d %v", m.ReplySerial, m.Body)
	case TypeError:
		return fmt.Sprintf("error #%d %s %v", m.ReplySerial, m.ErrorName, m.Body)
	}
	return fmt.Sprintf("call %s %s.%s(%s) %v", m.Path, m.Interface, m.Member, m.Signature, m.Body)
}

// nextType splits the first complete type off a signature.
func nextType(sig string) (string, string, error) {
	if sig == "" {
		return "", "", errors.New("empty signature")
	}
	switch sig[0] {
	case 'a':
		t, rest, err := nextType(sig[1:])
		return "a" + t, rest, err
	case '(', '{':
		end := byte(')')
		if sig[0] == '{' {
			end = '}'
		}
		depth := 0
		for i := 0; i < len(sig); i++ {
			switch sig[i] {
			case '(', '{':
				depth++
			case ')', '}':
				depth--
				if depth == 0 {
					if sig[i] != end {
						return "", "", fmt.Errorf("bad signature %q", sig)
					}
					return sig[:i+1], sig[i+1:], nil
				}
			}
		}
		return "", "", fmt.Errorf("unbalanced signature %q", sig)
	case 'y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g', 'v', 'h':
		return sig[:1], sig[1:], nil
	}
	return "", "", fmt.Errorf("unknown type %q in signature", sig[0])
}

// splitTypes splits a signature into its complete types.
func splitTypes(sig string) ([]string, error) {
	var out []string
	for sig != "" {
		t, rest, err := nextType(sig)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		sig = rest
	}
	return out, nil
}

func alignOf(t byte) int {
	switch t {
	case 'y', 'g', 'v':
		return 1
	case 'n', 'q':
		return 2
	case 'x', 't', 'd', '(', '{':
		return 8
	}
	return 4
}

// encoder writes little-endian D-Bus values; offsets are from the start
// of the message (or of the body, which starts 8-aligned).
type encoder struct{ b []byte }

func (e *encoder) pad(n int) {
	for len(e.b)%n != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) u32(v uint32) { e.pad(4); e.b = binary.LittleEndian.AppendUint32(e.b, v) }

func (e *encoder) value(sig string, v any) error {
	bad := func() error { return fmt.Errorf("cannot encode %T as %q", v, sig) }
	e.pad(alignOf(sig[0]))
	switch sig[0] {
	case 'y':
		x, ok := v.(uint8)
		if !ok {
			return bad()
		}
		e.b = append(e.b, x)
	case 'b':
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		n := uint32(0)
		if x {
			n = 1
		}
		e.u32(n)
	case 'n', 'q':
		var x uint16
		switch t := v.(type) {
		case int16:
			x = uint16(t)
		case uint16:
			x = t
		default:
			return bad()
		}
		e.b = binary.LittleEndian.AppendUint16(e.b, x)
	case 'i', 'u', 'h':
		var x uint32
		switch t := v.(type) {
		case int32:
			x = uint32(t)
		case uint32:
			x = t
		default:
			return bad()
		}
		e.u32(x)
	case 'x', 't', 'd':
		var x uint64
		switch t := v.(type) {
		case int64:
			x = uint64(t)
		case uint64:
			x = t
		case float64:
			x = math.Float64bits(t)
		default:
			return bad()
		}
		e.b = binary.LittleEndian.AppendUint64(e.b, x)
	case 's', 'o':
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case ObjectPath:
			s = string(t)
		default:
			return bad()
		}
		e.u32(uint32(len(s)))
		e.b = append(append(e.b, s...), 0)
	case 'g':
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case Signature:
			s = string(t)
		default:
			return bad()
		}
		if len(s) > 255 {
			return bad()
		}
		e.b = append(append(append(e.b, byte(len(s))), s...), 0)
	case 'v':
		x, ok := v.(Variant)
		if !ok {
			return bad()
		}
		if err := e.value("g", x.Sig); err != nil {
			return err
		}
		return e.value(x.Sig, x.Value)
	case 'a':
		elem := sig[1:]
		e.u32(0)
		lenAt := len(e.b) - 4
		e.pad(alignOf(elem[0]))
		start := len(e.b)
		switch t := v.(type) {
		case []byte:
			if elem != "y" {
				return bad()
			}
			e.b = append(e.b, t...)
		case []DictEntry:
			if elem[0] != '{' {
				return bad()
			}
			for _, de := range t {
				if err := e.value(elem, de); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range t {
				if err := e.value(elem, x); err != nil {
					return err
				}
			}
		default:
			return bad()
		}
		binary.LittleEndian.PutUint32(e.b[lenAt:], uint32(len(e.b)-start))
	case '{':
		de, ok := v.(DictEntry)
		if !ok {
			return bad()
		}
		kt, rest, err := nextType(sig[1 : len(sig)-1])
		if err != nil {
			return err
		}
		if err := e.value(kt, de.Key); err != nil {
			return err
		}
		return e.value(rest, de.Value)
	case '(':
		st, ok := v.(Struct)
		if !ok {
			return bad()
		}
		ts, err := splitTypes(sig[1 : len(sig)-1])
		if err != nil {
			return err
		}
		if len(ts) != len(st) {
			return bad()
		}
		for i, t := range ts {
			if err := e.value(t, st[i]); err != nil {
				return err
			}
		}
	default:
		return bad()
	}
	return nil
}

// decoder reads D-Bus values.
type decoder struct {
	b   []byte
	pos int
	ord binary.ByteOrder
}

var errShort = errors.New("message too short")

func (d *decoder) align(n int) error {
	for d.pos%n != 0 {
		if d.pos >= len(d.b) {
			return errShort
		}
		d.pos++
	}
	return nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || d.pos+n > len(d.b) {
		return nil, errShort
	}
	p := d.b[d.pos : d.pos+n]
	d.pos += n
	return p, nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.align(4); err != nil {
		return 0, err
	}
	p, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return d.ord.Uint32(p), nil
}

func (d *decoder) value(sig string, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("nesting too deep")
	}
	if err := d.align(alignOf(sig[0])); err != nil {
		return nil, err
	}
	switch sig[0] {
	case 'y':
		p, err := d.take(1)
		if err != nil {
			return nil, err
		}
		return p[0], nil
	case 'b':
		n, err := d.u32()
		return n != 0, err
	case 'n', 'q':
		p, err := d.take(2)
		if err != nil {
			return nil, err
		}
		if sig[0] == 'n' {
			return int16(d.ord.Uint16(p)), nil
		}
		return d.ord.Uint16(p), nil
	case 'i', 'u', 'h':
		n, err := d.u32()
		if sig[0] == 'i' {
			return int32(n), err
		}
		return n, err
	case 'x', 't', 'd':
		p, err := d.take(8)
		if err != nil {
			return nil, err
		}
		n := d.ord.Uint64(p)
		switch sig[0] {
		case 'x':
			return int64(n), nil
		case 'd':
			return math.Float64frombits(n), nil
		}
		return n, nil
	case 's', 'o':
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		p, err := d.take(int(n) + 1)
		if err != nil {
			return nil, err
		}
		if sig[0] == 'o' {
			return ObjectPath(p[:n]), nil
		}
		return string(p[:n]), nil
	case 'g':
		p, err := d.take(1)
		if err != nil {
			return nil, err
		}
		q, err := d.take(int(p[0]) + 1)
		if err != nil {
			return nil, err
		}
		return Signature(q[:p[0]]), nil
	case 'v':
		s, err := d.value("g", depth+1)
		if err != nil {
			return nil, err
		}
		vs := string(s.(Signature))
		if t, rest, err := nextType(vs); err != nil || rest != "" || t == "" {
			return nil, fmt.Errorf("bad variant signature %q", vs)
		}
		v, err := d.value(vs, depth+1)
		return Variant{vs, v}, err
	case 'a':
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		elem := sig[1:]
		if err := d.align(alignOf(elem[0])); err != nil {
			return nil, err
		}
		end := d.pos + int(n)
		if n > 1<<26 || end > len(d.b) {
			return nil, errShort
		}
		if elem == "y" {
			p, _ := d.take(int(n))
			return append([]byte(nil), p...), nil
		}
		if elem[0] == '{' {
			out := []DictEntry{}
			for d.pos < end {
				v, err := d.value(elem, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v.(DictEntry))
			}
			return out, nil
		}
		out := []any{}
		for d.pos < end {
			v, err := d.value(elem, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case '{':
		kt, rest, err := nextType(sig[1 : len(sig)-1])
		if err != nil {
			return nil, err
		}
		k, err := d.value(kt, depth+1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(rest, depth+1)
		return DictEntry{k, v}, err
	case '(':
		ts, err := splitTypes(sig[1 : len(sig)-1])
		if err != nil {
			return nil, err
		}
		var st Struct
		for _, t := range ts {
			v, err := d.value(t, depth+1)
			if err != nil {
				return nil, err
			}
			st = append(st, v)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown type %q", sig[0])
}

// Marshal encodes m (little-endian).
func (m *Message) Marshal() ([]byte, error) {
	var body encoder
	ts, err := splitTypes(m.Signature)
	if err != nil {
		return nil, err
	}
	if len(ts) != len(m.Body) {
		return nil, fmt.Errorf("signature %q has %d values, body %d", m.Signature, len(ts), len(m.Body))
	}
	for i, t := range ts {
		if err := body.value(t, m.Body[i]); err != nil {
			return nil, err
		}
	}
	var fields []any
	add := func(code uint8, sig string, v any) { fields = append(fields, Struct{code, Variant{sig, v}}) }
	if m.Path != "" {
		add(fieldPath, "o", m.Path)
	}
	if m.Interface != "" {
		add(fieldInterface, "s", m.Interface)
	}
	if m.Member != "" {
		add(fieldMember, "s", m.Member)
	}
	if m.ErrorName != "" {
		add(fieldErrorName, "s", m.ErrorName)
	}
	if m.ReplySerial != 0 {
		add(fieldReplySerial, "u", m.ReplySerial)
	}
	if m.Destination != "" {
		add(fieldDestination, "s", m.Destination)
	}
	if m.Sender != "" {
		add(fieldSender, "s", m.Sender)
	}
	if m.Signature != "" {
		add(fieldSignature, "g", Signature(m.Signature))
	}
	h := encoder{b: []byte{'l', m.Type, m.Flags, 1}}
	h.u32(uint32(len(body.b)))
	h.u32(m.Serial)
	if err := h.value("a(yv)", fields); err != nil {
		return nil, err
	}
	h.pad(8)
	return append(h.b, body.b...), nil
}

// ReadMessage reads one message.
func ReadMessage(r io.Reader) (*Message, error) {
	fixed := make([]byte, 16)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return nil, err
	}
	var ord binary.ByteOrder
	switch fixed[0] {
	case 'l':
		ord = binary.LittleEndian
	case 'B':
		ord = binary.BigEndian
	default:
		return nil, fmt.Errorf("bad endianness byte %q", fixed[0])
	}
	bodyLen, fieldsLen := ord.Uint32(fixed[4:]), ord.Uint32(fixed[12:])
	if bodyLen > 1<<27 || fieldsLen > 1<<26 {
		return nil, errors.New("message too long")
	}
	hdrLen := 16 + int(fieldsLen)
	hdrLen += (8 - hdrLen%8) % 8
	rest := make([]byte, hdrLen-16+int(bodyLen))
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, err
	}
	return parseMessage(append(fixed, rest...), ord, hdrLen)
}

func parseMessage(b []byte, ord binary.ByteOrder, hdrLen int) (*Message, error) {
	m := &Message{Type: b[1], Flags: b[2], Serial: ord.Uint32(b[8:])}
	d := decoder{b: b[:hdrLen], pos: 12, ord: ord}
	fv, err := d.value("a(yv)", 0)
	if err != nil {
		return nil, fmt.Errorf("header fields: %w", err)
	}
	fields, _ := fv.([]any)
	for _, f := range fields {
		st := f.(Struct)
		v := st[1].(Variant).Value
		switch st[0].(uint8) {
		case fieldPath:
			m.Path, _ = v.(ObjectPath)
		case fieldInterface:
			m.Interface, _ = v.(string)
		case fieldMember:
			m.Member, _ = v.(string)
		case fieldErrorName:
			m.ErrorName, _ = v.(string)
		case fieldReplySerial:
			m.ReplySerial, _ = v.(uint32)
		case fieldDestination:
			m.Destination, _ = v.(string)
		case fieldSender:
			m.Sender, _ = v.(string)
		case fieldSignature:
			s, _ := v.(Signature)
			m.Signature = string(s)
		}
	}
	ts, err := splitTypes(m.Signature)
	if err != nil {
		return nil, err
	}
	bd := decoder{b: b[hdrLen:], ord: ord}
	for _, t := range ts {
		v, err := bd.value(t, 0)
		if err != nil {
			return nil, fmt.Errorf("body %q: %w", m.Signature, err)
		}
		m.Body = append(m.Body, v)
	}
	return m, nil
}

// Conn is a connection to a message bus.
type Conn struct {
	c      net.Conn
	r      *bufio.Reader
	wmu    sync.Mutex // serial and writes
	serial uint32
	// Set by Serve: the replies awaited, by serial, and why reading
	// stopped.
	mu      sync.Mutex
	pending map[uint32]chan *Message
	readErr error
	// CallTimeout bounds a Call once Serve runs (default 60 s).
	CallTimeout time.Duration
	Name        string // our unique name
	// Handle answers the method calls addressed to us: it returns the
	// reply's signature and body, or an error name and text.
	Handle func(m *Message) (sig string, body []any, errName string, errText string)
}

// SystemBusPath is where the system bus listens.
func SystemBusPath() string {
	if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); strings.HasPrefix(a, "unix:path=") {
		p, _, _ := strings.Cut(strings.TrimPrefix(a, "unix:path="), ",")
		return p
	}
	return "/run/dbus/system_bus_socket"
}

// Dial connects to the bus at a unix socket path, authenticates with
// EXTERNAL and says Hello.
func Dial(path string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	conn := &Conn{c: c, r: bufio.NewReader(c)}
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Getuid())))
	if _, err := io.WriteString(c, "\x00AUTH EXTERNAL "+uid+"\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	line, err := conn.r.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	if !strings.HasPrefix(line, "OK ") {
		c.Close()
		return nil, fmt.Errorf("auth rejected: %q", strings.TrimSpace(line))
	}
	if _, err := io.WriteString(c, "BEGIN\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	r, err := conn.Call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("Hello: %w", err)
	}
	conn.Name, _ = r.Body[0].(string)
	return conn, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

func (c *Conn) send(m *Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.serial++
	m.Serial = c.serial
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	_, err = c.c.Write(b)
	return err
}

// Call calls a method and waits for its reply, answering the calls that
// arrive meanwhile (or, once Serve runs, letting its goroutine do that).
// A D-Bus error reply is returned as an error.
func (c *Conn) Call(dest string, path ObjectPath, iface, member, sig string, args ...any) (*Message, error) {
	m := &Message{Type: TypeMethodCall, Destination: dest, Path: path,
		Interface: iface, Member: member, Signature: sig, Body: args}
	c.mu.Lock()
	serving := c.pending != nil
	c.mu.Unlock()
	if serving {
		return c.callServed(m)
	}
	if err := c.send(m); err != nil {
		return nil, err
	}
	for {
		r, err := c.Next()
		if err != nil {
			return nil, err
		}
		if (r.Type == TypeMethodReturn || r.Type == TypeError) && r.ReplySerial == m.Serial {
			return r, replyError(r)
		}
	}
}

func replyError(r *Message) error {
	if r.Type != TypeError {
		return nil
	}
	text := ""
	if len(r.Body) > 0 {
		text, _ = r.Body[0].(string)
	}
	return fmt.Errorf("%s: %s", r.ErrorName, text)
}

// Serve starts a goroutine that reads every message from now on: replies
// go to the Call waiting for them, method calls addressed to us are
// answered with Handle on that goroutine. After Serve, Call may be used
// from any goroutine and Next must not be used.
func (c *Conn) Serve() {
	c.mu.Lock()
	c.pending = map[uint32]chan *Message{}
	c.mu.Unlock()
	_ = c.c.SetDeadline(time.Time{})
	go func() {
		for {
			m, err := c.Next()
			c.mu.Lock()
			if err != nil {
				c.readErr = err
				for _, ch := range c.pending {
					close(ch)
				}
				c.pending = map[uint32]chan *Message{}
				c.mu.Unlock()
				return
			}
			if ch, ok := c.pending[m.ReplySerial]; ok && (m.Type == TypeMethodReturn || m.Type == TypeError) {
				delete(c.pending, m.ReplySerial)
				ch <- m
			}
			c.mu.Unlock()
		}
	}()
}

func (c *Conn) callServed(m *Message) (*Message, error) {
	ch := make(chan *Message, 1)
	c.wmu.Lock()
	c.serial++
	m.Serial = c.serial
	b, err := m.Marshal()
	if err == nil {
		c.mu.Lock()
		if c.readErr != nil {
			err = c.readErr
		} else {
			c.pending[m.Serial] = ch
		}
		c.mu.Unlock()
	}
	if err == nil {
		_, err = c.c.Write(b)
	}
	c.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	timeout := c.CallTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%s.%s: connection lost: %v", m.Interface, m.Member, c.readErr)
		}
		return r, replyError(r)
	case <-t.C:
		c.mu.Lock()
		delete(c.pending, m.Serial)
		c.mu.Unlock()
		return nil, fmt.Errorf("%s.%s: no reply within %s", m.Interface, m.Member, timeout)
	}
}

// Next reads the next message, answering it first if it is a method call.
func (c *Conn) Next() (*Message, error) {
	m, err := ReadMessage(c.r)
	if err != nil {
		return nil, err
	}
	if m.Type == TypeMethodCall && m.Flags&flagNoReplyExpected == 0 {
		sig, body, errName, errText := "", []any(nil), "org.freedesktop.DBus.Error.UnknownMethod", "no such method"
		if c.Handle != nil {
			sig, body, errName, errText = c.Handle(m)
		}
		r := &Message{Type: TypeMethodReturn, ReplySerial: m.Serial, Destination: m.Sender,
			Signature: sig, Body: body}
		if errName != "" {
			r = &Message{Type: TypeError, ReplySerial: m.Serial, Destination: m.Sender,
				ErrorName: errName, Signature: "s", Body: []any{errText}}
		}
		if err := c.send(r); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// SetDeadline bounds the reads and writes that follow.
func (c *Conn) SetDeadline(t time.Time) { _ = c.c.SetDeadline(t) }
