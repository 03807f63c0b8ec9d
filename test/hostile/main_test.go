package hostile

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/chronygo/chronygo/internal/testutil"
)

// chronygoBinary is the daemon under attack, built once in TestMain.
var chronygoBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		// "go test -list" (scripts/fuzz.sh) needs no daemon.
		os.Exit(m.Run())
	}
	bin, cleanup, err := testutil.BuildChronygoTemp("chronygo-hostile-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
	chronygoBinary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}
