// Command directives prints the table of chrony.conf directives and
// chronygo's support for each, generated from internal/daemon's table, or
// with -readme FILE rewrites that table in place between the markers
// "<!-- directives:begin -->" and "<!-- directives:end -->".
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/chronygo/chronygo/internal/daemon"
)

func main() {
	readme := flag.String("readme", "", "rewrite the table in this Markdown file")
	flag.Parse()
	var table bytes.Buffer
	if err := daemon.WriteDirectiveTable(&table); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *readme == "" {
		os.Stdout.Write(table.Bytes())
		return
	}
	data, err := os.ReadFile(*readme)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := daemon.ReplaceDirectiveTable(data, table.Bytes())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *readme, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*readme, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
