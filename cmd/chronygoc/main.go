// Command chronygoc is a drop-in replacement for chronyc, chrony's command
// client, that also prints reports as JSON (-o json). It talks to chronygo
// or to any chronyd 4.x. See docs/chronygoc.md.
package main

import (
	"os"
	"path/filepath"

	"github.com/chronygo/chronygo/internal/chronyc"
)

func main() {
	os.Exit(chronyc.Main(filepath.Base(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
