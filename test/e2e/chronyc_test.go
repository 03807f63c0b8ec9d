package e2e

import (
	"github.com/chronygo/chronygo/internal/testutil"
)

// chronyc runs the stock chronyc against the daemon's command socket.
func chronyc(d *daemon, args ...string) (string, error) {
	return testutil.Chronyc(d.socket, args...)
}

// readSources returns the daemon's sources as chronyc lists them.
func readSources(d *daemon) ([]testutil.SourceRow, error) {
	out, err := chronyc(d, "-c", "-n", "sources")
	if err != nil {
		return nil, err
	}
	return testutil.ParseSources(out)
}

// readTracking returns the daemon's tracking report.
func readTracking(d *daemon) (testutil.Tracking, error) {
	out, err := chronyc(d, "-c", "-n", "tracking")
	if err != nil {
		return testutil.Tracking{}, err
	}
	return testutil.ParseTracking(out)
}

// readSourcestats returns the rows of the daemon's sourcestats report.
func readSourcestats(d *daemon) ([]testutil.SourcestatsRow, error) {
	out, err := chronyc(d, "-c", "-n", "sourcestats")
	if err != nil {
		return nil, err
	}
	return testutil.ParseSourcestats(out)
}
