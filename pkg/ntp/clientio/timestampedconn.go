//go:build linux

package clientio

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// TimestampedConn reads and writes a connected UDP socket opened
// elsewhere (a symmetric peer's socket sharing the NTP server's port) with
// the same timestamping as the shell's client sockets: kernel receive
// timestamps from control messages and, when asked, software transmit
// timestamps from the error queue, falling back to the daemon's clock.
// Times it returns are raw clock times; the caller cooks them.
type TimestampedConn struct {
	conn     *net.UDPConn
	raw      syscall.RawConn
	now      func() time.Time
	kernelTx bool
	local    netip.Addr
}

// NewTimestampedConn enables kernel receive timestamps, packet info and,
// with kernelTx, software transmit timestamps on conn, which must be
// connected. now reads the raw clock for the fallback timestamps (nil
// means time.Now). The caller keeps owning conn and closes it.
func NewTimestampedConn(conn *net.UDPConn, kernelTx bool, now func() time.Time) (*TimestampedConn, error) {
	if now == nil {
		now = time.Now
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("timestamped socket: %w", err)
	}
	local := netip.Addr{}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		local = la.AddrPort().Addr().Unmap()
	}
	v6 := local.IsValid() && !local.Is4()
	if ra, ok := conn.RemoteAddr().(*net.UDPAddr); ok {
		v6 = isIPv6(ra.AddrPort().Addr())
	}
	opts := socketOptions{ipv6: v6, kernelTx: kernelTx}
	if err := opts.enableTimestamps(raw); err != nil {
		return nil, err
	}
	return &TimestampedConn{conn: conn, raw: raw, now: now, kernelTx: kernelTx, local: local}, nil
}

// Write sends payload and returns its raw transmit time and where it
// came from: the kernel's software timestamp when one arrives within a
// millisecond, else the clock read just before sending.
func (c *TimestampedConn) Write(payload []byte) (time.Time, source.TimestampSource, error) {
	if c.kernelTx {
		// A timestamp left over from an earlier send must not be taken
		// for this one's.
		drainErrQueue(c.raw)
	}
	before := c.now()
	if _, err := c.conn.Write(payload); err != nil {
		return time.Time{}, 0, fmt.Errorf("sending to %s: %w", c.conn.RemoteAddr(), err)
	}
	if c.kernelTx {
		if kt, ok := readTxTimestamp(c.raw, txTimestampWait); ok {
			return kt, source.TimestampKernel, nil
		}
	}
	return before, source.TimestampDaemon, nil
}

// Read waits for one datagram, copies it into buf and returns its length
// and receive information: the kernel timestamp from the control message
// when present (Source TimestampKernel), else the clock read after the
// datagram was returned; Info.Time is raw, not cooked.
func (c *TimestampedConn) Read(buf []byte) (int, source.RxInfo, error) {
	oob := make([]byte, 512)
	n, oobn, _, _, err := c.conn.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return 0, source.RxInfo{}, err
	}
	return n, c.rxInfo(oob[:oobn]), nil
}

// rxInfo builds the receive information of a datagram from its control
// data.
func (c *TimestampedConn) rxInfo(oob []byte) source.RxInfo {
	info := source.RxInfo{Source: source.TimestampDaemon, Local: c.local}
	if dst, ok := localAddress(oob); ok {
		info.Local = dst.Unmap()
	}
	if kt, ok := rxTimestamp(oob); ok {
		info.Time, info.Source = kt, source.TimestampKernel
	} else {
		info.Time = c.now()
	}
	return info
}

// enableTimestamps sets the timestamping and packet-info options of
// o.control on a socket that is already bound.
func (o socketOptions) enableTimestamps(c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		s := int(fd)
		if serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); serr != nil {
			serr = fmt.Errorf("SO_TIMESTAMPNS: %w", serr)
			return
		}
		if o.kernelTx {
			flags := unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
				unix.SOF_TIMESTAMPING_OPT_TSONLY
			// Not fatal: the daemon timestamp is used instead.
			_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags)
		}
		if o.ipv6 {
			_ = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		} else {
			_ = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
	})
	if err != nil {
		return fmt.Errorf("timestamped socket: %w", err)
	}
	return serr
}

// drainErrQueue discards what waits on the socket's error queue (at most
// a few entries, without blocking).
func drainErrQueue(c syscall.RawConn) {
	buf := make([]byte, 64)
	oob := make([]byte, 512)
	_ = c.Control(func(fd uintptr) {
		for range 16 {
			if _, _, _, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); err != nil {
				return
			}
		}
	})
}
