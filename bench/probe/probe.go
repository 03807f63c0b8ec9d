// Package probe asks the daemons under test what they know: one NTP
// client exchange measuring the offset of the time a server serves
// against this host's clock, and chronyc's tracking report over the
// command socket (with github.com/facebook/time's chrony client).
package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/facebook/time/ntp/chrony"
	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/internal/rxstamp"
)

// ntpEpochOffset is the number of seconds from 1900 to 1970.
const ntpEpochOffset = 2208988800

// Sample is one NTP exchange.
type Sample struct {
	// Offset is the server's time minus this host's clock,
	// ((T2 − T1) + (T3 − T4)) / 2.
	Offset time.Duration
	// Delay is the round trip less the server's processing time.
	Delay time.Duration
	// Stratum and Leap are from the response.
	Stratum uint8
	Leap    uint8
	// RefID is the response's reference ID.
	RefID uint32
}

// ToNTP converts a time to the 64-bit NTP timestamp format.
func ToNTP(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return secs<<32 | frac
}

// FromNTP converts a 64-bit NTP timestamp (era 0) to a time.
func FromNTP(ts uint64) time.Time {
	secs := int64(ts>>32) - ntpEpochOffset
	nanos := (int64(ts&0xffffffff)*1e9 + 1<<31) >> 32
	return time.Unix(secs, nanos)
}

// Evaluate computes a sample from the four timestamps of an exchange.
func Evaluate(t1, t2, t3, t4 time.Time) (offset, delay time.Duration) {
	offset = (t2.Sub(t1) + t3.Sub(t4)) / 2
	delay = t4.Sub(t1) - t3.Sub(t2)
	return offset, delay
}

// ParseResponse checks a server response to a request whose transmit
// timestamp was sent, and returns its receive (T2) and transmit (T3)
// times and header fields.
func ParseResponse(b []byte, sent uint64) (t2, t3 time.Time, s Sample, err error) {
	if len(b) < 48 {
		return t2, t3, s, fmt.Errorf("probe: response of %d bytes", len(b))
	}
	if mode := b[0] & 7; mode != 4 {
		return t2, t3, s, fmt.Errorf("probe: response mode %d", mode)
	}
	if binary.BigEndian.Uint64(b[24:32]) != sent {
		return t2, t3, s, errors.New("probe: origin timestamp does not match the request")
	}
	s.Leap = b[0] >> 6
	s.Stratum = b[1]
	s.RefID = binary.BigEndian.Uint32(b[12:16])
	if s.Leap == 3 || s.Stratum == 0 {
		return t2, t3, s, fmt.Errorf("probe: server unsynchronised (leap %d, stratum %d)", s.Leap, s.Stratum)
	}
	t2 = FromNTP(binary.BigEndian.Uint64(b[32:40]))
	t3 = FromNTP(binary.BigEndian.Uint64(b[40:48]))
	return t2, t3, s, nil
}

// Query makes one NTP client exchange with server and measures its
// served time against this host's clock.
func Query(server netip.AddrPort, timeout time.Duration) (Sample, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return Sample{}, fmt.Errorf("probe: %s: %w", server, err)
	}
	defer c.Close()
	enableTimestamps(c)
	req := make([]byte, 48)
	req[0] = 4<<3 | 3
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return Sample{}, fmt.Errorf("probe: %w", err)
	}
	// A random transmit timestamp, as chronyd sends, keeps the real T1
	// private; T1 is the local clock read just before sending.
	sent := rand.Uint64()
	binary.BigEndian.PutUint64(req[40:48], sent)
	buf := make([]byte, 512)
	oob := make([]byte, 128)
	t1 := time.Now()
	if _, err := c.Write(req); err != nil {
		return Sample{}, fmt.Errorf("probe: sending to %s: %w", server, err)
	}
	for {
		n, oobn, _, _, err := c.ReadMsgUDPAddrPort(buf, oob)
		t4 := receiveTime(oob[:oobn])
		if err != nil {
			return Sample{}, fmt.Errorf("probe: no response from %s: %w", server, err)
		}
		t2, t3, s, err := ParseResponse(buf[:n], sent)
		if err != nil {
			if s.Stratum != 0 || s.Leap != 0 {
				return s, err
			}
			continue // not ours
		}
		s.Offset, s.Delay = Evaluate(t1, t2, t3, t4)
		return s, nil
	}
}

