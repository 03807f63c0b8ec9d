package wiring

import (
	"errors"
	"fmt"
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
// server's peer callback instead. The sockets belong to a clientio.Shell of
// their own (clientio.Shell.OpenPeer): non-blocking sockets in one epoll
// set served by one goroutine, with kernel receive timestamps and kernel
// software transmit timestamps, else the daemon's clock.
type peerSockets struct {
	port         int
	bind4, bind6 netip.Addr
	device       string
	// targets are the configured peers' addresses and ports.
	targets []netip.AddrPort
	shell   *clientio.Shell

	mu sync.Mutex
	// peers are the addresses of the peers: those configured by address,
	// and those given by name once the engine sends to them.
	peers   map[netip.Addr]bool
	deliver peerDelivery
}

// peerDelivery takes a packet received from a peer with its receive
// information, whose Time is raw (the engine cooks it).
type peerDelivery func(b []byte, from netip.AddrPort, rx source.RxInfo)

// newPeerSockets prepares the sockets of the configuration's peers whose
// addresses are given literally; the socket of a peer given by name is
// opened when the engine first sends to its address. now reads the raw
// clock for the times the kernel does not give.
func newPeerSockets(cfg *conf.Config, family daemon.AddressFamily, now func() time.Time) *peerSockets {
	p := &peerSockets{
		port: cfg.Port, bind4: cfg.BindAddress4, bind6: cfg.BindAddress6, device: cfg.BindDevice,
		peers: map[netip.Addr]bool{},
	}
	p.shell = clientio.New(clientio.Config{
		DSCP: cfg.DSCP, KernelTxTimestamps: true, Now: now, Deliver: p.dispatch,
	})
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
		if err := p.openPeer(to); err != nil {
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

// dispatch hands a packet from a peer socket to the delivery set by
// start (it runs on the shell's receiving goroutine).
func (p *peerSockets) dispatch(r clientio.Received) {
	p.mu.Lock()
	deliver := p.deliver
	p.mu.Unlock()
	if deliver != nil {
		deliver(r.Data, r.Remote, r.Info)
	}
}

// send transmits payload to a peer and returns the raw transmit time and
// its source: the kernel's software timestamp, else the time read just
// before sending.
func (p *peerSockets) send(payload []byte, to netip.AddrPort) (time.Time, source.TimestampSource, error) {
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	if err := p.openPeer(to); err != nil {
		return time.Time{}, 0, err
	}
	info, err := p.shell.Send(source.Transmit{To: to, Packet: payload, Peer: true})
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("sending to peer %s: %w", to, err)
	}
	return info.Time, info.Source, nil
}

// openPeer opens the socket of peer to unless it is open.
func (p *peerSockets) openPeer(to netip.AddrPort) error {
	local := p.bind4
	if !to.Addr().Is4() {
		local = p.bind6
	}
	port := uint16(max(p.port, 0))
	if err := p.shell.OpenPeer(netip.AddrPortFrom(local, port), to, p.device); err != nil {
		return fmt.Errorf("opening socket for peer %s: %w", to, err)
	}
	p.mu.Lock()
	p.peers[to.Addr()] = true
	p.mu.Unlock()
	return nil
}

// control gives a socket opened by the standard library the options that
// let it share the NTP port with the peers' sockets, as the server's do.
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

// close closes every peer socket and waits for their reader.
func (p *peerSockets) close() {
	_ = p.shell.Close()
}
