package wiring

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/internal/daemon"
	"github.com/chronygo/chronygo/internal/testutil"
	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
)

// fakeEngine stands in for the engine to check how it is plugged in.
type fakeEngine struct {
	in           EngineInputs
	synchronised bool
}

func (f *fakeEngine) Name() string                                 { return "fake engine" }
func (f *fakeEngine) Start(context.Context) error                  { return nil }
func (f *fakeEngine) Close() error                                 { return nil }
func (f *fakeEngine) Handler() cmdmon.Handler                      { return f.in.Fallback }
func (f *fakeEngine) Synchronised() bool                           { return f.synchronised }
func (f *fakeEngine) PeerPacket([]byte, netip.AddrPort, time.Time) {}
func (f *fakeEngine) KnownPeer(netip.Addr) bool                    { return false }

func names(cs []daemon.Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}

func loadLines(t *testing.T, lines ...string) *wired {
	t.Helper()
	cfg, err := conf.Load("", lines)
	require.NoError(t, err)
	return &wired{cfg: cfg, lookup: func(context.Context, string, string) ([]netip.Addr, error) {
		return nil, errors.New("no DNS in this test")
	}}
}

func TestBuildWithoutEngine(t *testing.T) {
	w := loadLines(t, "local stratum 10", "port 0", "cmdport 0", "allow 198.51.100.0/24")
	comps, err := w.build(daemon.Resources{Log: logrus.New()})
	require.NoError(t, err)
	assert.Equal(t, []string{"NTP server", "local reference", "command UDP sockets"}, names(comps.Privileged))
	assert.Equal(t, []string{"command socket"}, names(comps.Unprivileged))
	snap := w.ref.Load()
	require.NotNil(t, snap)
	assert.Equal(t, discipline.LocalRefID, snap.RefID)
	assert.True(t, w.synchronised(), "the local reference counts as synchronised for -t")
}

func TestBuildWithEngine(t *testing.T) {
	w := loadLines(t, "port 0", "cmdport 0")
	var fake *fakeEngine
	w.engineFactory = func(in EngineInputs) (Engine, error) {
		fake = &fakeEngine{in: in, synchronised: true}
		return fake, nil
	}
	comps, err := w.build(daemon.Resources{Log: logrus.New()})
	require.NoError(t, err)
	assert.Equal(t, []string{"NTP server", "fake engine", "command UDP sockets"}, names(comps.Privileged))
	require.NotNil(t, fake)
	assert.Same(t, &w.ref, fake.in.Reference, "the engine publishes into the pointer the server reads")
	assert.Equal(t, discipline.LeapUnsynchronised, fake.in.Reference.Load().Leap, "initial snapshot in place")
	assert.NotNil(t, fake.in.Fallback)
	ntp := comps.Privileged[0].(*ntpServer)
	assert.NotNil(t, ntp.cfg.Peer, "peer packets go to the engine")
	assert.NotNil(t, ntp.cfg.KnownPeer)
	assert.Same(t, &w.ref, ntp.cfg.Reference)
	assert.True(t, w.synchronised(), "-t asks the engine")

	w.engineFactory = func(EngineInputs) (Engine, error) { return nil, errors.New("boom") }
	_, err = w.build(daemon.Resources{Log: logrus.New()})
	assert.EqualError(t, err, "boom")
}

func TestBuildRefusesUnresolvableHost(t *testing.T) {
	w := loadLines(t, "port 0", "cmdport 0", "allow ntp.invalid")
	_, err := w.build(daemon.Resources{Log: logrus.New()})
	assert.EqualError(t, err, "Could not resolve address of ntp.invalid in allow directive")
}

