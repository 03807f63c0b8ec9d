package relay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/rxstamp"
)

// maxClients bounds the number of client addresses (and so upstream
// sockets) one relay serves.
const maxClients = 256

// maxQueued bounds the datagrams waiting for their release time.
const maxQueued = 4096

// maxWait is the longest wait in ppoll, after which the loop checks
// whether it must stop.
const maxWait = 20 * time.Millisecond

// Stats counts what a relay did.
type Stats struct {
	// Forwarded and Dropped count datagrams by direction (Upstream,
	// Downstream).
	Forwarded, Dropped [2]uint64
	// Overflow counts datagrams dropped because the queue was full or the
	// relay had too many clients.
	Overflow uint64
	// MaxLate is the largest delay between a datagram's planned release
	// and its sending.
	MaxLate time.Duration
}

// Relay forwards datagrams between clients and one server with the
// delays of a Model. One goroutine, locked to its OS thread, does all the
// work with plain system calls: it waits in ppoll (nanosecond timeout) on
// all its sockets until a datagram arrives or the next one is due, takes
// each datagram's arrival time from its kernel receive timestamp, and
// sends datagrams when due. It does not go through the Go runtime's
// network poller, whose wake-ups a busy machine delays by milliseconds.
type Relay struct {
	listenFD int
	addr     netip.AddrPort
	target   netip.AddrPort
	model    *Model
	realtime bool
	stop     atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}
	closed   sync.Once

	forwarded, dropped [2]atomic.Uint64
	overflow           atomic.Uint64
	maxLate            atomic.Int64
}

// pending is a datagram waiting for its release.
type pending struct {
	release time.Time
	order   uint64
	data    []byte
	// fd is the socket to send from; to is the destination (nil for a
	// connected upstream socket).
	fd  int
	to  unix.Sockaddr
	dir Direction
}

// Start listens on listen (a numeric address and port, e.g.
// "127.0.0.1:0") and relays to target (e.g. "127.0.0.1:11123") with the
// delays of cfg until ctx ends or Close is called.
func Start(ctx context.Context, listen, target string, cfg Config) (*Relay, error) {
	model, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	taddr, err := netip.ParseAddrPort(target)
	if err != nil {
		return nil, fmt.Errorf("relay: target %s: %w", target, err)
	}
	laddr, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("relay: listen address %s: %w", listen, err)
	}
	fd, err := openSocket(laddr, netip.AddrPort{})
	if err != nil {
		return nil, fmt.Errorf("relay: listening on %s: %w", listen, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("relay: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Relay{
		listenFD: fd,
		addr:     fromSockaddr(sa),
		target:   taddr,
		model:    model,
		realtime: cfg.Realtime,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go func() {
		<-ctx.Done()
		r.stop.Store(true)
	}()
	go r.run()
	return r, nil
}

// Addr is the address clients send to.
func (r *Relay) Addr() netip.AddrPort { return r.addr }

// Close stops the relay, waits for it and closes its sockets.
func (r *Relay) Close() {
	r.closed.Do(func() {
		r.stop.Store(true)
		r.cancel()
		<-r.done
	})
}

// Stats returns the counters so far.
func (r *Relay) Stats() Stats {
	var s Stats
	for i := range s.Forwarded {
		s.Forwarded[i] = r.forwarded[i].Load()
		s.Dropped[i] = r.dropped[i].Load()
	}
	s.Overflow = r.overflow.Load()
	s.MaxLate = time.Duration(r.maxLate.Load())
	return s
}

// client is one client address and its upstream socket.
type client struct {
	addr unix.Sockaddr
	fd   int
}

// run is the relay's loop.
func (r *Relay) run() {
	defer close(r.done)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	if r.realtime {
		// Back to the normal policy before the thread returns to the
		// runtime's pool.
		if unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 10}, 0) == nil {
			defer func() { _ = unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0) }()
		}
	}
	clients := map[netip.AddrPort]*client{}
	byFD := map[int]*client{}
	defer func() {
		_ = unix.Close(r.listenFD)
		for _, c := range clients {
			_ = unix.Close(c.fd)
		}
	}()
	var q releaseQueue
	var order uint64
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	fds := []unix.PollFd{{Fd: int32(r.listenFD), Events: unix.POLLIN}}
	for !r.stop.Load() {
		wait := maxWait
		if q.Len() > 0 {
			wait = min(wait, max(time.Until(q[0].release), 0))
		}
		ts := unix.NsecToTimespec(int64(wait))
		if _, err := unix.Ppoll(fds, &ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		for i := range fds {
			if fds[i].Revents == 0 {
				continue
			}
			fd := int(fds[i].Fd)
			for {
				n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT)
				if err != nil {
					break // EAGAIN, or an ICMP error on an upstream socket
				}
				p := pending{release: arrivalTime(oob[:oobn])}
				if fd == r.listenFD {
					c := r.clientFor(from, clients, byFD, &fds)
					if c == nil {
						r.overflow.Add(1)
						continue
					}
					p.fd, p.dir = c.fd, Upstream
				} else {
					c := byFD[fd]
					if c == nil {
						continue
					}
					p.fd, p.to, p.dir = r.listenFD, c.addr, Downstream
				}
				release, drop := r.model.Plan(p.dir, p.release)
				if drop {
					r.dropped[p.dir].Add(1)
					continue
				}
				if q.Len() >= maxQueued {
					r.overflow.Add(1)
					continue
				}
				order++
				p.release, p.order, p.data = release, order, append([]byte(nil), buf[:n]...)
				heap.Push(&q, p)
			}
		}
		now := time.Now()
		for q.Len() > 0 && !q[0].release.After(now) {
			p := heap.Pop(&q).(pending)
			if late := now.Sub(p.release); int64(late) > r.maxLate.Load() {
				r.maxLate.Store(int64(late))
			}
			var err error
			if p.to == nil {
				_, err = unix.Write(p.fd, p.data)
			} else {
				err = unix.Sendto(p.fd, p.data, 0, p.to)
			}
			if err == nil {
				r.forwarded[p.dir].Add(1)
			}
			now = time.Now()
		}
	}
}

