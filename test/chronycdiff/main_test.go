package chronycdiff

import (
	"fmt"
	"os"
	"regexp"
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
// the processes still inside them.
func sweepLeftovers() {
	testutil.SweepNetns("chronycdiff", leftoverNamespace.MatchString, "")
}
