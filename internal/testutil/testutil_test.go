package testutil

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrivateDirIsPrivate(t *testing.T) {
	dir := PrivateDir(t)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}

func TestWaitFor(t *testing.T) {
	n := 0
	assert.True(t, WaitFor(time.Second, func() bool { n++; return n == 3 }))
	start := time.Now()
	assert.False(t, WaitFor(50*time.Millisecond, func() bool { return false }))
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFreeUDPPorts(t *testing.T) {
	port := FreeUDPPort(t, "127.0.0.1")
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	c.Close()

	both := FreeUDPPortBoth(t)
	assert.Positive(t, both)
}

func TestCheckTestAddressAcceptsDocumentationRanges(t *testing.T) {
	for _, a := range []string{"198.51.100.1/24", "203.0.113.9/32", "2001:db8::1/64"} {
		assert.Equal(t, a, CheckTestAddress(t, a).String())
	}
}

func TestNetnsWithVeth(t *testing.T) {
	a := NewNetns(t, "dm")
	b := NewNetns(t, "dm")
	assert.True(t, strings.HasPrefix(a.Name, "dm"))
	assert.NotEqual(t, a.Name, b.Name)
	AddVeth(t, a, "198.51.100.1/24", b, "198.51.100.2/24")
	// b holds its address and a routes to it through its end of the pair.
	assert.Contains(t, b.IP(t, "-o", "addr", "show"), "198.51.100.2/24")
	out, err := a.Command("ip", "route", "get", "198.51.100.2").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "dev va")
}

func TestStartChronydSafely(t *testing.T) {
	chronyc := RequireTool(t, "chronyc")
	c := StartChronyd(t, nil, "local stratum 9", "cmdport 0", "port 0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chronyc, "-h", c.Socket, "tracking").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "Reference ID")
	assert.FileExists(t, c.PidFile)
}

func TestWaitEveryPausesBetweenCalls(t *testing.T) {
	calls := 0
	start := time.Now()
	assert.True(t, WaitEvery(5*time.Second, 50*time.Millisecond, func() bool { calls++; return calls == 3 }))
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "two pauses of 50 ms")
	assert.False(t, WaitEvery(30*time.Millisecond, 10*time.Millisecond, func() bool { return false }))
}

func TestFillDiskFillsTinyTmpfs(t *testing.T) {
	RequireRoot(t)
	dir := MountTinyTmpfs(t)
	FillDisk(t, filepath.Join(dir, "filler"))
	err := os.WriteFile(filepath.Join(dir, "more"), make([]byte, 4096), 0o600)
	assert.ErrorIs(t, err, syscall.ENOSPC, "the tmpfs is full")
}

func TestNetnsCommandContextIsBounded(t *testing.T) {
	n := NewNetns(t, "dm")
	out, err := n.Command("ip", "-o", "link", "show").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "lo:", "the namespace has only its loopback")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = n.CommandContext(ctx, "sleep", "10").Run()
	assert.Error(t, err, "the sleep was killed")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestTakenUDPPort(t *testing.T) {
	port := TakenUDPPort(t)
	_, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err == nil {
		t.Fatalf("port %d could be bound again", port)
	}
}
