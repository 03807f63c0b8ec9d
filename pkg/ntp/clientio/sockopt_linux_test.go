//go:build linux

package clientio

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// getSockOpts reads the traffic class / TOS and bound device of a
// request socket.
func getSockOpts(t *testing.T, sock *requestSocket, v6 bool) (int, string) {
	t.Helper()
	var tos int
	var err error
	if v6 {
		tos, err = unix.GetsockoptInt(sock.fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS)
	} else {
		tos, err = unix.GetsockoptInt(sock.fd, unix.IPPROTO_IP, unix.IP_TOS)
	}
	require.NoError(t, err)
	dev, err := unix.GetsockoptString(sock.fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
	require.NoError(t, err)
	return tos, dev
}
