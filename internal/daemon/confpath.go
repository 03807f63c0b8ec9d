package daemon

// Configuration file locations: upstream chrony's default and the one
// Debian and Ubuntu use.
const (
	UpstreamConfigPath = "/etc/chrony.conf"
	DebianConfigPath   = "/etc/chrony/chrony.conf"
)

// DefaultConfigPath chooses the configuration file read without -f:
// /etc/chrony.conf, or /etc/chrony/chrony.conf when only that one exists.
// exists reports whether a path exists; it is a parameter so that the choice
// can be tested without touching /etc.
func DefaultConfigPath(exists func(path string) bool) string {
	if !exists(UpstreamConfigPath) && exists(DebianConfigPath) {
		return DebianConfigPath
	}
	return UpstreamConfigPath
}
