package conf

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// noFiles is a file system without files, so that fuzzed include and
// confdir lines never read the real one.
type noFiles struct{}

func (noFiles) ReadFile(name string) ([]byte, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
func (noFiles) ReadDirNames(name string) ([]string, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
func (noFiles) Exists(string) bool { return false }

// FuzzParse checks that no input panics or hangs, that errors are *Error
// values with a location, and that an accepted configuration prints to text
// that parses again to the same printout.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdataDir, "*.conf"))
	files = append(files, "../../testdata/chrony.conf")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("server 1.2.3.4 maxdelay 0x1p-3 minpoll -1e\nallow 1.2/8\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseWith(bytes.NewReader(data), "fuzz.conf", noFiles{})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		var first bytes.Buffer
		c.Print(&first)
		again, err := parseWith(bytes.NewReader(first.Bytes()), "again.conf", noFiles{})
		if err != nil {
			t.Fatalf("printed configuration does not parse: %v\n%s", err, first.String())
		}
		var second bytes.Buffer
		again.Print(&second)
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("printout changed:\n%s\n---\n%s", first.String(), second.String())
		}
	})
}
