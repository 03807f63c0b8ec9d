package main

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/testutil"
)

// serveReady starts chronygo in the foreground (-n -x, logging to p.log)
// and returns once it has sent READY=1 to a private notification socket.
// ns, when not nil, is the network namespace to run in.
func serveReady(t *testing.T, ns *testutil.Netns, p private) *exec.Cmd {
	t.Helper()
	addr := filepath.Join(p.dir, "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	args := []string{"-n", "-x", "-l", p.log, "-f", p.conf}
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(binary, args...)
	} else {
		cmd = exec.Command(binary, args...)
	}
	cmd.Env = append(cmd.Environ(), "NOTIFY_SOCKET="+addr)
	startCmd(t, cmd)
	require.NoError(t, l.SetReadDeadline(time.Now().Add(15*time.Second)))
	buf := make([]byte, 64)
	n, err := l.Read(buf)
	require.NoError(t, err, "no READY=1; log:\n%s", readLog(p.log))
	require.Equal(t, "READY=1", string(buf[:n]))
	return cmd
}

// runTool runs a client tool to completion, bounded to 30 s.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

func TestChronycTrackingShowsLocalReference(t *testing.T) {
	testutil.RequireRoot(t)
	chronyc := testutil.RequireTool(t, "chronyc")
	cmdPort := testutil.FreeUDPPort(t, "127.0.0.1")
	p := newPrivate(t, "local stratum 10", "cmdport "+strconv.Itoa(cmdPort), "bindcmdaddress 127.0.0.1")
	serveReady(t, nil, p)

	tests := []struct {
		name string
		args []string
	}{
		{"unix socket", []string{"-h", p.sock, "tracking"}},
		{"udp", []string{"-h", "127.0.0.1", "-p", strconv.Itoa(cmdPort), "tracking"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runTool(t, chronyc, tt.args...)
			require.NoError(t, err, out)
			assert.Contains(t, out, "Reference ID    : 7F7F0101 ()")
			assert.Contains(t, out, "Stratum         : 10\n")
			assert.Contains(t, out, "Leap status     : Normal")
		})
	}
}

func TestServesNTPToChronyd(t *testing.T) {
	testutil.RequireRoot(t)
	chronyd := testutil.RequireTool(t, "chronyd")
	port := testutil.FreeUDPPort(t, "127.0.0.1")
	p := newPrivate(t, "local stratum 10", "bindaddress 127.0.0.1", "port "+strconv.Itoa(port), "allow 127.0.0.1")
	serveReady(t, nil, p)
	// chronyd -Q measures once and never touches the clock.
	out, err := runTool(t, chronyd, "-Q", "-t", "10", "server 127.0.0.1 port "+strconv.Itoa(port)+" iburst maxsamples 1")
	require.NoError(t, err, out)
	assert.Regexp(t, `System clock wrong by -?\d+\.\d+ seconds \(ignored\)`, out)
}

func TestServesLocalStratumToSntpInNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	sntp := testutil.RequireTool(t, "sntp")
	ns := testutil.NewNetns(t, "dm")
	// sntp only talks to port 123: serve it inside a private namespace.
	p := newPrivate(t, "local stratum 7", "port 123", "allow 127.0.0.1")
	serveReady(t, ns, p)
	out, err := ns.Command(sntp, "-t", "5", "127.0.0.1").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), " s7 ", "stratum 7 as configured")
	assert.Contains(t, string(out), "no-leap")
}
