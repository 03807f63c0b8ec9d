package cmdmon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenUDP opens a UDP command socket on ap, bound to the network
// interface device first when it is not "" (bindcmddevice), as chronyd
// binds the device before the address.
func listenUDP(network string, ap netip.AddrPort, device string) (*net.UDPConn, error) {
	lc := net.ListenConfig{}
	if device != "" {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var sockErr error
			if err := c.Control(func(fd uintptr) {
				sockErr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, device)
			}); err != nil {
				return err
			}
			if sockErr != nil {
				return fmt.Errorf("binding to device %s: %w", device, sockErr)
			}
			return nil
		}
	}
	pc, err := lc.ListenPacket(context.Background(), network, ap.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
