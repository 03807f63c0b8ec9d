// Package clientio is the I/O shell of NTP client requests: it sends the
// packets that source state machines produce, from a fresh socket with a
// random port per request as chronyd does (or from one socket per family
// bound to `acquisitionport`), honouring bindacqaddress, bindacqdevice and
// dscp, reads kernel receive timestamps (SO_TIMESTAMPNS) and software
// transmit timestamps (SO_TIMESTAMPING error queue, else a user-space time
// read just before sending), and delivers responses to the engine, through
// Config.Deliver or else the Received channel.
//
// The request sockets are raw non-blocking descriptors in one epoll set,
// served by one goroutine that sleeps in Go's network poller on that set;
// a socket is closed when the engine expects no more replies, when the
// next request to its server is sent, or once its receive window has
// ended: replies that come later are dropped, and sockets whose window
// ended are swept at every send and every wakeup. No runtime timer is
// armed per request (a stopped Go timer still wakes the process at its
// deadline), so an idle poll costs the engine's timer wakeup and one
// wakeup for the reply. Symmetric peers' sockets, which share the
// server's port, join the same set through OpenPeer.
package clientio

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// maxPacket bounds a received datagram (header, extension fields, MAC).
const maxPacket = 1500

// txTimestampWait is how long Send waits for the kernel TX timestamp.
const txTimestampWait = time.Millisecond

// Config configures the shell.
type Config struct {
	// AcquisitionPort, when non-zero, makes all requests of a family use
	// one socket bound to this port (acquisitionport).
	AcquisitionPort int
	// BindAddress4 and BindAddress6 are the bindacqaddress addresses.
	BindAddress4, BindAddress6 netip.Addr
	// BindDevice is the bindacqdevice interface.
	BindDevice string
	// DSCP is the dscp value (0-63).
	DSCP int
	// KernelTxTimestamps enables software TX timestamps from the kernel.
	KernelTxTimestamps bool
	// Now reads the raw clock (default time.Now).
	Now func() time.Time
	// Cook converts a raw time to the daemon's cooked time (default
	// identity).
	Cook func(time.Time) time.Time
	// Deliver, when set, is called with each incoming packet on the
	// shell's receiving goroutine instead of sending it on the Received
	// channel; it must not block (e.g. it queues the packet for the
	// engine's loop). It spares a goroutine handoff per response, which
	// an idle daemon mostly spends waking threads.
	Deliver func(Received)
}

// Received is a packet that arrived on a client socket.
type Received struct {
	Remote netip.AddrPort
	Data   []byte
	Info   source.RxInfo
}

// maxReadsPerEvent bounds the datagrams read from one socket per wakeup.
const maxReadsPerEvent = 16

// Shell owns the client sockets. Send and CloseSocket are called from the
// engine goroutine; packets arrive on Received (or through Config.Deliver)
// from the shell's receiving goroutine, started by the first Send.
type Shell struct {
	cfg  Config
	recv chan Received
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	closed bool
	poll   *poller
	lastID uint32
	// conns are the per-request sockets by remote address.
	conns map[netip.AddrPort]*requestSocket
	// shared are the acquisitionport sockets by IPv6-ness.
	shared map[bool]*requestSocket
	// peers are the symmetric peers' sockets by remote address.
	peers map[netip.AddrPort]*requestSocket
	// byID finds a socket from its epoll event.
	byID map[uint32]*requestSocket
	// txBuf and txOOB are Send's scratch space for the error queue.
	txBuf, txOOB []byte
}

// requestSocket is one client socket.
type requestSocket struct {
	fd int
	id uint32
	// remote is the connected server, zero on a shared socket.
	remote netip.AddrPort
	// local is the bound address (invalid when unspecified), the
	// fallback for packet info.
	local netip.Addr
	// expires is when its receive window ends (zero: it does not).
	expires time.Time
	// persistent sockets (acquisitionport, peers) stay in the epoll set
	// until Close, whatever they receive.
	persistent bool
}

// New creates a shell.
func New(cfg Config) *Shell {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Cook == nil {
		cfg.Cook = func(t time.Time) time.Time { return t }
	}
	return &Shell{
		cfg: cfg, recv: make(chan Received, 64), done: make(chan struct{}),
		conns:  make(map[netip.AddrPort]*requestSocket),
		shared: make(map[bool]*requestSocket),
		peers:  make(map[netip.AddrPort]*requestSocket),
		byID:   make(map[uint32]*requestSocket),
		txBuf:  make([]byte, 64), txOOB: make([]byte, 512),
	}
}

