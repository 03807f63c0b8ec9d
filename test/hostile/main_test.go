package hostile

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// chronygoBinary is the daemon under attack, built once in TestMain.
var chronygoBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		// "go test -list" (scripts/fuzz.sh) needs no daemon.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "chronygo-hostile-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile: temp dir:", err)
		os.Exit(1)
	}
	chronygoBinary = filepath.Join(dir, "chronygo")
	build := exec.Command("go", "build", "-o", chronygoBinary, "../../cmd/chronygo")
	// Without cgo the runtime changes credentials on every thread.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "hostile: building ./cmd/chronygo: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
