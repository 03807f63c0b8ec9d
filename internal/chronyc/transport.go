package chronyc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// Defaults of chronyc's transport.
const (
	// DefaultHosts is the default -h list: the Unix socket, then UDP to
	// the IPv4 and IPv6 loopback addresses.
	DefaultHosts = "/run/chrony/chronyd.sock,127.0.0.1,::1"
	// DefaultTimeout is the first attempt's timeout; it doubles with
	// every retry.
	DefaultTimeout = time.Second
	// DefaultRetries is how many times a request is sent again.
	DefaultRetries = 2
	// maxUnixPath is the size of sun_path.
	maxUnixPath = 108
	// maxAddressesPerHost bounds the addresses taken from one name.
	maxAddressesPerHost = 16
)

// ErrUnreachable is returned by Exchange when no reply came from any
// address.
var ErrUnreachable = errors.New("cannot talk to daemon")

// Target is one address of the -h list: a Unix socket path or a UDP
// address.
type Target struct {
	Path string
	Addr netip.AddrPort
}

// String returns the path or address.
func (t Target) String() string {
	if t.Path != "" {
		return t.Path
	}
	return t.Addr.String()
}

// ResolveTargets expands the comma-separated -h list: names beginning with
// '/' are Unix socket paths, the others are resolved (numeric addresses
// directly, names through res, restricted to family 4 or 6 if not 0) and
// take the UDP port. Names that do not resolve are skipped.
func ResolveTargets(hosts string, port uint16, family int, res Resolver) []Target {
	var out []Target
	for _, h := range strings.Split(hosts, ",") {
		switch {
		case h == "":
			continue
		case strings.HasPrefix(h, "/"):
			out = append(out, Target{Path: h})
			continue
		}
		var addrs []netip.Addr
		if a, ok := parseIP(h); ok {
			addrs = []netip.Addr{a}
		} else if res != nil {
			addrs, _ = res.LookupHost(h, family)
		}
		for i, a := range addrs {
			if i >= maxAddressesPerHost {
				break
			}
			if (family == 4 && !a.Is4()) || (family == 6 && !a.Is6()) {
				continue
			}
			out = append(out, Target{Addr: netip.AddrPortFrom(a, port)})
		}
	}
	return out
}

// Transport sends requests over a Unix datagram socket or UDP, trying the
// targets in order as chronyc does.
type Transport struct {
	targets  []Target
	next     int
	conn     net.Conn
	dir1     string // chronyc.PID folder next to the server socket
	dir2     string // its random subfolder holding our socket
	sockPath string
	timeout  time.Duration
	retries  int
	errw     io.Writer
	quit     atomic.Bool
}

// NewTransport returns a transport over the targets; errw receives
// chronyc's error messages about the client socket.
func NewTransport(targets []Target, errw io.Writer) *Transport {
	return &Transport{targets: targets, timeout: DefaultTimeout, retries: DefaultRetries, errw: errw}
}

// SetTimeout sets the first attempt's timeout.
func (t *Transport) SetTimeout(d time.Duration) { t.timeout = d }

// SetRetries sets how many times a request is sent again.
func (t *Transport) SetRetries(n int) { t.retries = n }

// Interrupt makes the current and later exchanges fail (on a signal).
func (t *Transport) Interrupt() {
	t.quit.Store(true)
	if c := t.conn; c != nil {
		_ = c.SetReadDeadline(time.Now())
	}
}

// Open connects to the first target that accepts a socket, continuing
// after the current one if a socket is already open. It returns false when
// none is left (and starts from the first one on the next call).
func (t *Transport) Open() bool {
	if t.conn != nil {
		t.Close()
		t.next++
	}
	for ; t.next < len(t.targets); t.next++ {
		if t.open(t.targets[t.next]) {
			return true
		}
		t.Close()
	}
	t.next = 0
	return false
}

func (t *Transport) open(tg Target) bool {
	if tg.Path == "" {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(tg.Addr))
		if err != nil {
			return false
		}
		t.conn = c
		return true
	}
	return t.openUnix(tg.Path)
}

func (t *Transport) logf(format string, args ...any) {
	if t.errw != nil {
		fmt.Fprintf(t.errw, format+"\n", args...)
	}
}

// openUnix binds our socket in a fresh random folder inside
// DIR/chronyc.PID, where DIR holds the server's socket, so that the
// daemon can answer to it, and connects it to the server.
func (t *Transport) openUnix(server string) bool {
	raddr := &net.UnixAddr{Name: server, Net: "unixgram"}
	probe, err := net.DialUnix("unixgram", nil, raddr)
	if err != nil {
		return false
	}
	_ = probe.Close()
	rnd, err := randomAlnum(16)
	if err != nil {
		return false
	}
	dir1 := fmt.Sprintf("%s/chronyc.%d", filepath.Dir(server), os.Getpid())
	dir2 := dir1 + "/" + rnd
	sock := dir2 + "/sock"
	if len(sock) >= maxUnixPath {
		t.logf("Server socket path %s is too long", server)
		return false
	}
	if err := os.Mkdir(dir1, 0o711); err != nil && !errors.Is(err, os.ErrExist) {
		t.logf("Could not create %s : %s", dir1, errText(err))
		return false
	}
	t.dir1 = dir1
	st, err := os.Lstat(dir1)
	if err != nil {
		t.logf("Could not open/stat %s : %s", dir1, errText(err))
		return false
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || st.Mode().Perm()&^0o711 != 0 || sys == nil || int(sys.Uid) != os.Geteuid() {
		t.logf("Unexpected mode/owner of %s", dir1)
		return false
	}
	if err := os.Mkdir(dir2, 0o711); err != nil {
		t.logf("Could not create %s : %s", dir2, errText(err))
		return false
	}
	t.dir2 = dir2
	c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"}, raddr)
	if err != nil {
		t.logf("Could not bind/connect client Unix socket")
		return false
	}
	t.conn, t.sockPath = c, sock
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{sock, 0o666}, {dir2, 0o711}, {dir1, 0o711}} {
		if err := os.Chmod(p.path, p.mode); err != nil {
			t.logf("Could not change socket or directory permissions : %s", errText(err))
			return false
		}
	}
	return true
}

