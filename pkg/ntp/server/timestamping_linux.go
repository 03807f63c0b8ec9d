//go:build linux

package server

import (
	"encoding/binary"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// timestamping is how a server socket gets its kernel timestamps.
type timestamping uint8

const (
	// timestampRxOnly: SO_TIMESTAMPNS receive timestamps only; transmit
	// times are the daemon's own readings.
	timestampRxOnly timestamping = iota
	// timestampPerPacket: SO_TIMESTAMPING receive timestamps, and a
	// kernel transmit timestamp requested per response with a control
	// message, only for the responses whose transmit time interleaved
	// mode may need (chronyd's way on Linux 4.7 and later).
	timestampPerPacket
	// timestampAllTx: SO_TIMESTAMPING with transmit timestamps of every
	// datagram (kernels before 4.7 ignore the per-message request).
	timestampAllTx
)

// The SO_TIMESTAMPING flags of a server socket: software receive
// timestamps, reporting of software timestamps, an ID per transmit
// timestamp and no copy of the sent datagram on the error queue.
const timestampingReport = unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
	unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY

// txRequestSpace is the room of the control message that requests a
// transmit timestamp for one datagram (a 32-bit flag word).
var txRequestSpace = cmsgAlign(unix.SizeofCmsghdr) + cmsgAlign(4)

// enableTimestamping turns on the kernel timestamps of a server socket,
// preferring SO_TIMESTAMPING (one control message per received datagram)
// and falling back to SO_TIMESTAMPNS.
func enableTimestamping(fd int) (timestamping, error) {
	flags, mode := timestampingReport, timestampPerPacket
	if !kernelAtLeast(unameRelease(), 4, 7) {
		flags, mode = flags|unix.SOF_TIMESTAMPING_TX_SOFTWARE, timestampAllTx
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags) == nil {
		return mode, nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return timestampRxOnly, &net.OpError{Op: "setsockopt SO_TIMESTAMPNS", Err: err}
	}
	return timestampRxOnly, nil
}

// unameRelease returns the kernel release ("6.1.0-13-amd64"), or "" when
// it cannot be read.
func unameRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelAtLeast reports whether a kernel release string is at least
// major.minor (false when it cannot be parsed).
func kernelAtLeast(release string, major, minor int) bool {
	fields := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(fields) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(fields[0])
	mi, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// putTxRequest writes the control message that asks the kernel for a
// software transmit timestamp of one datagram and returns its length;
// b must hold txRequestSpace octets.
func putTxRequest(b []byte) int {
	clear(b[:txRequestSpace])
	l := cmsgAlign(unix.SizeofCmsghdr) + 4
	if unix.SizeofPtr == 8 {
		binary.NativeEndian.PutUint64(b[0:8], uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b[0:4], uint32(l))
	}
	binary.NativeEndian.PutUint32(b[unix.SizeofPtr:], uint32(unix.SOL_SOCKET))
	binary.NativeEndian.PutUint32(b[unix.SizeofPtr+4:], uint32(unix.SO_TIMESTAMPING))
	binary.NativeEndian.PutUint32(b[cmsgAlign(unix.SizeofCmsghdr):], unix.SOF_TIMESTAMPING_TX_SOFTWARE)
	return txRequestSpace
}
