package testutil

import (
	"net"
	"testing"
)

// FreeUDPPort returns a UDP port that was free on the loopback address
// host ("127.0.0.1" or "::1") a moment ago. Another process may take it
// before the caller binds it; tests should tolerate a retry.
func FreeUDPPort(t testing.TB, host string) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Fatalf("finding a free UDP port on %s: %v", host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FreeUDPPortBoth returns a UDP port free on both 127.0.0.1 and ::1, for
// daemons that bind both families. It tries a bounded number of ports.
func FreeUDPPortBoth(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		c4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("finding a free UDP port: %v", err)
		}
		port := c4.LocalAddr().(*net.UDPAddr).Port
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: port})
		c4.Close()
		if err == nil {
			c6.Close()
			return port
		}
	}
	t.Fatalf("no UDP port free on both 127.0.0.1 and ::1 after 50 tries")
	return 0
}

// TakenUDPPort binds a UDP port on 127.0.0.1 without SO_REUSEPORT and
// holds it until the test ends, so that a daemon's attempt to bind it
// fails; it returns the port.
func TakenUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("taking a UDP port: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}
