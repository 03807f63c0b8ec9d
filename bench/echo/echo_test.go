package echo

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEchoesEachDatagram(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Start(ctx, Config{Addrs: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Workers: 2, Batch: 4})
	require.NoError(t, err)
	addrs := srv.Addrs()
	require.Len(t, addrs, 2, "one socket per worker")
	assert.Equal(t, addrs[0].Port(), addrs[1].Port(), "the workers share the port (SO_REUSEPORT)")

	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addrs[0]))
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 64)
	for _, msg := range []string{"a", "hello", "0123456789"} {
		_, err := c.Write([]byte(msg))
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, err := c.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, msg, string(buf[:n]))
	}
	cancel()
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("echo did not stop with its context")
	}
}

func TestStartErrors(t *testing.T) {
	_, err := Start(context.Background(), Config{})
	assert.Error(t, err)
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer busy.Close()
	_, err = Start(context.Background(), Config{Addrs: []netip.AddrPort{busy.LocalAddr().(*net.UDPAddr).AddrPort()}})
	assert.Error(t, err, "a port taken without SO_REUSEPORT")
}
