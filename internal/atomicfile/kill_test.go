package atomicfile

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writerEnv names the file the helper process rewrites in a loop.
const writerEnv = "ATOMICFILE_TEST_WRITER"

// version is the content of the n-th write: large enough that a write
// takes several system calls, and self-checking through its trailer.
func version(n int) []byte {
	body := bytes.Repeat([]byte(fmt.Sprintf("%08d ", n)), 64<<10/9)
	return append(body, []byte(fmt.Sprintf("\nend %d\n", n))...)
}

// TestHelperWriter is not a test: started by TestKillDuringWrites with
// writerEnv set, it rewrites the file until it is killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		t.Skip("helper process for TestKillDuringWrites")
	}
	for n := 1; n < 1_000_000; n++ {
		if err := Write(path, version(n), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// TestKillDuringWrites kills a process with SIGKILL while it rewrites a
// file over and over (as the daemon rewrites its drift file and dumps):
// whatever the moment of the kill, the file holds one whole version.
func TestKillDuringWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	require.NoError(t, Write(path, version(0), 0o644))
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), writerEnv+"="+path)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(5+round*3) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		checkWhole(t, data)
	}
}

// checkWhole fails unless data is exactly one of the versions.
func checkWhole(t *testing.T, data []byte) {
	t.Helper()
	i := bytes.LastIndex(data, []byte("\nend "))
	require.GreaterOrEqual(t, i, 0, "file without trailer: a torn write")
	n, err := strconv.Atoi(string(bytes.TrimSpace(data[i+5:])))
	require.NoError(t, err, "bad trailer")
	require.Equal(t, version(n), data, "file is not whole version %d", n)
}
