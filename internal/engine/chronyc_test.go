package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chronygo/chronygo/internal/engine"
)

// TestStockChronycReadsTheEngine answers Debian's chronyc from an engine
// synchronised on virtual time, through the real command server on a
// private Unix socket.
func TestStockChronycReadsTheEngine(t *testing.T) {
	requireStockChronyc(t)
	s, n := world(t, 3, 1, "", nil)
	s.Run(2000)
	sock := serveCommands(t, engine.NewControl(n.Engine(), lockedCaller(), nil))

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"tracking"}, []string{"Reference ID    : CB0071", "Stratum         : 2", "Leap status     : Normal"}},
		{[]string{"-n", "sources"}, []string{"^x 203.0.113.1", "203.0.113.2", "203.0.113.3", "377"}},
		{[]string{"-n", "sourcestats"}, []string{"203.0.113.2"}},
		{[]string{"-n", "selectdata"}, []string{"x 203.0.113.1"}},
		{[]string{"-n", "ntpdata", "203.0.113.2"}, []string{"Remote address  : 203.0.113.2", "Stratum         : 1"}},
		{[]string{"activity"}, []string{"3 sources online"}},
		{[]string{"-n", "sourcename", "203.0.113.3"}, []string{"203.0.113.3"}},
		{[]string{"reselect"}, []string{"200 OK"}},
		{[]string{"burst", "2/4"}, []string{"200 OK"}},
		{[]string{"minpoll", "203.0.113.3", "5"}, []string{"200 OK"}},
		{[]string{"delete", "203.0.113.9"}, []string{"503 No such source"}},
	}
	for _, tc := range tests {
		t.Run(tc.args[len(tc.args)-1], func(t *testing.T) {
			out := stockChronyc(t, sock, tc.args...)
			for _, w := range tc.want {
				assert.Contains(t, out, w, "chronyc %v", tc.args)
			}
		})
	}
}