// Received is the channel of incoming packets (unused when
// Config.Deliver is set).
func (s *Shell) Received() <-chan Received { return s.recv }

func (s *Shell) options(v6 bool) socketOptions {
	return socketOptions{dscp: s.cfg.DSCP, device: s.cfg.BindDevice, ipv6: v6, kernelTx: s.cfg.KernelTxTimestamps}
}

// localAddr is the address request sockets of a family bind to.
func (s *Shell) localAddr(v6 bool, port int) netip.AddrPort {
	a := s.cfg.BindAddress4
	if v6 {
		a = s.cfg.BindAddress6
	}
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
		if v6 {
			a = netip.IPv6Unspecified()
		}
	}
	return netip.AddrPortFrom(a, uint16(port))
}

// Send transmits a request and returns its transmit time: the kernel's
// software timestamp when available, else the time read just before
// sending. The caller passes it to Source.HandleTxTimestamp. Without
// AcquisitionPort, the request goes from a new socket (closing the
// previous one of the same server), which stays open for replies until
// CloseSocket or the end of tx.ReceiveWindow (when positive); replies
// received after the window are dropped. A symmetric packet (tx.Peer)
// goes from the peer's socket, which OpenPeer must have opened.
func (s *Shell) Send(tx source.Transmit) (source.TxInfo, error) {
	remote := netip.AddrPortFrom(tx.To.Addr().Unmap(), tx.To.Port())
	v6 := isIPv6(remote.Addr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.TxInfo{}, errors.New("client shell closed")
	}
	s.sweepLocked(time.Now())
	if err := s.startLocked(); err != nil {
		return source.TxInfo{}, err
	}
	var sock *requestSocket
	var to *sockaddr
	var err error
	switch {
	case tx.Peer:
		if sock = s.peers[remote]; sock == nil {
			err = fmt.Errorf("no socket open for peer %s", remote)
		}
	case s.cfg.AcquisitionPort != 0:
		sock, err = s.sharedLocked(v6)
		to = newSockaddr(remote, v6)
	default:
		s.closeRemoteLocked(remote)
		sock, err = s.openLocked(s.options(v6), s.localAddr(v6, 0), remote)
	}
	if err != nil {
		return source.TxInfo{}, err
	}
	// The transmit timestamp is read before a new socket joins the epoll
	// set, and with a persistent one's events switched off, so that its
	// error queue entry does not wake the receiving goroutine.
	mute := sock.persistent && s.cfg.KernelTxTimestamps
	if mute {
		s.poll.watch(sock.fd, sock.id, false)
	}
	info, err := s.transmitLocked(sock, tx, to)
	if mute {
		s.poll.watch(sock.fd, sock.id, true)
	}
	if err != nil || sock.persistent {
		if err != nil && !sock.persistent {
			rawClose(sock.fd)
		}
		return info, err
	}
	if err := s.poll.add(sock.fd, sock.id); err != nil {
		rawClose(sock.fd)
		return source.TxInfo{}, fmt.Errorf("client socket for %s: %w", remote, err)
	}
	if tx.ReceiveWindow > 0 {
		sock.expires = time.Now().Add(tx.ReceiveWindow)
	}
	s.conns[remote] = sock
	s.byID[sock.id] = sock
	return info, nil
}

// transmitLocked sends tx on sock (to the address to, or the connected
// peer when nil) and returns its transmit time.
func (s *Shell) transmitLocked(sock *requestSocket, tx source.Transmit, to *sockaddr) (source.TxInfo, error) {
	before := s.cfg.Now()
	if err := rawSendTo(sock.fd, tx.Packet, to); err != nil {
		return source.TxInfo{}, fmt.Errorf("sending to %s: %w", tx.To, err)
	}
	info := source.TxInfo{Seq: tx.Seq, Time: s.cfg.Cook(before), Source: source.TimestampDaemon}
	if s.cfg.KernelTxTimestamps {
		if kt, ok := txTimestamp(sock.fd, txTimestampWait, s.txBuf, s.txOOB); ok {
			info.Time, info.Source = s.cfg.Cook(kt), source.TimestampKernel
		}
	}
	return info, nil
}

// startLocked creates the epoll set and its goroutine on first use.
func (s *Shell) startLocked() error {
	if s.poll != nil {
		return nil
	}
	p, err := newPoller()
	if err != nil {
		return fmt.Errorf("client sockets: %w", err)
	}
	s.poll = p
	s.wg.Add(1)
	go s.serve(p)
	return nil
}

