//go:build linux

package clientio

import (
	"encoding/binary"
	"fmt"
	"net/netip"
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
	// reusePort shares the bound port with other sockets (SO_REUSEADDR
	// and SO_REUSEPORT), as symmetric peers' sockets share the server's.
	reusePort bool
}

// apply sets the options on a request socket before it is bound: kernel
// RX timestamps (SO_TIMESTAMPNS), software TX timestamps (SO_TIMESTAMPING),
// packet info, DSCP and the bound device.
func (o socketOptions) apply(fd int) error {
	if o.reusePort {
		for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
			if err := rawSetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
				return fmt.Errorf("sharing the port: %w", err)
			}
		}
	}
	if err := rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	if o.kernelTx {
		flags := unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
			unix.SOF_TIMESTAMPING_OPT_TSONLY
		// Not fatal: the daemon timestamp is used instead.
		_ = rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags)
	}
	if o.dscp > 0 {
		tos := (o.dscp & 0x3f) << 2
		var err error
		if o.ipv6 {
			err = rawSetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
		} else {
			err = rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos)
		}
		if err != nil {
			return fmt.Errorf("dscp %d: %w", o.dscp, err)
		}
	}
	if o.device != "" {
		if err := rawBindToDevice(fd, o.device); err != nil {
			return fmt.Errorf("bind to device %s: %w", o.device, err)
		}
	}
	if o.ipv6 {
		_ = rawSetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		_ = rawSetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	} else {
		_ = rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
	}
	return nil
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

// txTimestamp reads the software transmit timestamp of the packet just
// sent on fd from its error queue, waiting for it at most wait. On
// loopback and most drivers it is already there when the send returns.
// buf and oob are scratch space.
func txTimestamp(fd int, wait time.Duration, buf, oob []byte) (time.Time, bool) {
	deadline := time.Now().Add(wait)
	for range 100 {
		if t, ok := errQueueTimestamp(fd, buf, oob); ok {
			return t, true
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			break
		}
		waitErrQueue(fd, remaining)
	}
	return time.Time{}, false
}

// errQueueTimestamp takes one entry of the error queue, without waiting,
// and returns the transmit timestamp it carries.
func errQueueTimestamp(fd int, buf, oob []byte) (time.Time, bool) {
	_, oobn, err := rawRecvmsg(fd, buf, oob, nil, unix.MSG_ERRQUEUE)
	if err != nil {
		return time.Time{}, false
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPING && len(m.Data) >= 16 {
			if t := timespecAt(m.Data, 0); t.Unix() != 0 {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// waitErrQueue blocks until the socket's error queue holds an entry (poll
// reports POLLERR) or d has passed, instead of sleeping and retrying: one
// wakeup when the timestamp arrives and no runtime timer.
func waitErrQueue(fd int, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
	_, _ = unix.Ppoll(fds, &ts, nil)
}

// isIPv6 tells which family a remote address needs.
func isIPv6(a netip.Addr) bool { return !a.Unmap().Is4() }