func TestNewLoader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chrony.conf")
	require.NoError(t, os.WriteFile(path, []byte("pidfile /tmp/x.pid\nuser nobody\nlock_all\nsched_priority 5\nport 11123\nrtcsync\n"), 0o644))
	loaded, err := NewLoader(nil)(path, nil)
	require.NoError(t, err)
	s := loaded.Settings
	assert.Equal(t, "/tmp/x.pid", s.PidFile)
	assert.Equal(t, "nobody", s.User)
	assert.True(t, s.LockAll)
	assert.Equal(t, 5, s.SchedPriority)
	assert.Equal(t, 11123, s.NTPPort)
	assert.Equal(t, conf.DefaultCmdSocket, s.BindCmdPath)
	assert.Contains(t, s.Directives, "rtcsync")
	var out strings.Builder
	require.NoError(t, loaded.Print(&out))
	assert.Contains(t, out.String(), "rtcsync")

	_, err = NewLoader(nil)(path, []string{"nosuchdirective"})
	var confErr *conf.Error
	require.ErrorAs(t, err, &confErr)
	assert.Equal(t, 1, confErr.Line)
}

// awaitingEngine is a fake engine whose RTC fine setting ends when done is
// closed.
type awaitingEngine struct {
	fakeEngine
	done chan struct{}
}

func (a *awaitingEngine) AwaitFineSetting(ctx context.Context) error {
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestReadinessWaitsForFineSetting: the last component started (and so the
// readiness notification, which follows the components) waits for the
// engine's RTC fine setting, after the command socket is open.
func TestReadinessWaitsForFineSetting(t *testing.T) {
	w := loadLines(t, "port 0", "cmdport 0")
	eng := &awaitingEngine{done: make(chan struct{})}
	w.engineFactory = func(in EngineInputs) (Engine, error) {
		eng.in = in
		return eng, nil
	}
	comps, err := w.build(daemon.Resources{Log: logrus.New()})
	require.NoError(t, err)
	require.Equal(t, []string{"command socket", "RTC fine setting"}, names(comps.Unprivileged))
	wait := comps.Unprivileged[1]

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, wait.Start(short), context.DeadlineExceeded, "start-up held while the fine setting runs")
	close(eng.done)
	assert.NoError(t, wait.Start(context.Background()), "start-up goes on once it ended")
	assert.NoError(t, wait.Close())
}

// TestCommandSocketsNotFatal: as chronyd, a command socket that cannot be
// opened is logged and the daemon runs on without it.
func TestCommandSocketsNotFatal(t *testing.T) {
	port := testutil.TakenUDPPort(t)
	// A socket path longer than sun_path cannot be bound.
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o750))
	sock := filepath.Join(dir, strings.Repeat("s", 120)+".sock")
	w := loadLines(t, "local stratum 10", "port 0", "cmdport "+strconv.Itoa(port), "bindcmdaddress "+sock)
	log, hook := logtest.NewNullLogger()
	comps, err := w.build(daemon.Resources{Log: log, Options: daemon.Options{Family: daemon.FamilyIPv4},
		UID: os.Getuid(), GID: os.Getgid(), CmdSocketAllowed: true})
	require.NoError(t, err)
	for _, c := range append(comps.Privileged, comps.Unprivileged...) {
		if strings.HasPrefix(c.Name(), "command") {
			assert.NoError(t, c.Start(context.Background()), "%s", c.Name())
			defer c.Close()
		}
	}
	var msgs []string
	for _, e := range hook.AllEntries() {
		msgs = append(msgs, e.Message)
	}
	assert.Contains(t, msgs, "Could not open command socket on 127.0.0.1:"+strconv.Itoa(port))
	assert.Contains(t, msgs, "Could not open command socket on "+sock)
}

// TestNTPSocketsRequiredOnlyWithSharedPort: chronyd exits when no NTP
// socket opens only if its client requests share the server's port.
func TestNTPSocketsRequiredOnlyWithSharedPort(t *testing.T) {
	tests := []struct {
		lines []string
		want  bool
	}{
		{[]string{"port 11125"}, false},
		{[]string{"port 11125", "acquisitionport 11126"}, false},
		{[]string{"port 11125", "acquisitionport 11125"}, true},
		{[]string{"port 0", "acquisitionport 0"}, false},
	}
	for _, tt := range tests {
		w := loadLines(t, append([]string{"cmdport 0", "local stratum 10"}, tt.lines...)...)
		comps, err := w.build(daemon.Resources{Log: logrus.New()})
		require.NoError(t, err)
		assert.Equal(t, tt.want, comps.Privileged[0].(*ntpServer).cfg.SocketsRequired, "%v", tt.lines)
	}
}
