package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// modulePath is the path go.mod declares for this module.
const modulePath = "github.com/chronygo/chronygo"

// ModuleRoot returns the folder holding this module's go.mod, searching
// from the working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(string(data)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding module root: no go.mod of " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

// declaresModule reports whether a go.mod text declares this module.
func declaresModule(goMod string) bool {
	for _, line := range strings.Split(goMod, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// BuildCommand builds the command package pkg of this module (a path
// relative to the module root such as "./cmd/chronygoc") into dir, without
// cgo (so that the runtime can change credentials on every thread) and with
// -trimpath, and returns the executable's path (dir plus the package's last
// element).
func BuildCommand(dir, pkg string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(dir, path.Base(pkg)))
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// BuildChronygo builds ./cmd/chronygo into dir (see BuildCommand) and
// returns the executable's path.
func BuildChronygo(dir string) (string, error) {
	return BuildCommand(dir, "./cmd/chronygo")
}

// BuildChronygoTemp is BuildChronygo for a TestMain, which has no
// testing.TB: it builds into a fresh temporary folder named after prefix
// and returns the executable's path and a function removing that folder.
// On error nothing is left behind.
func BuildChronygoTemp(prefix string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("building chronygo: temp dir: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	bin, err = BuildChronygo(dir)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return bin, cleanup, nil
}
