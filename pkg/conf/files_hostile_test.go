package conf

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileConfigFiles loads configurations an administrator (or an
// attacker with write access to an included folder) might leave: include
// loops, folders, giant lines, NUL bytes. Load must return within seconds
// without panicking; where the stock chronyd is installed it must accept
// or reject each one as "chronyd -p" does.
func TestHostileConfigFiles(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // name -> content; "main.conf" is loaded
		// dirs are folders to create (relative).
		dirs []string
	}{
		{name: "includes itself", files: map[string]string{"main.conf": "include @/main.conf\n"}},
		{name: "mutual includes", files: map[string]string{
			"main.conf": "include @/b.conf\n", "b.conf": "include @/main.conf\n"}},
		{name: "includes a folder", dirs: []string{"d"}, files: map[string]string{"main.conf": "include @/d\n"}},
		{name: "confdir including its own folder", dirs: []string{"d"}, files: map[string]string{
			"main.conf": "confdir @/d\n", "d/x.conf": "confdir @/d\n"}},
		{name: "glob matching itself", files: map[string]string{"main.conf": "include @/*.conf\n"}},
		{name: "one-megabyte line", files: map[string]string{"main.conf": "server " + strings.Repeat("a", 1<<20) + "\n"}},
		{name: "NUL bytes", files: map[string]string{"main.conf": "server 198.51.100.1\x00 iburst\nport \x00123\n"}},
		{name: "binary garbage", files: map[string]string{"main.conf": "\xff\xfe\x00\x01 \x80\n\x1b[2J\n"}},
		{name: "many directives", files: map[string]string{"main.conf": strings.Repeat("allow 198.51.100.0/24\n", 100000)}},
	}
	chronyd, _ := exec.LookPath("chronyd")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tc.dirs {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
			}
			for name, content := range tc.files {
				content = strings.ReplaceAll(content, "@", dir)
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
			}
			main := filepath.Join(dir, "main.conf")
			done := make(chan error, 1)
			go func() {
				_, err := Load(main, nil)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Load did not return within 20 s")
			}
			if err != nil {
				_, isConfErr := err.(*Error)
				assert.True(t, isConfErr || strings.Contains(err.Error(), main), "error without location: %v", err)
			}
			if chronyd == "" {
				t.Logf("chronyd not installed: not compared (Load error: %v)", err)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, cerr := exec.CommandContext(ctx, chronyd, "-p", "-f", main).CombinedOutput()
			require.NoError(t, ctx.Err(), "chronyd -p did not finish")
			assert.Equal(t, cerr == nil, err == nil, "chronyd -p %s; chronygo: %v", firstLine(out), err)
		})
	}
}

// TestIncludeOfEndlessFileIsBounded includes /dev/zero: chronyd would read
// it forever; Load must give up with an error once the size bound is hit.
func TestIncludeOfEndlessFileIsBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	main := filepath.Join(t.TempDir(), "main.conf")
	require.NoError(t, os.WriteFile(main, []byte("include /dev/zero\n"), 0o644))
	done := make(chan error, 1)
	go func() {
		_, err := Load(main, nil)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "too large")
	case <-time.After(30 * time.Second):
		t.Fatal("Load did not return within 30 s on /dev/zero")
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if s == "" {
		return "succeeded"
	}
	return s
}
