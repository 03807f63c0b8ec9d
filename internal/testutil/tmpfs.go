package testutil

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// MountTinyTmpfs mounts a 16 KiB tmpfs (mode 0700) on a fresh temporary
// folder and unmounts it at cleanup, before the folder is removed. It
// skips (or fails under CI) when mounting is not allowed.
func MountTinyTmpfs(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=16k,mode=0700"); err != nil {
		SkipOrFail(t, "cannot mount a tmpfs on %s (no CAP_SYS_ADMIN?): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes to a new file at path until its file system reports
// ENOSPC, failing the test on any other error or when 1 MiB fits (a
// MountTinyTmpfs holds 16 KiB).
func FillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("filling the disk: %v", err)
	}
	defer func() { _ = f.Close() }()
	chunk := make([]byte, 1024)
	for i := 0; i < 1024; i++ {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
	t.Fatalf("%s: the tmpfs took 1 MiB without ENOSPC", path)
}
