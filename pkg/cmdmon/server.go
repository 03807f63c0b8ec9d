package cmdmon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// DefaultSocketPath is chronyd's default command socket.
const DefaultSocketPath = "/run/chrony/chronyd.sock"

// Config says where the command channels listen (bindcmdaddress, cmdport)
// and with which policy.
type Config struct {
	// SocketPath is the Unix domain socket: bindcmdaddress with a path
	// ("" disables it, as "bindcmdaddress /" does; chronyd's default is
	// DefaultSocketPath). Like chronyd, the socket file is created with the
	// process umask and removed on Close.
	SocketPath string
	// Port is cmdport (0 disables UDP; chronyd's default is 323).
	Port int
	// BindAddr4 and BindAddr6 are bindcmdaddress's addresses for each
	// family; invalid means the loopback address (chronyd's default).
	BindAddr4, BindAddr6 netip.Addr
	// BindDevice is bindcmddevice: the network interface the UDP sockets
	// are bound to (SO_BINDTODEVICE); "" for none.
	BindDevice string
	// NoIPv4 and NoIPv6 disable a family (chronyd -6 and -4).
	NoIPv4, NoIPv6 bool
	// UID and GID must own the socket's folder (the daemon's user).
	UID, GID int
	// Policy is the access policy.
	Policy DispatcherConfig
	// Log receives chronyd's messages (nil: the standard logger).
	Log logrus.FieldLogger
}

// DefaultConfig returns chronyd's defaults: the Unix socket at
// DefaultSocketPath, UDP port 323 on 127.0.0.1 and ::1, the default open
// commands, only localhost admitted, no rate limiting, owned by root.
func DefaultConfig() Config {
	return Config{SocketPath: DefaultSocketPath, Port: candm.DefaultPort, Policy: DispatcherConfig{RateLimit: DefaultRateLimit}}
}

// Server owns the command sockets: it reads each datagram, passes it to the
// Dispatcher and sends the reply, one goroutine per socket.
type Server struct {
	cfg  Config
	disp *Dispatcher
	log  logrus.FieldLogger

	mu       sync.Mutex
	unix     *net.UnixConn
	udp      []*net.UDPConn
	wg       sync.WaitGroup
	unixPath string
}

// NewServer builds a Server answering with h. It opens nothing yet.
func NewServer(h Handler, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if cfg.Policy.Log == nil {
		cfg.Policy.Log = cfg.Log
	}
	d, err := NewDispatcher(h, cfg.Policy)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, disp: d, log: cfg.Log}, nil
}

// Dispatcher returns the server's dispatcher (for its command counters and
// access checks).
func (s *Server) Dispatcher() *Dispatcher { return s.disp }

// Start opens the UDP sockets and then the Unix socket. Like chronyd, a
// socket that cannot be opened is logged and left closed; Start fails only
// if no requested channel could be opened.
func (s *Server) Start() error {
	errU := s.OpenUDP()
	errS := s.OpenUnix()
	if errU != nil && errS != nil {
		return errors.Join(errU, errS)
	}
	return nil
}

