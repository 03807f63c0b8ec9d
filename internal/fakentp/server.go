package fakentp

import (
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Server answers NTP requests on a packet connection according to its
// current Behavior, which SetBehavior may change at any time.
type Server struct {
	conn     net.PacketConn
	mu       sync.Mutex
	behavior Behavior
	answered int
	requests atomic.Int64
	done     chan struct{}
}

// Serve starts answering requests arriving on conn with behaviour b, in a
// goroutine, until Close. The server owns conn from now on.
func Serve(conn net.PacketConn, b Behavior) *Server {
	s := &Server{conn: conn, behavior: b, done: make(chan struct{})}
	go s.loop()
	return s
}

// SetBehavior changes how the following requests are answered. The count
// of answers StepAfter refers to restarts at zero.
func (s *Server) SetBehavior(b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior = b
	s.answered = 0
}

// Requests returns how many requests arrived so far (answered or not).
func (s *Server) Requests() int64 { return s.requests.Load() }

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Close stops the server and waits for its goroutine to end.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

// loop reads requests and sends the replies.
func (s *Server) loop() {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // a transient error: do not spin
			continue
		}
		rx := time.Now()
		s.requests.Add(1)
		s.mu.Lock()
		reply := Respond(s.behavior, buf[:n], rx, time.Now(), s.answered, fillRandom)
		if reply != nil {
			s.answered++
		}
		s.mu.Unlock()
		if reply != nil {
			_, _ = s.conn.WriteTo(reply, from)
		}
	}
}

// fillRandom fills b with random bytes.
func fillRandom(b []byte) { _, _ = rand.Read(b) }
