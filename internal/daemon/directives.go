package daemon

import (
	"bytes"
	"fmt"
	"io"
	"sort"
)

// Support says how far chronygo acts on a chrony.conf directive.
type Support int

// Support levels.
const (
	// ParsedOnly directives are checked and printed by -p but have no effect
	// yet; the daemon names them once at start.
	ParsedOnly Support = iota
	// Partial directives take effect with limits given in the note.
	Partial
	// ActedOn directives take effect as in chronyd.
	ActedOn
)

// String returns the wording used in the README table.
func (s Support) String() string {
	switch s {
	case ActedOn:
		return "acted on"
	case Partial:
		return "partly acted on"
	default:
		return "parsed only"
	}
}

// DirectiveStatus is one row of the directive table.
type DirectiveStatus struct {
	// Name is the directive as written in chrony.conf.
	Name string
	// Support says whether chronygo acts on it.
	Support Support
	// By names the part of chronygo that acts on it.
	By string
	// Note qualifies partial support.
	Note string
}

// DirectiveTable is the one place that records which chrony.conf
// directives chronygo acts on. It lists every directive of chrony 4.8; the
// README's table is generated from it (go run ./scripts/directives). Update
// a row when the code that acts on the directive is wired into the daemon.
func DirectiveTable() []DirectiveStatus {
	parsed := func(names ...string) []DirectiveStatus {
		rows := make([]DirectiveStatus, len(names))
		for i, n := range names {
			rows[i] = DirectiveStatus{Name: n, Support: ParsedOnly}
		}
		return rows
	}
	rows := []DirectiveStatus{
		{Name: "include", Support: ActedOn, By: "pkg/conf"},
		{Name: "confdir", Support: ActedOn, By: "pkg/conf"},
		{Name: "pidfile", Support: ActedOn, By: "internal/daemon"},
		{Name: "user", Support: ActedOn, By: "internal/daemon"},
		{Name: "lock_all", Support: ActedOn, By: "internal/daemon"},
		{Name: "sched_priority", Support: ActedOn, By: "internal/daemon"},
		{Name: "logdir", Support: ActedOn, By: "internal/daemon/wiring"},
		{Name: "dumpdir", Support: ActedOn, By: "internal/engine", Note: "written at exit, reloaded with -r"},
		{Name: "port", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "bindaddress", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "binddevice", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "bindcmddevice", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "dscp", Support: ActedOn, By: "pkg/ntp/server, pkg/ntp/clientio"},
		{Name: "allow", Support: ActedOn, By: "pkg/ntp/server", Note: "host names resolved at start"},
		{Name: "deny", Support: ActedOn, By: "pkg/ntp/server", Note: "host names resolved at start"},
		{Name: "clientloglimit", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "noclientlog", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "ratelimit", Support: ActedOn, By: "pkg/ntp/server"},
		{Name: "local", Support: ActedOn, By: "internal/engine"},
		{Name: "bindcmdaddress", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "cmdport", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "cmdallow", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "cmddeny", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "cmdratelimit", Support: ActedOn, By: "pkg/cmdmon"},
		{Name: "opencommands", Support: ActedOn, By: "pkg/cmdmon"},
	}
	acted := func(by string, names ...string) []DirectiveStatus {
		rows := make([]DirectiveStatus, len(names))
		for i, n := range names {
			rows[i] = DirectiveStatus{Name: n, Support: ActedOn, By: by}
		}
		return rows
	}
	rows = append(rows, acted("internal/engine",
		// Time sources.
		"server", "pool", "initstepslew", "sourcedir", "maxsamples", "minsamples", "refresh",
		// Source selection.
		"authselectmode", "combinelimit", "maxdistance", "maxjitter", "minsources",
		"reselectdist", "stratumweight",
		// System clock.
		"corrtimeratio", "driftfile", "fallbackdrift", "makestep", "maxchange",
		"maxupdateskew", "logchange", "leapsecmode", "leapsectz", "leapseclist")...)
	rows = append(rows, acted("pkg/ntp/clientio", "acquisitionport", "bindacqaddress", "bindacqdevice")...)
	rows = append(rows, acted("pkg/discipline/clock", "clockprecision", "maxclockerror", "maxdrift", "maxslewrate")...)
	rows = append(rows,
		DirectiveStatus{Name: "peer", Support: Partial, By: "internal/daemon/wiring", Note: "a peer given by name is known only after the first packet sent to it"},
		DirectiveStatus{Name: "rtcsync", Support: Partial, By: "pkg/discipline/clock", Note: "kernel 11-minute mode through the clock's sync status; not with -x"},
		DirectiveStatus{Name: "log", Support: Partial, By: "internal/daemon/wiring", Note: "tracking, measurements, rawmeasurements, statistics, selection and rtc; refclocks and tempcomp not written"},
		DirectiveStatus{Name: "smoothtime", Support: ActedOn, By: "pkg/discipline/reference, pkg/ntp/server", Note: "served to clients; chronyc smoothing and smoothtime"},
		DirectiveStatus{Name: "logbanner", Support: ActedOn, By: "internal/daemon/wiring"},
		DirectiveStatus{Name: "manual", Support: ActedOn, By: "internal/engine", Note: "chronyc manual and settime"},
		DirectiveStatus{Name: "keyfile", Support: ActedOn, By: "internal/daemon/wiring", Note: "answers authenticated requests and authenticates sources and peers with key; chronyc rekey reloads it"},
		DirectiveStatus{Name: "rtcdevice", Support: ActedOn, By: "internal/daemon/wiring", Note: "read by -s, tracked with rtcfile, set by trimrtc"},
		DirectiveStatus{Name: "rtconutc", Support: ActedOn, By: "internal/daemon/wiring"},
		DirectiveStatus{Name: "hwclockfile", Support: ActedOn, By: "internal/daemon/wiring", Note: "its LOCAL/UTC setting"},
		DirectiveStatus{Name: "rtcfile", Support: Partial, By: "internal/engine", Note: "the RTC is tracked (chronyc rtcdata, trimrtc, writertc); with -s the sources and readiness wait for the RTC's fine setting; a missing update interrupt is retried after 1.5 s"},
		DirectiveStatus{Name: "rtcautotrim", Support: ActedOn, By: "internal/engine"},
	)
	rows = append(rows, parsed(
		// Time sources.
		"refclock",
		"ntsaeads", "ntsdumpdir", "ntsrefresh", "ntstrustedcerts",
		"nosystemcert", "nocerttimecheck",
		// NTP server.
		"broadcast", "ntpsigndsocket", "ntsport", "ntsservercert",
		"ntsserverkey", "ntsprocesses", "maxntsconnections", "ntsntpserver", "ntsrotate",
		"ntsratelimit",
		// Logging.
		"mailonchange",
		// Miscellaneous.
		"hwtimestamp", "hwtstimeout", "ptpport", "ptpdomain",
	)...)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows
}

