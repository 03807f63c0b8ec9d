package conf

import (
	"fmt"
	"io"
)

// Print writes the configuration as chronyd -p does: every directive line
// read, in order, with white space normalised and comments dropped; the
// include and confdir lines themselves are replaced by the lines of the files
// they read. It stops at the first write error.
func (c *Config) Print(w io.Writer) {
	for _, l := range c.lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return
		}
	}
}
