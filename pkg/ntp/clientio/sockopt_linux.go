//go:build linux

package clientio

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// socketOptions are the options set on a client socket before bind.
type socketOptions struct {
	dscp   int
	device string
	ipv6   bool
	// kernelTx asks for software transmit timestamps on the error queue.
	kernelTx bool
}

// control returns a net.Dialer/ListenConfig Control function setting the
// options: kernel RX timestamps (SO_TIMESTAMPNS), software TX timestamps
// (SO_TIMESTAMPING), DSCP and the bound device.
func (o socketOptions) control(_, _ string, c syscall.RawConn) error {
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
		if o.dscp > 0 {
			tos := (o.dscp & 0x3f) << 2
			if o.ipv6 {
				serr = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
			} else {
				serr = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_TOS, tos)
			}
			if serr != nil {
				serr = fmt.Errorf("dscp %d: %w", o.dscp, serr)
				return
			}
		}
		if o.device != "" {
			if serr = unix.BindToDevice(s, o.device); serr != nil {
				serr = fmt.Errorf("bind to device %s: %w", o.device, serr)
				return
			}
		}
		if o.ipv6 {
			_ = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			_ = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		} else {
			_ = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// rxTimestamp extracts the kernel receive timestamp from control data.
func rxTimestamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_TIMESTAMPNS, unix.SCM_TIMESTAMPING:
			if len(m.Data) >= 16 {
				return timespecAt(m.Data, 0), true
			}
		}
	}
	return time.Time{}, false
}

// timespecAt decodes the i-th struct timespec (64-bit fields) of b.
// localAddress extracts the destination address of a received packet
// from IP_PKTINFO / IPV6_PKTINFO control data.
func localAddress(oob []byte) (netip.Addr, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}, false
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= 12:
			// struct in_pktinfo: ifindex, spec_dst, addr
			return netip.AddrFrom4([4]byte(m.Data[8:12])), true
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= 16:
			return netip.AddrFrom16([16]byte(m.Data[0:16])), true
		}
	}
	return netip.Addr{}, false
}

func timespecAt(b []byte, i int) time.Time {
	sec := int64(binary.NativeEndian.Uint64(b[i*16:]))
	nsec := int64(binary.NativeEndian.Uint64(b[i*16+8:]))
	return time.Unix(sec, nsec)
}

// readTxTimestamp polls the socket's error queue for the software
// transmit timestamp of the packet just sent, for at most wait.
func readTxTimestamp(c syscall.RawConn, wait time.Duration) (time.Time, bool) {
	buf := make([]byte, 64)
	oob := make([]byte, 512)
	deadline := time.Now().Add(wait)
	for i := 0; i < 100; i++ {
		var got time.Time
		var ok bool
		_ = c.Control(func(fd uintptr) {
			_, oobn, _, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return
			}
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return
			}
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPING && len(m.Data) >= 16 {
					if t := timespecAt(m.Data, 0); t.Unix() != 0 {
						got, ok = t, true
					}
				}
			}
		})
		if ok {
			return got, true
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			break
		}
		waitErrQueue(c, remaining)
	}
	return time.Time{}, false
}

// waitErrQueue blocks until the socket's error queue holds an entry (poll
// reports POLLERR) or d has passed, instead of sleeping and retrying: one
// wakeup when the timestamp arrives and no runtime timer.
func waitErrQueue(c syscall.RawConn, d time.Duration) {
	_ = c.Control(func(fd uintptr) {
		ts := unix.NsecToTimespec(d.Nanoseconds())
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		_, _ = unix.Ppoll(fds, &ts, nil)
	})
}

// isIPv6 tells which family a remote address needs.
func isIPv6(a netip.Addr) bool { return !a.Unmap().Is4() }
