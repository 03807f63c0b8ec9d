// Package clientio is the I/O shell of NTP client requests: it sends the
// packets that source state machines produce, from a fresh socket with a
// random port per request as chronyd does (or from one socket bound to
// `acquisitionport`), honouring bindacqaddress, bindacqdevice and dscp,
// reads kernel receive timestamps (SO_TIMESTAMPNS) and software transmit
// timestamps (SO_TIMESTAMPING error queue, else a user-space time read
// just before sending), and delivers responses to the engine, through
// Config.Deliver or else the Received channel. Symmetric peers' sockets,
// which share the server's port, are opened by the daemon and timestamped
// the same way through TimestampedConn.
package clientio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

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
	// socket's reader goroutine instead of sending it on the Received
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

// Shell owns the client sockets. Send and CloseSocket are called from the
// engine goroutine; packets arrive on Received (or through Config.Deliver)
// from reader goroutines.
type Shell struct {
	cfg    Config
	recv   chan Received
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[netip.AddrPort]*net.UDPConn
	shared map[bool]*net.UDPConn // by IPv6-ness, with AcquisitionPort
}

// New creates a shell.
func New(cfg Config) *Shell {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Cook == nil {
		cfg.Cook = func(t time.Time) time.Time { return t }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Shell{
		cfg: cfg, recv: make(chan Received, 64), ctx: ctx, cancel: cancel,
		conns: make(map[netip.AddrPort]*net.UDPConn), shared: make(map[bool]*net.UDPConn),
	}
}

// Received is the channel of incoming packets (unused when
// Config.Deliver is set).
func (s *Shell) Received() <-chan Received { return s.recv }

func (s *Shell) options(v6 bool) socketOptions {
	return socketOptions{dscp: s.cfg.DSCP, device: s.cfg.BindDevice, ipv6: v6, kernelTx: s.cfg.KernelTxTimestamps}
}

func (s *Shell) localAddr(v6 bool, port int) *net.UDPAddr {
	a := s.cfg.BindAddress4
	if v6 {
		a = s.cfg.BindAddress6
	}
	if !a.IsValid() {
		return &net.UDPAddr{Port: port}
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port)))
}

func network(v6 bool) string {
	if v6 {
		return "udp6"
	}
	return "udp4"
}

// Send transmits a request and returns its transmit time: the kernel's
// software timestamp when available, else the time read just before
// sending. The caller passes it to Source.HandleTxTimestamp.
func (s *Shell) Send(tx source.Transmit) (source.TxInfo, error) {
	if s.ctx.Err() != nil {
		return source.TxInfo{}, errors.New("client shell closed")
	}
	remote := netip.AddrPortFrom(tx.To.Addr().Unmap(), tx.To.Port())
	v6 := isIPv6(remote.Addr())
	var conn *net.UDPConn
	var err error
	if s.cfg.AcquisitionPort != 0 {
		conn, err = s.sharedConn(v6)
	} else {
		conn, err = s.requestConn(remote, v6)
	}
	if err != nil {
		return source.TxInfo{}, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return source.TxInfo{}, fmt.Errorf("client socket for %s: %w", remote, err)
	}
	before := s.cfg.Now()
	if s.cfg.AcquisitionPort != 0 {
		_, err = conn.WriteToUDPAddrPort(tx.Packet, remote)
	} else {
		_, err = conn.Write(tx.Packet)
	}
	if err != nil {
		return source.TxInfo{}, fmt.Errorf("sending to %s: %w", remote, err)
	}
	info := source.TxInfo{Seq: tx.Seq, Time: s.cfg.Cook(before), Source: source.TimestampDaemon}
	if s.cfg.KernelTxTimestamps {
		if kt, ok := readTxTimestamp(raw, txTimestampWait); ok {
			info.Time, info.Source = s.cfg.Cook(kt), source.TimestampKernel
		}
	}
	if s.cfg.AcquisitionPort == 0 && tx.ReceiveWindow > 0 {
		_ = conn.SetReadDeadline(time.Now().Add(tx.ReceiveWindow))
	}
	return info, nil
}

// requestConn opens a new connected socket with a random port for one
// request to remote, closing the previous one.
func (s *Shell) requestConn(remote netip.AddrPort, v6 bool) (*net.UDPConn, error) {
	s.CloseSocket(remote)
	d := net.Dialer{LocalAddr: s.localAddr(v6, 0), Control: s.options(v6).control}
	c, err := d.DialContext(s.ctx, network(v6), remote.String())
	if err != nil {
		return nil, fmt.Errorf("opening client socket for %s: %w", remote, err)
	}
	conn := c.(*net.UDPConn)
	s.mu.Lock()
	s.conns[remote] = conn
	s.mu.Unlock()
	s.startReader(conn, remote)
	return conn, nil
}

// sharedConn returns the acquisitionport socket of a family.
func (s *Shell) sharedConn(v6 bool) (*net.UDPConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.shared[v6]; c != nil {
		return c, nil
	}
	lc := net.ListenConfig{Control: s.options(v6).control}
	pc, err := lc.ListenPacket(s.ctx, network(v6), s.localAddr(v6, s.cfg.AcquisitionPort).String())
	if err != nil {
		return nil, fmt.Errorf("opening acquisition socket on port %d: %w", s.cfg.AcquisitionPort, err)
	}
	conn := pc.(*net.UDPConn)
	s.shared[v6] = conn
	s.startReader(conn, netip.AddrPort{})
	return conn, nil
}

// CloseSocket closes the request socket of remote, if any (no more
// responses are expected).
func (s *Shell) CloseSocket(remote netip.AddrPort) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	s.mu.Lock()
	c := s.conns[remote]
	delete(s.conns, remote)
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Close closes all sockets and waits for the readers to stop.
func (s *Shell) Close() error {
	s.cancel()
	s.mu.Lock()
	for k, c := range s.conns {
		c.Close()
		delete(s.conns, k)
	}
	for k, c := range s.shared {
		c.Close()
		delete(s.shared, k)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// startReader reads conn until it is closed or its deadline passes.
// remote is the connected peer, or zero for a shared socket.
func (s *Shell) startReader(conn *net.UDPConn, remote netip.AddrPort) {
	s.wg.Add(1)
	local := netip.Addr{}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		local = la.AddrPort().Addr().Unmap()
	}
	go func() {
		defer s.wg.Done()
		buf := make([]byte, maxPacket)
		oob := make([]byte, 512)
		for {
			n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
			if err != nil {
				if remote.IsValid() {
					s.mu.Lock()
					if s.conns[remote] == conn {
						delete(s.conns, remote)
					}
					s.mu.Unlock()
					conn.Close()
				}
				return
			}
			info := source.RxInfo{Source: source.TimestampDaemon, Local: local}
			if dst, ok := localAddress(oob[:oobn]); ok {
				info.Local = dst.Unmap()
			}
			if kt, ok := rxTimestamp(oob[:oobn]); ok {
				info.Time, info.Source = s.cfg.Cook(kt), source.TimestampKernel
			} else {
				info.Time = s.cfg.Cook(s.cfg.Now())
			}
			pkt := Received{
				Remote: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()),
				Data:   append([]byte(nil), buf[:n]...),
				Info:   info,
			}
			if s.cfg.Deliver != nil {
				s.cfg.Deliver(pkt)
				continue
			}
			select {
			case s.recv <- pkt:
			case <-s.ctx.Done():
				return
			}
		}
	}()
}
