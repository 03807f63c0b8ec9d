//go:build linux

package clientio

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// getSockOpts reads the traffic class / TOS and bound device of conn.
func getSockOpts(t *testing.T, conn *net.UDPConn, v6 bool) (int, string) {
	t.Helper()
	raw, err := conn.SyscallConn()
	require.NoError(t, err)
	var tos int
	var dev string
	var gerr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		if v6 {
			tos, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS)
		} else {
			tos, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS)
		}
		if gerr == nil {
			dev, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		}
	}))
	require.NoError(t, gerr)
	return tos, dev
}