// QueryBest makes n exchanges with server and returns the one with the
// shortest delay, as an NTP client filters its samples: a busy machine
// delays some exchanges, which says nothing of the server's time. It
// fails only when every exchange fails.
func QueryBest(server netip.AddrPort, n int, timeout time.Duration) (Sample, error) {
	var best Sample
	var lastErr error
	found := false
	for i := 0; i < n; i++ {
		s, err := Query(server, timeout)
		if err != nil {
			lastErr = err
			continue
		}
		if !found || s.Delay < best.Delay {
			best, found = s, true
		}
	}
	if !found {
		return Sample{}, lastErr
	}
	return best, nil
}

// enableTimestamps asks the kernel for receive timestamps on c.
func enableTimestamps(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	})
}

// receiveTime returns the kernel receive timestamp in oob, or now when
// there is none.
func receiveTime(oob []byte) time.Time {
	if t, ok := rxstamp.FromControl(oob); ok {
		return t
	}
	return time.Now()
}

// Tracking is the part of chronyc's tracking report the benchmark uses.
type Tracking struct {
	// RefID is the reference ID (0: none; 0x7f7f0101: local).
	RefID uint32
	// Stratum is the daemon's stratum.
	Stratum uint16
	// Leap is the leap status (3: not synchronised).
	Leap uint16
}

// Synchronised reports whether the report shows a reference other than
// the local one.
func (t Tracking) Synchronised() bool {
	return t.RefID != 0 && t.RefID != 0x7f7f0101 && t.Leap != 3
}

// Cmdmon is a client of a daemon's command socket.
type Cmdmon struct {
	conn   *net.UnixConn
	local  string
	client *chrony.Client
}

// DialCmdmon connects to the command socket at path, binding a client
// socket in dir (which must exist).
func DialCmdmon(path, dir string, timeout time.Duration) (*Cmdmon, error) {
	local := filepath.Join(dir, fmt.Sprintf("probe-%d-%d.sock", os.Getpid(), rand.Uint32()))
	conn, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("probe: connecting to %s: %w", path, err)
	}
	c := &Cmdmon{conn: conn, local: local, client: &chrony.Client{Connection: &deadlineConn{conn, timeout}}}
	return c, nil
}

// Close closes the connection and removes the client socket.
func (c *Cmdmon) Close() {
	_ = c.conn.Close()
	_ = os.Remove(c.local)
}

// Tracking asks for the tracking report.
func (c *Cmdmon) Tracking() (Tracking, error) {
	resp, err := c.client.Communicate(chrony.NewTrackingPacket())
	if err != nil {
		return Tracking{}, fmt.Errorf("probe: tracking: %w", err)
	}
	r, ok := resp.(*chrony.ReplyTracking)
	if !ok {
		return Tracking{}, fmt.Errorf("probe: tracking: unexpected reply %T", resp)
	}
	return Tracking{RefID: r.RefID, Stratum: r.Stratum, Leap: r.LeapStatus}, nil
}

// deadlineConn gives every read and write a timeout.
type deadlineConn struct {
	c       *net.UnixConn
	timeout time.Duration
}

func (d *deadlineConn) Read(b []byte) (int, error) {
	_ = d.c.SetReadDeadline(time.Now().Add(d.timeout))
	return d.c.Read(b)
}

func (d *deadlineConn) Write(b []byte) (int, error) {
	_ = d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(b)
}
