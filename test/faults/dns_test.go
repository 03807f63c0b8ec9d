package faults

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// slowDNS is a tiny DNS responder that answers A queries for one name with
// fixed addresses (and every other query with an empty answer), each only
// after a delay, as an overloaded resolver would.
type slowDNS struct {
	conn    net.PacketConn
	name    string
	addrs   []netip.Addr
	delay   time.Duration
	queries atomic.Int64
	done    chan struct{}
}

// serveSlowDNS answers on conn until close.
func serveSlowDNS(conn net.PacketConn, name string, delay time.Duration, addrs ...netip.Addr) *slowDNS {
	d := &slowDNS{conn: conn, name: strings.TrimSuffix(name, ".") + ".", addrs: addrs, delay: delay, done: make(chan struct{})}
	go d.loop()
	return d
}

// close stops the responder.
func (d *slowDNS) close() {
	_ = d.conn.Close()
	<-d.done
}

// loop reads queries and answers each after the delay.
func (d *slowDNS) loop() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		d.queries.Add(1)
		reply, ok := d.answer(buf[:n])
		if !ok {
			continue
		}
		time.AfterFunc(d.delay, func() { _, _ = d.conn.WriteTo(reply, from) })
	}
}

// answer builds the reply to one query.
func (d *slowDNS) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	if q.Type == dnsmessage.TypeA && strings.EqualFold(q.Name.String(), d.name) {
		for _, a := range d.addrs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 1}
			if b.AResource(rh, dnsmessage.AResource{A: a.As4()}) != nil {
				return nil, false
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