// openLocked opens a socket with options o bound to local (port 0: a
// random one) and, when remote is valid, connected to it. The socket is
// not yet in the epoll set.
func (s *Shell) openLocked(o socketOptions, local, remote netip.AddrPort) (*requestSocket, error) {
	v6 := o.ipv6
	what := "client socket for " + remote.String()
	if !remote.IsValid() {
		what = fmt.Sprintf("acquisition socket on port %d", local.Port())
	}
	fd, err := rawSocket(v6)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", what, err)
	}
	err = o.apply(fd)
	// Without an address or port to bind to, connect picks both.
	if err == nil && (local.Port() != 0 || !local.Addr().IsUnspecified()) {
		if berr := rawBind(fd, newSockaddr(local, v6)); berr != nil {
			err = fmt.Errorf("bind %s: %w", local, berr)
		}
	}
	if err == nil && remote.IsValid() {
		if cerr := rawConnect(fd, newSockaddr(remote, v6)); cerr != nil {
			err = fmt.Errorf("connect: %w", cerr)
		}
	}
	if err != nil {
		rawClose(fd)
		return nil, fmt.Errorf("opening %s: %w", what, err)
	}
	s.lastID++
	sock := &requestSocket{fd: fd, id: s.lastID, remote: remote}
	if !local.Addr().IsUnspecified() {
		sock.local = local.Addr()
	}
	return sock, nil
}

// sharedLocked returns the acquisitionport socket of a family, opening it
// and adding it to the epoll set on first use.
func (s *Shell) sharedLocked(v6 bool) (*requestSocket, error) {
	if sock := s.shared[v6]; sock != nil {
		return sock, nil
	}
	sock, err := s.openLocked(s.options(v6), s.localAddr(v6, s.cfg.AcquisitionPort), netip.AddrPort{})
	if err != nil {
		return nil, err
	}
	if err := s.poll.add(sock.fd, sock.id); err != nil {
		rawClose(sock.fd)
		return nil, fmt.Errorf("acquisition socket on port %d: %w", s.cfg.AcquisitionPort, err)
	}
	sock.persistent = true
	s.shared[v6] = sock
	s.byID[sock.id] = sock
	return sock, nil
}

// OpenPeer opens the socket of a symmetric peer: bound to local, whose
// port it shares with the NTP server's sockets (SO_REUSEADDR and
// SO_REUSEPORT), and connected to remote, so that the kernel hands it the
// peer's packets rather than to the server. It honours Config.DSCP and
// binds to device when not empty (bindacqaddress and bindacqdevice are
// for client requests only). The socket stays open until Close; Send
// uses it for tx.Peer packets and what it receives arrives as client
// sockets' packets do. Opening an open peer's socket does nothing.
func (s *Shell) OpenPeer(local, remote netip.AddrPort, device string) error {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	v6 := isIPv6(remote.Addr())
	if !local.Addr().IsValid() {
		if v6 {
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), local.Port())
		} else {
			local = netip.AddrPortFrom(netip.IPv4Unspecified(), local.Port())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("client shell closed")
	}
	if s.peers[remote] != nil {
		return nil
	}
	if err := s.startLocked(); err != nil {
		return err
	}
	o := socketOptions{dscp: s.cfg.DSCP, device: device, ipv6: v6, kernelTx: s.cfg.KernelTxTimestamps, reusePort: true}
	sock, err := s.openLocked(o, local, remote)
	if err != nil {
		return fmt.Errorf("peer %s: %w", remote, err)
	}
	if err := s.poll.add(sock.fd, sock.id); err != nil {
		rawClose(sock.fd)
		return fmt.Errorf("socket for peer %s: %w", remote, err)
	}
	sock.persistent = true
	s.peers[remote] = sock
	s.byID[sock.id] = sock
	return nil
}

// CloseSocket closes the request socket of remote, if any (no more
// responses are expected).
func (s *Shell) CloseSocket(remote netip.AddrPort) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeRemoteLocked(remote)
}

// closeRemoteLocked closes the request socket of remote and reports
// whether there was one.
func (s *Shell) closeRemoteLocked(remote netip.AddrPort) bool {
	sock := s.conns[remote]
	if sock == nil {
		return false
	}
	s.closeLocked(sock)
	return true
}

