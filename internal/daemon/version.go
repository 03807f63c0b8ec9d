package daemon

import "fmt"

// Version is chronygo's version. Release builds set it with
// -ldflags "-X github.com/chronygo/chronygo/internal/daemon.Version=...".
var Version = "0.1.0-dev"

// ChronyVersion is the chrony release whose behaviour chronygo follows.
const ChronyVersion = "4.8"

// Features lists, in chronyd's "+FEATURE -FEATURE" shape, what this build
// supports. It is kept truthful by hand as components are wired in.
const Features = "+CMDMON +NTP -REFCLOCK +RTC +PRIVDROP -SCFILTER -SIGND +ASYNCDNS -NTS -SECHASH +IPV6 +DEBUG"

// VersionLine is printed by -v and --version, in chronyd's shape.
func VersionLine() string {
	return fmt.Sprintf("chronygo (chronygo) version %s (%s; follows chrony %s)", Version, Features, ChronyVersion)
}

// StartLine is the first message the daemon logs, in chronyd's shape.
func StartLine() string {
	return fmt.Sprintf("chronygo version %s starting (%s)", Version, Features)
}