// UnsupportedDirectives returns, in the given order and without repeats,
// the directives of present that chronygo does not act on (fully), so that
// the daemon can name each once at start. Unknown names are included.
func UnsupportedDirectives(present []string) []string {
	support := map[string]Support{}
	for _, r := range DirectiveTable() {
		support[r.Name] = r.Support
	}
	seen := map[string]bool{}
	var out []string
	for _, name := range present {
		if seen[name] {
			continue
		}
		seen[name] = true
		if s, ok := support[name]; !ok || s == ParsedOnly {
			out = append(out, name)
		}
	}
	return out
}

// PartialDirectives returns, in the given order and without repeats, the
// rows of present directives that chronygo acts on only in part.
func PartialDirectives(present []string) []DirectiveStatus {
	rows := map[string]DirectiveStatus{}
	for _, r := range DirectiveTable() {
		if r.Support == Partial {
			rows[r.Name] = r
		}
	}
	seen := map[string]bool{}
	var out []DirectiveStatus
	for _, name := range present {
		if r, ok := rows[name]; ok && !seen[name] {
			seen[name] = true
			out = append(out, r)
		}
	}
	return out
}

// WriteDirectiveTable writes the directive table as Markdown.
func WriteDirectiveTable(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "| directive | status | by | note |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, r := range DirectiveTable() {
		if _, err := fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", r.Name, r.Support, r.By, r.Note); err != nil {
			return err
		}
	}
	return nil
}

// Markers around the generated directive table in README.md.
const (
	TableBegin = "<!-- directives:begin -->"
	TableEnd   = "<!-- directives:end -->"
)

// ReplaceDirectiveTable returns doc with the text between TableBegin and
// TableEnd replaced by table.
func ReplaceDirectiveTable(doc, table []byte) ([]byte, error) {
	begin := bytes.Index(doc, []byte(TableBegin))
	end := bytes.Index(doc, []byte(TableEnd))
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("markers %q and %q not found in order", TableBegin, TableEnd)
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(TableBegin)])
	out.WriteByte('\n')
	out.Write(table)
	out.Write(doc[end:])
	return out.Bytes(), nil
}
