package daemon

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newGroup(t *testing.T) *Group {
	t.Helper()
	g, err := NewGroup()
	require.NoError(t, err)
	t.Cleanup(g.StopAll)
	return g
}

func TestStartNTPWritesConfigAndSafeFlags(t *testing.T) {
	g := newGroup(t)
	// echo prints the command line it was given and exits.
	p, err := g.StartNTP(NTPDaemon{Name: "fake", Binary: "/bin/echo", Directives: []string{"port 11123", "local stratum 10"}})
	require.NoError(t, err)
	err = p.WaitFor(5*time.Second, func() bool { return false })
	assert.ErrorContains(t, err, "fake exited")
	assert.Equal(t, "-d -x -u root -f "+p.Config+"\n", p.Log())

	info, err := os.Stat(p.Dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "chronyd accepts its socket only in a private folder")
	conf, err := os.ReadFile(p.Config)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"pidfile " + p.Dir + "/daemon.pid",
		"bindcmdaddress " + p.Socket,
		"cmdport 0",
		"port 11123",
		"local stratum 10",
	}, strings.Split(strings.TrimSpace(string(conf)), "\n"))
}

func TestWrapperKeepsArguments(t *testing.T) {
	g := newGroup(t)
	p, err := g.StartNTP(NTPDaemon{Name: "wrapped", Binary: "x", Wrapper: []string{"/bin/echo", "taskset"}})
	require.NoError(t, err)
	_ = p.WaitFor(5*time.Second, func() bool { return false })
	assert.True(t, strings.HasPrefix(p.Log(), "taskset x -d -x -u root -f "), p.Log())
}

func TestStopAllEndsEveryProcess(t *testing.T) {
	g, err := NewGroup()
	require.NoError(t, err)
	var procs []*Process
	for i := 0; i < 3; i++ {
		p, err := g.StartHelper("sleeper", "/bin/sleep", "30")
		require.NoError(t, err)
		procs = append(procs, p)
	}
	assert.NoError(t, procs[0].WaitFor(time.Second, func() bool { return true }))
	start := time.Now()
	g.StopAll()
	assert.Less(t, time.Since(start), 5*time.Second)
	for _, p := range procs {
		assert.True(t, p.Exited())
	}
	_, err = os.Stat(g.Root)
	assert.True(t, os.IsNotExist(err), "folders removed")
}

func TestWaitForTimesOut(t *testing.T) {
	g := newGroup(t)
	p, err := g.StartHelper("sleeper", "/bin/sleep", "30")
	require.NoError(t, err)
	err = p.WaitFor(50*time.Millisecond, func() bool { return false })
	assert.ErrorContains(t, err, "not ready within")
}

func TestStartFailsForMissingProgram(t *testing.T) {
	g := newGroup(t)
	_, err := g.StartHelper("missing", "/nonexistent/program")
	assert.Error(t, err)
	_, err = g.StartHelper("nothing")
	assert.Error(t, err)
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{limit: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	assert.Equal(t, "456789ab", b.String())
	assert.Equal(t, "c\nd", lastLines("a\nb\nc\nd\n", 2))
}