// clientFor returns the client of address from, opening its upstream
// socket (connected to the target) on first use; nil when there are too
// many clients or the socket cannot be opened.
func (r *Relay) clientFor(from unix.Sockaddr, clients map[netip.AddrPort]*client, byFD map[int]*client, fds *[]unix.PollFd) *client {
	key := fromSockaddr(from)
	if c, ok := clients[key]; ok {
		return c
	}
	if len(clients) >= maxClients {
		return nil
	}
	fd, err := openSocket(netip.AddrPort{}, r.target)
	if err != nil {
		return nil
	}
	c := &client{addr: from, fd: fd}
	clients[key] = c
	byFD[fd] = c
	*fds = append(*fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	return c
}

// openSocket opens a non-blocking UDP socket with kernel receive
// timestamps, bound to local (if valid, else to any address of the
// target's family) and connected to remote (if valid).
func openSocket(local, remote netip.AddrPort) (int, error) {
	family := local.Addr()
	if !family.IsValid() {
		family = remote.Addr()
	}
	domain := unix.AF_INET
	if family.Is6() && !family.Is4In6() {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if local.IsValid() {
		if err := unix.Bind(fd, toSockaddr(local)); err != nil {
			return fail("bind "+local.String(), err)
		}
	}
	if remote.IsValid() {
		if err := unix.Connect(fd, toSockaddr(remote)); err != nil {
			return fail("connect "+remote.String(), err)
		}
	}
	return fd, nil
}

func toSockaddr(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() || a.Addr().Is4In6() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
	}
	return netip.AddrPort{}
}

// arrivalTime returns the kernel receive timestamp in oob, or now when
// there is none.
func arrivalTime(oob []byte) time.Time {
	if t, ok := rxstamp.FromControl(oob); ok {
		return t
	}
	return time.Now()
}

// releaseQueue is a min-heap of pending datagrams by release time, then
// arrival order.
type releaseQueue []pending

func (q releaseQueue) Len() int { return len(q) }
func (q releaseQueue) Less(i, j int) bool {
	if q[i].release.Equal(q[j].release) {
		return q[i].order < q[j].order
	}
	return q[i].release.Before(q[j].release)
}
func (q releaseQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *releaseQueue) Push(x any)   { *q = append(*q, x.(pending)) }
func (q *releaseQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}
