package main

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// clientAddr is the source address of client i: 127.2.0.0 upwards, away
// from 127.0.0.x where the upstreams listen.
func clientAddr(i int) net.IP {
	return net.IPv4(127, byte(2+i>>16), byte(i>>8), byte(i))
}

// load is the population of NTP clients, each with its own socket and
// source address, polling the daemon like real clients.
type load struct {
	served, attempted atomic.Int64
	wg                sync.WaitGroup
}

// startLoad starts n clients polling target every poll (±25 % jitter).
// It returns when every socket is open; the clients stop with ctx.
func startLoad(ctx context.Context, target *net.UDPAddr, n int, poll time.Duration) (*load, error) {
	l := &load{}
	conns := make([]*net.UDPConn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: clientAddr(i)})
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		l.wg.Add(1)
		go l.client(ctx, c, target, poll, uint64(i))
	}
	return l, nil
}

func (l *load) client(ctx context.Context, c *net.UDPConn, target *net.UDPAddr, poll time.Duration, seed uint64) {
	defer l.wg.Done()
	defer func() { _ = c.Close() }()
	r := rand.New(rand.NewPCG(seed, 42))
	req := make([]byte, 48)
	buf := make([]byte, 512)
	// Spread the first requests over one poll interval.
	wait := time.Duration(r.Int64N(int64(poll)))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		req[0] = 4<<3 | 3
		xmt := r.Uint64()
		binary.BigEndian.PutUint64(req[40:], xmt)
		l.attempted.Add(1)
		if _, err := c.WriteToUDP(req, target); err == nil {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := c.ReadFromUDP(buf)
				if err != nil {
					break
				}
				if n >= 48 && buf[0]&7 == 4 && binary.BigEndian.Uint64(buf[24:]) == xmt {
					l.served.Add(1)
					break
				}
			}
		}
		wait = poll*3/4 + time.Duration(r.Int64N(int64(poll/2)+1))
	}
}

// take returns and resets the counts.
func (l *load) take() (served, attempted int64) {
	return l.served.Swap(0), l.attempted.Swap(0)
}
