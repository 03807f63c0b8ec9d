package daemon

import (
	"fmt"
	"net"
)

// NotifySocketEnv names the environment variable through which systemd
// (Type=notify) passes its notification socket.
const NotifySocketEnv = "NOTIFY_SOCKET"

// Service manager states sent through the notification socket.
const (
	NotifyReady    = "READY=1"
	NotifyStopping = "STOPPING=1"
)

// SystemdNotify sends state to the service manager's datagram socket at
// path, as sd_notify(3) does. A path starting with '@' names an abstract
// socket. An empty path means no service manager is listening: nothing is
// sent and no error returned.
func SystemdNotify(path, state string) error {
	if path == "" {
		return nil
	}
	if path[0] != '/' && path[0] != '@' {
		return fmt.Errorf("unsupported notification socket %q", path)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("could not send notification to $%s: %w", NotifySocketEnv, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("could not send notification to $%s: %w", NotifySocketEnv, err)
	}
	return nil
}
