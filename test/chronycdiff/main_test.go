package chronycdiff

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/chronygo/chronygo/internal/testutil"
)

// nsTag starts the name of every network namespace this suite creates.
const nsTag = "cd"

// leftoverNamespace matches the names testutil.NewNetns gives this suite's
// namespaces (the tag and eight hex digits).
var leftoverNamespace = regexp.MustCompile(`^` + nsTag + `[0-9a-f]{8}$`)

// chronygoBinary is the chronygo executable built once in TestMain.
var chronygoBinary string

func TestMain(m *testing.M) {
	bin, cleanup, err := testutil.BuildChronygoTemp("chronygo-chronycdiff-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chronycdiff:", err)
		os.Exit(1)
	}
	chronygoBinary = bin
	if os.Geteuid() == 0 {
		sweepLeftovers()
	}
	code := m.Run()
	cleanup()
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
		testutil.KillNetnsProcesses("ip", name)
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "chronycdiff: sweeping namespace %s: %v: %s\n", name, err, out)
		} else {
			fmt.Fprintf(os.Stderr, "chronycdiff: swept leftover namespace %s\n", name)
		}
	}
}