// closeLocked closes a socket, which also leaves the epoll set.
func (s *Shell) closeLocked(sock *requestSocket) {
	rawClose(sock.fd)
	delete(s.byID, sock.id)
	if sock.remote.IsValid() {
		if s.conns[sock.remote] == sock {
			delete(s.conns, sock.remote)
		}
		if s.peers[sock.remote] == sock {
			delete(s.peers, sock.remote)
		}
		return
	}
	for k, v := range s.shared {
		if v == sock {
			delete(s.shared, k)
		}
	}
}

// sweepLocked closes the request sockets whose receive window ended
// before now.
func (s *Shell) sweepLocked(now time.Time) {
	for _, sock := range s.conns {
		if sock.expired(now) {
			s.closeLocked(sock)
		}
	}
}

// expired reports whether the receive window of sock ended before now.
func (sock *requestSocket) expired(now time.Time) bool {
	return !sock.expires.IsZero() && now.After(sock.expires)
}

// Close closes all sockets and waits for the receiving goroutine to stop.
func (s *Shell) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for _, sock := range s.byID {
		s.closeLocked(sock)
	}
	var err error
	if s.poll != nil {
		err = s.poll.close()
	}
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("closing client sockets: %w", err)
	}
	return nil
}

// serve reads the sockets that epoll reports and delivers their packets,
// outside the lock so that the engine may call Send or CloseSocket from
// Deliver.
func (s *Shell) serve(p *poller) {
	defer s.wg.Done()
	r := &packetReader{buf: make([]byte, maxPacket), oob: make([]byte, 512), errBuf: make([]byte, 64)}
	var batch []Received
	_ = p.run(func(events []unix.EpollEvent) {
		batch = batch[:0]
		s.mu.Lock()
		now := time.Now()
		for _, ev := range events {
			sock := s.byID[uint32(ev.Pad)]
			if sock == nil || sock.fd != int(ev.Fd) {
				continue // closed since the event was queued
			}
			batch = s.readLocked(r, sock, ev.Events, now, batch)
		}
		s.sweepLocked(now)
		s.mu.Unlock()
		for i := range batch {
			if !s.deliver(batch[i]) {
				return
			}
			batch[i] = Received{}
		}
	})
}

// packetReader holds the receiving goroutine's buffers.
type packetReader struct {
	buf, oob, errBuf []byte
	from             sockaddr
}

// readLocked reads the datagrams waiting on sock (until EAGAIN, as the
// socket is edge-triggered) and appends them to batch. A request socket
// that reports an error (e.g. ICMP port unreachable) or whose receive
// window ended before now is closed, its datagrams dropped.
func (s *Shell) readLocked(r *packetReader, sock *requestSocket, events uint32, now time.Time, batch []Received) []Received {
	if sock.expired(now) {
		s.closeLocked(sock)
		return batch
	}
	if events&unix.EPOLLERR != 0 {
		// A transmit timestamp that came too late for Send.
		for range maxReadsPerEvent {
			if _, _, err := rawRecvmsg(sock.fd, r.errBuf, r.oob, nil, unix.MSG_ERRQUEUE); err != nil {
				break
			}
		}
	}
	for range maxReadsPerEvent {
		n, oobn, err := rawRecvmsg(sock.fd, r.buf, r.oob, &r.from, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return batch
		}
		if err != nil {
			if sock.persistent {
				continue // e.g. ICMP unreachable from a peer not up yet
			}
			s.closeLocked(sock)
			return batch
		}
		info := source.RxInfo{Source: source.TimestampDaemon, Local: sock.local}
		oob := r.oob[:oobn]
		if dst, ok := localAddress(oob); ok {
			info.Local = dst.Unmap()
		}
		if kt, ok := rxTimestamp(oob); ok {
			info.Time, info.Source = s.cfg.Cook(kt), source.TimestampKernel
		} else {
			info.Time = s.cfg.Cook(s.cfg.Now())
		}
		from := r.from.addrPort()
		if sock.remote.IsValid() {
			from = sock.remote
		}
		batch = append(batch, Received{Remote: from, Data: append([]byte(nil), r.buf[:n]...), Info: info})
	}
	// Datagrams may be left: re-arming the edge-triggered socket queues
	// a new event if so.
	s.poll.watch(sock.fd, sock.id, true)
	return batch
}

// deliver hands a packet to Config.Deliver or the Received channel; it
// reports false when the shell closed meanwhile.
func (s *Shell) deliver(pkt Received) bool {
	if s.cfg.Deliver != nil {
		s.cfg.Deliver(pkt)
		return true
	}
	select {
	case s.recv <- pkt:
		return true
	case <-s.done:
		return false
	}
}