// errText is the strerror part of an error.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// Close closes the socket and removes our socket file and its folders.
func (t *Transport) Close() {
	if t.conn != nil {
		_ = t.conn.Close()
		t.conn = nil
	}
	for _, p := range []*string{&t.sockPath, &t.dir2, &t.dir1} {
		if *p != "" {
			_ = os.Remove(*p)
			*p = ""
		}
	}
}

// Exchange implements Exchanger: it tries the current target and then the
// following ones until one answers.
func (t *Transport) Exchange(req candm.Request, padTo int) (candm.Reply, error) {
	for range len(t.targets) + 1 {
		if t.quit.Load() {
			break
		}
		if rep, ok := t.submit(req, padTo); ok {
			return rep, nil
		}
		if !t.Open() {
			break
		}
	}
	return candm.Reply{}, fmt.Errorf("%v: %w", req.Command, ErrUnreachable)
}

// submit sends the request up to retries+1 times, waiting for each attempt
// twice as long as for the previous one.
func (t *Transport) submit(req candm.Request, padTo int) (candm.Reply, bool) {
	if t.conn == nil {
		return candm.Reply{}, false
	}
	buf := make([]byte, candm.MaxReplyLen+64)
	for attempt := 0; attempt <= t.retries; attempt++ {
		if t.quit.Load() {
			return candm.Reply{}, false
		}
		var seq [4]byte
		if _, err := rand.Read(seq[:]); err != nil {
			return candm.Reply{}, false
		}
		req.Sequence = binary.BigEndian.Uint32(seq[:])
		req.Attempt = uint16(attempt)
		pkt, err := req.Encode()
		if err != nil {
			return candm.Reply{}, false
		}
		if padTo > 0 {
			pkt = append(pkt, make([]byte, max(0, padTo-len(pkt)))...)[:padTo]
		}
		if _, err := t.conn.Write(pkt); err != nil {
			return candm.Reply{}, false
		}
		deadline := time.Now().Add(t.timeout << uint(attempt))
		if rep, ok := t.await(req, buf, deadline); ok {
			return rep, true
		}
	}
	return candm.Reply{}, false
}

// await reads until a reply to req arrives or the deadline passes; a
// receive error or a truncated reply ends the attempt early.
func (t *Transport) await(req candm.Request, buf []byte, deadline time.Time) (candm.Reply, bool) {
	if err := t.conn.SetReadDeadline(deadline); err != nil {
		return candm.Reply{}, false
	}
	for !t.quit.Load() {
		n, err := t.conn.Read(buf)
		if err != nil {
			return candm.Reply{}, false
		}
		pkt := buf[:n]
		if !MatchesRequest(pkt, req) {
			continue
		}
		rep, err := candm.DecodeReply(pkt)
		if err != nil {
			return candm.Reply{}, false
		}
		return rep, true
	}
	return candm.Reply{}, false
}

// MatchesRequest reports whether a datagram is a well-formed reply header
// answering req (same command and sequence number), as chronyc checks.
func MatchesRequest(pkt []byte, req candm.Request) bool {
	if len(pkt) < candm.ReplyHeaderLen {
		return false
	}
	version, status := pkt[0], candm.Status(binary.BigEndian.Uint16(pkt[8:10]))
	if version != candm.ProtocolVersion && (version < 4 || status != candm.StatusBadPktVersion) {
		return false
	}
	return pkt[1] == candm.PktTypeReply && pkt[2] == 0 && pkt[3] == 0 &&
		binary.BigEndian.Uint16(pkt[4:6]) == uint16(req.Command) &&
		binary.BigEndian.Uint32(pkt[16:20]) == req.Sequence
}

// randomAlnum returns n random letters and digits.
func randomAlnum(n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	var b [1]byte
	for len(out) < n {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		if int(b[0]) < 256/len(alphabet)*len(alphabet) {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out), nil
}

// NetResolver resolves names with the system resolver, each lookup bounded
// by a timeout.
type NetResolver struct {
	Timeout time.Duration
}

func (r NetResolver) ctx() (context.Context, context.CancelFunc) {
	d := r.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

// LookupHost implements Resolver.
func (r NetResolver) LookupHost(name string, family int) ([]netip.Addr, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	network := "ip"
	switch family {
	case 4:
		network = "ip4"
	case 6:
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, name)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", name, err)
	}
	for i, a := range addrs {
		if a.Is4In6() {
			addrs[i] = a.Unmap()
		}
	}
	return addrs, nil
}

// LookupAddr implements Resolver.
func (r NetResolver) LookupAddr(ip netip.Addr) (string, bool) {
	ctx, cancel := r.ctx()
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, ip.String())
	if err != nil || len(names) == 0 {
		return "", false
	}
	return strings.TrimSuffix(names[0], "."), true
}