// OpenUDP opens the UDP command sockets (one per enabled family) on
// cmdport. It returns an error if the port is enabled but no socket opened.
func (s *Server) OpenUDP() error {
	if s.cfg.Port == 0 {
		return nil
	}
	type fam struct {
		network string
		addr    netip.Addr
		off     bool
	}
	fams := []fam{
		{"udp4", s.cfg.BindAddr4, s.cfg.NoIPv4},
		{"udp6", s.cfg.BindAddr6, s.cfg.NoIPv6},
	}
	if !fams[0].addr.IsValid() {
		fams[0].addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if !fams[1].addr.IsValid() {
		fams[1].addr = netip.IPv6Loopback()
	}
	var errs []error
	opened := 0
	for _, f := range fams {
		if f.off {
			continue
		}
		ap := netip.AddrPortFrom(f.addr, uint16(s.cfg.Port))
		conn, err := listenUDP(f.network, ap, s.cfg.BindDevice)
		if err != nil {
			s.log.WithError(err).Errorf("Could not open command socket on %s", ap)
			errs = append(errs, fmt.Errorf("command socket on %s: %w", ap, err))
			continue
		}
		opened++
		s.mu.Lock()
		s.udp = append(s.udp, conn)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveUDP(conn)
	}
	if opened == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// OpenUnix opens the Unix domain command socket, creating its folder if
// needed. As chronyd, it refuses (and logs "Wrong permissions on FOLDER" or
// "Wrong owner of FOLDER") when the folder gives any access to others or is
// not owned by the daemon's user and group, then logs "Disabled command
// socket PATH". Call it after dropping privileges, as chronyd does.
func (s *Server) OpenUnix() error {
	path := s.cfg.SocketPath
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if err := prepareSocketDir(dir, s.cfg.UID, s.cfg.GID); err != nil {
		s.log.Error(err.Error())
		s.log.Warnf("Disabled command socket %s", path)
		return fmt.Errorf("command socket %s disabled: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.WithError(err).Debugf("Could not remove %s", path)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		s.log.WithError(err).Errorf("Could not open command socket on %s", path)
		return fmt.Errorf("command socket %s: %w", path, err)
	}
	s.mu.Lock()
	s.unix = conn
	s.unixPath = path
	s.mu.Unlock()
	s.wg.Add(1)
	go s.serveUnix(conn)
	return nil
}

// SocketDirError is the refusal to open the command socket in an unsafe or
// unusable folder; its text is chronyd's log message.
type SocketDirError struct {
	Msg string
	Err error
}

// Error returns chronyd's message, with the system error if any.
func (e *SocketDirError) Error() string {
	if e.Err != nil {
		return e.Msg + " : " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the underlying system error, if any.
func (e *SocketDirError) Unwrap() error { return e.Err }

// prepareSocketDir creates the folder (mode 0770, owned by uid:gid) if it
// is missing and checks it as chronyd does: a directory with no permission
// bits for others, owned by uid and gid.
func prepareSocketDir(dir string, uid, gid int) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o770); err != nil {
			return &SocketDirError{Msg: "Could not create " + dir, Err: err}
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return &SocketDirError{Msg: "Could not change ownership of " + dir, Err: err}
		}
	}
	return checkSocketDir(dir, uid, gid)
}

// checkSocketDir applies chronyd's rule to an existing folder.
func checkSocketDir(dir string, uid, gid int) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return &SocketDirError{Msg: "Could not access " + dir, Err: err}
	}
	if !fi.IsDir() {
		return &SocketDirError{Msg: dir + " is not directory"}
	}
	if fi.Mode().Perm()&^0o770 != 0 {
		return &SocketDirError{Msg: "Wrong permissions on " + dir}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return &SocketDirError{Msg: "Could not read the owner of " + dir}
	}
	if int(st.Uid) != uid {
		return &SocketDirError{Msg: fmt.Sprintf("Wrong owner of %s (UID != %d)", dir, uid)}
	}
	if int(st.Gid) != gid {
		return &SocketDirError{Msg: fmt.Sprintf("Wrong owner of %s (GID != %d)", dir, gid)}
	}
	return nil
}

// UnixPath returns the path of the open Unix socket ("" if none).
func (s *Server) UnixPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unixPath
}

// UDPAddrs returns the local addresses of the open UDP sockets.
func (s *Server) UDPAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, c := range s.udp {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// Close closes every socket, waits for the serving goroutines and removes
// the Unix socket's file.
func (s *Server) Close() error {
	s.mu.Lock()
	var errs []error
	if s.unix != nil {
		errs = append(errs, s.unix.Close())
	}
	for _, c := range s.udp {
		errs = append(errs, c.Close())
	}
	path := s.unixPath
	s.unix, s.udp, s.unixPath = nil, nil, ""
	s.mu.Unlock()
	s.wg.Wait()
	if path != "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readBufLen exceeds the longest acceptable request so that longer
// datagrams are seen (and dropped) whole.
const readBufLen = candm.MaxRequestLen + 1

func (s *Server) serveUDP(conn *net.UDPConn) {
	defer s.wg.Done()
	ep := newUDPEndpoint(conn)
	buf := make([]byte, readBufLen)
	for {
		n, from, dst, ifIndex, err := ep.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.WithError(err).Debug("Command socket read failed")
			continue
		}
		reply := s.disp.Handle(buf[:n], Channel{Addr: from.Addr()}, time.Now())
		if reply == nil {
			continue
		}
		if err := ep.write(reply, from, dst, ifIndex); err != nil {
			s.log.WithError(err).WithField("addr", from).Debug("Could not send command reply")
		}
	}
}

func (s *Server) serveUnix(conn *net.UnixConn) {
	defer s.wg.Done()
	ep, err := newUnixEndpoint(conn)
	if err != nil {
		s.log.WithError(err).Error("Command socket unusable")
		return
	}
	for {
		pkt, named, err := ep.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.WithError(err).Debug("Command socket read failed")
			continue
		}
		if !named {
			continue // an unbound client cannot be answered
		}
		reply := s.disp.Handle(pkt, Channel{Unix: true}, time.Now())
		if reply == nil {
			continue
		}
		if err := ep.reply(reply); err != nil {
			s.log.WithError(err).WithField("addr", ep.peerName()).Debug("Could not send command reply")
		}
	}
}
