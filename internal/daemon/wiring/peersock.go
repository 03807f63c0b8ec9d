package wiring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/ntp/clientio"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// peerSockets send symmetric peers' packets from the NTP server's port, as
// chronyd does, through one socket per peer bound to that port (sharing it
// with the server's SO_REUSEPORT sockets) and connected to the peer, so
// that the kernel delivers the peer's packets to it rather than to the
// server. Packets a peer sends before its socket exists arrive through the
// server's peer callback instead. The sockets are timestamped as client
// sockets are (clientio.TimestampedConn): kernel receive timestamps and
// kernel software transmit timestamps, else the daemon's clock.
type peerSockets struct {
	port         int
	bind4, bind6 netip.Addr
	device       string
	now          func() time.Time
	// targets are the configured peers' addresses and ports.
	targets []netip.AddrPort

	mu sync.Mutex
	// peers are the addresses of the peers: those configured by address,
	// and those given by name once the engine sends to them.
	peers   map[netip.Addr]bool
	conns   map[netip.AddrPort]*peerConn
	deliver peerDelivery
	closed  bool
	wg      sync.WaitGroup
}

// peerDelivery takes a packet received from a peer with its receive
// information, whose Time is raw (the engine cooks it).
type peerDelivery func(b []byte, from netip.AddrPort, rx source.RxInfo)

// peerConn is one peer's socket.
type peerConn struct {
	udp *net.UDPConn
	ts  *clientio.TimestampedConn
}

// newPeerSockets prepares the sockets of the configuration's peers whose
// addresses are given literally; the socket of a peer given by name is
// opened when the engine first sends to its address.
func newPeerSockets(cfg *conf.Config, family daemon.AddressFamily, now func() time.Time) *peerSockets {
	p := &peerSockets{
		port: cfg.Port, bind4: cfg.BindAddress4, bind6: cfg.BindAddress6, device: cfg.BindDevice,
		now: now, peers: map[netip.Addr]bool{}, conns: map[netip.AddrPort]*peerConn{},
	}
	for _, s := range cfg.Sources {
		if s.Kind != conf.KindPeer {
			continue
		}
		a, err := netip.ParseAddr(s.Name)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if (family == daemon.FamilyIPv4 && !a.Is4()) || (family == daemon.FamilyIPv6 && a.Is4()) {
			continue
		}
		p.peers[a] = true
		p.targets = append(p.targets, netip.AddrPortFrom(a, uint16(s.Port)))
	}
	return p
}

// open opens the sockets of the configured peers. The daemon calls it
// before dropping root, as chronyd opens its server sockets, so that a
// privileged port does not depend on the capabilities kept. A peer whose
// socket cannot be opened is tried again at its first transmission.
func (p *peerSockets) open() error {
	var errs []error
	for _, to := range p.targets {
		if _, err := p.conn(to); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// known reports whether addr is a peer's; it may be called from any
// goroutine.
func (p *peerSockets) known(addr netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peers[addr.Unmap()]
}

// start sets where received packets go.
func (p *peerSockets) start(deliver peerDelivery) {
	p.mu.Lock()
	p.deliver = deliver
	p.mu.Unlock()
}

// send transmits payload to a peer and returns the raw transmit time and
// its source: the kernel's software timestamp, else the time read just
// before sending.
func (p *peerSockets) send(payload []byte, to netip.AddrPort) (time.Time, source.TimestampSource, error) {
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	conn, err := p.conn(to)
	if err != nil {
		return time.Time{}, 0, err
	}
	sent, src, err := conn.ts.Write(payload)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("sending to peer %s: %w", to, err)
	}
	return sent, src, nil
}

// conn returns the socket of peer to, opening it on first use.
func (p *peerSockets) conn(to netip.AddrPort) (*peerConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("peer sockets closed")
	}
	if c := p.conns[to]; c != nil {
		return c, nil
	}
	v6 := !to.Addr().Is4()
	local := p.bind4
	network := "udp4"
	if v6 {
		local, network = p.bind6, "udp6"
	}
	if !local.IsValid() {
		local = netip.IPv4Unspecified()
		if v6 {
			local = netip.IPv6Unspecified()
		}
	}
	port := max(p.port, 0)
	d := net.Dialer{
		LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, uint16(port))),
		Control:   p.control,
	}
	c, err := d.DialContext(context.Background(), network, to.String())
	if err != nil {
		return nil, fmt.Errorf("opening socket for peer %s: %w", to, err)
	}
	udp := c.(*net.UDPConn)
	ts, err := clientio.NewTimestampedConn(udp, true, p.now)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("opening socket for peer %s: %w", to, err)
	}
	conn := &peerConn{udp: udp, ts: ts}
	p.conns[to] = conn
	p.peers[to.Addr()] = true
	p.wg.Add(1)
	go p.read(conn, to)
	return conn, nil
}

// control shares the NTP port with the server's sockets.
func (p *peerSockets) control(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1); serr != nil {
				return
			}
		}
		if p.device != "" {
			serr = unix.BindToDevice(int(fd), p.device)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// read delivers the peer's packets until the socket is closed.
func (p *peerSockets) read(conn *peerConn, peer netip.AddrPort) {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, rx, err := conn.ts.Read(buf)
		if err != nil {
			if p.isClosed() {
				return
			}
			// ICMP errors (peer not listening yet) are reported on a
			// connected socket; keep reading.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		deliver := p.deliver
		p.mu.Unlock()
		if deliver != nil {
			deliver(append([]byte(nil), buf[:n]...), peer, rx)
		}
	}
}

func (p *peerSockets) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes every peer socket and waits for the readers.
func (p *peerSockets) close() {
	p.mu.Lock()
	p.closed = true
	for k, c := range p.conns {
		c.udp.Close()
		delete(p.conns, k)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
