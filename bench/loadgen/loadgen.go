package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Config describes one load run.
type Config struct {
	// Target is the server's address.
	Target netip.AddrPort
	// Sockets is the number of client sockets (source ports), each on its
	// own goroutine (0: 4).
	Sockets int
	// Window is the number of requests in flight per socket (0: 64).
	Window int
	// Batch is the number of datagrams per sendmmsg/recvmmsg (0: 32).
	Batch int
	// Duration bounds the sending time (0: until Count is reached).
	Duration time.Duration
	// Count bounds the number of requests per socket (0: no bound). At
	// least one of Duration and Count must be set.
	Count uint64
	// Timeout is how long a request may wait for its reply (0: 100 ms).
	Timeout time.Duration
	// Source, when set, gives the source address of request seq (sent
	// with IP_PKTINFO / IPV6_PKTINFO; it must be an address of this
	// host, e.g. any of 127.0.0.0/8). The sockets then bind the wildcard
	// address so that they receive the replies.
	Source func(seq uint64) netip.Addr
}

// Result is the outcome of a run.
type Result struct {
	Counts
	// Elapsed is the time from the first request to the last settled one.
	Elapsed time.Duration `json:"elapsed_ns"`
	// SendErrors counts failed sendmmsg calls.
	SendErrors uint64 `json:"send_errors"`
}

// RepliesPerSecond is Received / Elapsed.
func (r Result) RepliesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Received) / r.Elapsed.Seconds()
}

func (c *Config) defaults() error {
	if !c.Target.IsValid() {
		return errors.New("loadgen: no target")
	}
	if c.Duration <= 0 && c.Count == 0 {
		return errors.New("loadgen: neither a duration nor a count")
	}
	if c.Sockets <= 0 {
		c.Sockets = 4
	}
	if c.Window <= 0 {
		c.Window = 64
	}
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Timeout <= 0 {
		c.Timeout = 100 * time.Millisecond
	}
	return nil
}

// Run drives the target until the duration or count is reached, waits
// for the replies still in flight (up to Timeout), and returns the sum of
// all sockets' accounting.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	conns := make([]batchConn, cfg.Sockets)
	for i := range conns {
		c, err := openConn(cfg.Target.Addr())
		if err != nil {
			for _, o := range conns[:i] {
				_ = o.Close()
			}
			return Result{}, err
		}
		conns[i] = c
	}
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	results := make([]Result, cfg.Sockets)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			results[i] = drive(ctx, c, &cfg, start, deadline, rand.Uint32()&0xffffff)
		}()
	}
	wg.Wait()
	var total Result
	for _, r := range results {
		total.Counts = total.Counts.Add(r.Counts)
		total.SendErrors += r.SendErrors
		total.Elapsed = max(total.Elapsed, r.Elapsed)
	}
	if err := ctx.Err(); err != nil {
		return total, fmt.Errorf("loadgen: %w", err)
	}
	return total, nil
}

// batchConn is the part of ipv4.PacketConn and ipv6.PacketConn in use.
type batchConn struct {
	*net.UDPConn
	read  func([]ipv4.Message, int) (int, error)
	write func([]ipv4.Message, int) (int, error)
	oob   func(src netip.Addr) []byte
}

func openConn(target netip.Addr) (batchConn, error) {
	network, wildcard := "udp4", net.IPv4zero
	if target.Is6() && !target.Is4In6() {
		network, wildcard = "udp6", net.IPv6unspecified
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: wildcard})
	if err != nil {
		return batchConn{}, fmt.Errorf("loadgen: opening a %s socket: %w", network, err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	if network == "udp4" {
		p := ipv4.NewPacketConn(c)
		return batchConn{UDPConn: c, read: p.ReadBatch, write: p.WriteBatch, oob: func(src netip.Addr) []byte {
			return (&ipv4.ControlMessage{Src: src.AsSlice()}).Marshal()
		}}, nil
	}
	p := ipv6.NewPacketConn(c)
	return batchConn{UDPConn: c, read: p.ReadBatch, write: p.WriteBatch, oob: func(src netip.Addr) []byte {
		return (&ipv6.ControlMessage{Src: src.AsSlice()}).Marshal()
	}}, nil
}

// drive runs one socket's window until the deadline or count, then
// settles the requests in flight.
func drive(ctx context.Context, c batchConn, cfg *Config, start, deadline time.Time, tag uint32) Result {
	target := net.UDPAddrFromAddrPort(cfg.Target)
	w := NewWindow(cfg.Window, cfg.Timeout)
	out := make([]ipv4.Message, cfg.Batch)
	in := make([]ipv4.Message, cfg.Batch)
	for i := range out {
		out[i] = ipv4.Message{Buffers: [][]byte{make([]byte, RequestSize)}, Addr: target}
		in[i] = ipv4.Message{Buffers: [][]byte{make([]byte, 512)}}
	}
	var res Result
	mono := func() int64 { return int64(time.Since(start)) }
	sending := true
	var settleBy time.Time
	for {
		now := time.Now()
		if sending && (ctx.Err() != nil || (!deadline.IsZero() && !now.Before(deadline)) ||
			(cfg.Count > 0 && w.Counts().Sent >= cfg.Count)) {
			sending = false
			settleBy = now.Add(cfg.Timeout)
		}
		w.Expire(mono())
		if !sending && (w.InFlight() == 0 || now.After(settleBy) || ctx.Err() != nil) {
			w.ExpireAll()
			break
		}
		if sending {
			n := min(w.Room(), cfg.Batch)
			if cfg.Count > 0 {
				n = min(n, int(cfg.Count-w.Counts().Sent))
			}
			t := mono()
			for i := 0; i < n; i++ {
				seq := w.Send(t)
				FillRequest(out[i].Buffers[0], MakeKey(tag, seq))
				if cfg.Source != nil {
					out[i].OOB = c.oob(cfg.Source(seq))
				}
			}
			for sent := 0; sent < n; {
				k, err := c.write(out[sent:n], 0)
				if err != nil {
					res.SendErrors++
					break // the unsent requests expire as lost
				}
				sent += k
			}
		}
		if w.InFlight() == 0 {
			continue
		}
		_ = c.SetReadDeadline(now.Add(cfg.Timeout))
		k, err := c.read(in, 0)
		if err != nil {
			continue // timeout: Expire settles the requests
		}
		for i := 0; i < k; i++ {
			key, ok := ReplyKey(in[i].Buffers[0][:in[i].N])
			if t, seq := SplitKey(key); ok && t == tag {
				w.Receive(seq)
			} else {
				w.Receive(^uint64(0)) // counted as stray
			}
		}
	}
	res.Counts = w.Counts()
	res.Elapsed = time.Since(start)
	return res
}
