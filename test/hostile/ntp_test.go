package hostile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// NTP header layout used to build requests by hand.
const (
	headerLen    = 48
	modeClient   = 3
	modeServer   = 4
	modeControl  = 6
	modePrivate  = 7
	offOrigin    = 24
	offReceive   = 32
	offTransmit  = 40
	offRefID     = 12
	offStratum   = 1
	ntpEraOffset = 2208988800
)

// clientRequest builds a version 4 client request with the given transmit
// timestamp (the cookie the reply must echo as its origin).
func clientRequest(xmt uint64) []byte {
	p := make([]byte, headerLen)
	p[0] = 0<<6 | 4<<3 | modeClient
	p[2] = 6 // poll
	p[3] = 0xec
	binary.BigEndian.PutUint64(p[offTransmit:], xmt)
	return p
}

// ntpNow returns the current time as an NTP timestamp with random low bits.
func ntpNow() uint64 {
	now := time.Now()
	sec := uint64(now.Unix() + ntpEraOffset)
	frac := uint64(now.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac ^ uint64(rand.Uint32()&0xfff)
}

// checkReply validates a server reply to a request with transmit xmt.
func checkReply(reply []byte, xmt uint64) error {
	switch {
	case len(reply) < headerLen:
		return fmt.Errorf("reply of %d bytes", len(reply))
	case reply[0]&7 != modeServer:
		return fmt.Errorf("reply mode %d", reply[0]&7)
	case binary.BigEndian.Uint64(reply[offOrigin:]) != xmt:
		return errors.New("reply does not echo our transmit timestamp")
	case reply[offStratum] == 0:
		return fmt.Errorf("kiss-o'-death %q", reply[offRefID:offRefID+4])
	}
	return nil
}

// queryNTP sends one client request from local (an address of 127/8) to
// the daemon's port and waits up to timeout for a valid reply.
func queryNTP(port int, local string, timeout time.Duration) ([]byte, error) {
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(local)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, fmt.Errorf("dialing: %w", err)
	}
	defer func() { _ = c.Close() }()
	xmt := ntpNow()
	if _, err := c.Write(clientRequest(xmt)); err != nil {
		return nil, fmt.Errorf("sending: %w", err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 2048)
	for {
		_ = c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("waiting for the reply: %w", err)
		}
		if err := checkReply(buf[:n], xmt); err == nil {
			return buf[:n], nil
		}
	}
}

// goodClient polls the daemon from 127.0.0.1 every interval until stop,
// counting attempts and valid replies.
type goodClient struct {
	attempts, served atomic.Int64
	stop             chan struct{}
	wg               sync.WaitGroup
}

func startGoodClient(port int, interval time.Duration) *goodClient {
	g := &goodClient{stop: make(chan struct{})}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-tick.C:
			}
			g.attempts.Add(1)
			if _, err := queryNTP(port, "127.0.0.1", 500*time.Millisecond); err == nil {
				g.served.Add(1)
			}
		}
	}()
	return g
}

// finish stops the client and returns its counts.
func (g *goodClient) finish() (attempts, served int64) {
	close(g.stop)
	g.wg.Wait()
	return g.attempts.Load(), g.served.Load()
}
