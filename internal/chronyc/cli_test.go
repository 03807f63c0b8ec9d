package chronyc

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMainAgainstFakeDaemon(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	path := filepath.Join(dir, "chronyd.sock")
	conn, err := net.ListenPacket("unixgram", path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	serve(t, conn, 0)

	cases := []struct {
		name   string
		args   []string
		stdin  string
		status int
		out    string
		errOut string
	}{
		{"one-shot", []string{"-h", path, "-c", "tracking"}, "", 0,
			"00000000,,7,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,0.0,Normal\n", ""},
		{"end dot", []string{"-e", "-h", path, "-m", "dns -n", "timeout 200"}, "", 0, ".\n.\n", ""},
		{"interactive", []string{"-h", path}, "dns -n\nbogus\nquit\ntracking\n", 0, "", "Unrecognized command\n"},
		{"failure status", []string{"-h", path, "bogus"}, "", 1, "", "Unrecognized command\n"},
		{"no daemon", []string{"-h", filepath.Join(dir, "none.sock"), "tracking"}, "", 1, "",
			"Could not open connection to daemon\n"},
		{"version", []string{"-v"}, "", 0, "chronygoc (chronygo) version " + Version + " (+IPV6 -READLINE +JSON)\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			status := Main("chronygoc", c.args, strings.NewReader(c.stdin), &out, &errOut)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.out, out.String())
			assert.Equal(t, c.errOut, errOut.String())
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, "chronyc.*"))
	assert.Empty(t, left, "client sockets removed")

	var out, errOut bytes.Buffer
	assert.Equal(t, 1, Main("chronygoc", []string{"-Z"}, strings.NewReader(""), &out, &errOut))
	assert.Equal(t, "chronygoc: invalid option -- 'Z'\n", errOut.String())
	assert.Contains(t, out.String(), "Usage: chronygoc [OPTION]... [COMMAND]...")
}
