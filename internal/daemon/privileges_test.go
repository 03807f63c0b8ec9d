package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropRootHelperEnv makes the test binary act as a helper process that
// drops root and prints its threads' credentials.
const dropRootHelperEnv = "CHRONYGO_TEST_DROP_ROOT_HELPER"

// TestMain lets the test binary serve as the helper process.
func TestMain(m *testing.M) {
	if os.Getenv(dropRootHelperEnv) == "1" {
		os.Exit(dropRootHelper())
	}
	os.Exit(m.Run())
}

// dropRootHelper starts a few busy goroutines (so that the runtime has
// several threads), drops root to nobody keeping CAP_SYS_TIME and
// CAP_NET_BIND_SERVICE, and prints the Uid, Gid and capability lines of
// every thread. It never uses the capabilities.
func dropRootHelper() int {
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := DropRoot(65534, 65534, []int{CapSysTime, CapNetBindService}); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for _, task := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, k := range []string{"Uid:", "Gid:", "CapEff:", "CapPrm:", "CapInh:"} {
				if strings.HasPrefix(line, k) {
					fmt.Println(task.Name(), strings.Join(strings.Fields(line), " "))
				}
			}
		}
	}
	close(stop)
	return 0
}

func TestDropRootKeepsCapSysTimeOnEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root under CI=true")
		}
		t.Skip("needs root")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), dropRootHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Skipf("test binary built with cgo: %s", out)
	}
	require.NoError(t, err, string(out))

	want := fmt.Sprintf("%016x", 1<<CapSysTime|1<<CapNetBindService)
	threads := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 3, line)
		threads[f[0]] = true
		switch f[1] {
		case "Uid:", "Gid:":
			assert.Equal(t, []string{"65534", "65534", "65534", "65534"}, f[2:], line)
		case "CapEff:", "CapPrm:":
			assert.Equal(t, want, f[2], line)
		case "CapInh:":
			assert.Equal(t, fmt.Sprintf("%016x", 0), f[2], line)
		}
	}
	assert.Greater(t, len(threads), 1, "several threads checked")
}
