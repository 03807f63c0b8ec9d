// Package echo is a bare batched UDP echo server: the ceiling of this
// machine's loopback path against which the NTP servers are measured. It
// reads a batch with recvmmsg and sends every datagram back unchanged
// with sendmmsg, on one goroutine per SO_REUSEPORT socket.
package echo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Config configures the echo server.
type Config struct {
	// Addrs are the addresses to listen on (each with the same port, or
	// port 0 for a free one per address).
	Addrs []netip.AddrPort
	// Workers is the number of sockets (and goroutines) per address
	// (0: 1).
	Workers int
	// Batch is the number of datagrams per system call (0: 32).
	Batch int
}

// Server is a running echo server.
type Server struct {
	conns []*net.UDPConn
	wg    sync.WaitGroup
}

// Start opens the sockets and starts echoing until ctx ends or Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("echo: no address")
	}
	cfg.Workers = max(cfg.Workers, 1)
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	s := &Server{}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	for _, a := range cfg.Addrs {
		for i := 0; i < cfg.Workers; i++ {
			network := "udp4"
			if a.Addr().Is6() {
				network = "udp6"
			}
			pc, err := lc.ListenPacket(ctx, network, a.String())
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("echo: listening on %s: %w", a, err)
			}
			c := pc.(*net.UDPConn)
			_ = c.SetReadBuffer(4 << 20)
			_ = c.SetWriteBuffer(4 << 20)
			s.conns = append(s.conns, c)
			if a.Port() == 0 {
				a = c.LocalAddr().(*net.UDPAddr).AddrPort()
			}
			s.wg.Add(1)
			go s.serve(c, network == "udp6", cfg.Batch)
		}
	}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return s, nil
}

// Addrs returns the bound addresses, one per socket.
func (s *Server) Addrs() []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// Close stops the server.
func (s *Server) Close() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// Wait waits for the workers to stop.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) serve(c *net.UDPConn, v6 bool, batch int) {
	defer s.wg.Done()
	read, write := ipv4.NewPacketConn(c).ReadBatch, ipv4.NewPacketConn(c).WriteBatch
	if v6 {
		p := ipv6.NewPacketConn(c)
		read, write = p.ReadBatch, p.WriteBatch
	}
	bufs := make([][]byte, batch)
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		bufs[i] = make([]byte, 2048)
		msgs[i].Buffers = [][]byte{bufs[i]}
	}
	for {
		for i := range msgs {
			msgs[i].Buffers[0] = bufs[i]
		}
		n, err := read(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		for i := 0; i < n; i++ {
			msgs[i].Buffers[0] = bufs[i][:msgs[i].N]
		}
		for sent := 0; sent < n; {
			k, err := write(msgs[sent:n], 0)
			if err != nil {
				break
			}
			sent += k
		}
	}
}
