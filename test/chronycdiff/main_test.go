package chronycdiff

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nsTag starts the name of every network namespace this suite creates.
const nsTag = "cd"

// leftoverNamespace matches the names testutil.NewNetns gives this suite's
// namespaces (the tag and eight hex digits).
var leftoverNamespace = regexp.MustCompile(`^` + nsTag + `[0-9a-f]{8}$`)

// chronygoBinary is the chronygo executable built once in TestMain.
var chronygoBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chronygo-chronycdiff-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chronycdiff: temp dir:", err)
		os.Exit(1)
	}
	chronygoBinary = filepath.Join(dir, "chronygo")
	build := exec.Command("go", "build", "-o", chronygoBinary, "../../cmd/chronygo")
	// Without cgo the runtime can change credentials on every thread.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "chronycdiff: building ./cmd/chronygo: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	if os.Geteuid() == 0 {
		sweepLeftovers()
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// sweepLeftovers removes the namespaces of an earlier crashed run, killing
// the processes still inside them (a bounded number of tries).
func sweepLeftovers() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !leftoverNamespace.MatchString(fields[0]) {
			continue
		}
		name := fields[0]
		for i := 0; i < 50; i++ {
			pids, _ := exec.Command("ip", "netns", "pids", name).Output()
			if len(strings.Fields(string(pids))) == 0 {
				break
			}
			for _, p := range strings.Fields(string(pids)) {
				if pid, err := strconv.Atoi(p); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "chronycdiff: sweeping namespace %s: %v: %s\n", name, err, out)
		} else {
			fmt.Fprintf(os.Stderr, "chronycdiff: swept leftover namespace %s\n", name)
		}
	}
}
