package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Modes of the folders the daemon creates, as chronyd's.
const (
	SocketDirMode os.FileMode = 0o770
	DataDirMode   os.FileMode = 0o750
	parentDirMode os.FileMode = 0o755
)

// CreateDir makes path and its missing parents. Parents get 0755 and stay
// owned by the current user; path itself gets mode and is given to uid/gid.
// An existing folder is left as it is.
func CreateDir(path string, mode os.FileMode, uid, gid int) error {
	path = filepath.Clean(path)
	if path == "." || path == "/" {
		return nil
	}
	if st, err := os.Stat(path); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not directory", path)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), parentDirMode); err != nil {
		return fmt.Errorf("could not create %s : %w", filepath.Dir(path), err)
	}
	if err := os.Mkdir(path, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("could not create %s : %w", path, err)
	}
	// Mkdir applies the umask; set the exact mode.
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("could not change mode of %s : %w", path, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("could not change owner of %s : %w", path, err)
	}
	return nil
}

// CheckDirPermissions verifies, as chronyd does before opening its Unix
// socket, that path is a folder owned by uid/gid with no permission beyond
// perm. The error carries chronyd's wording.
func CheckDirPermissions(path string, perm os.FileMode, uid, gid int) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("Could not access %s : %w", path, err) //lint:ignore ST1005 chronyd's wording
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not directory", path)
	}
	if st.Mode().Perm()&^perm != 0 {
		return fmt.Errorf("Wrong permissions on %s", path) //lint:ignore ST1005 chronyd's wording
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(sys.Uid) != uid {
		return fmt.Errorf("Wrong owner of %s (UID != %d)", path, uid) //lint:ignore ST1005 chronyd's wording
	}
	if int(sys.Gid) != gid {
		return fmt.Errorf("Wrong owner of %s (GID != %d)", path, gid) //lint:ignore ST1005 chronyd's wording
	}
	return nil
}
