package daemon

import (
	"bytes"
	"os"
	"regexp"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chrony48Directives are the directives chrony 4.8's chrony.conf(5)
// documents.
var chrony48Directives = []string{
	"acquisitionport", "allow", "authselectmode", "bindacqaddress", "bindacqdevice",
	"bindaddress", "bindcmdaddress", "bindcmddevice", "binddevice", "broadcast",
	"clientloglimit", "clockprecision", "cmdallow", "cmddeny", "cmdport", "cmdratelimit",
	"combinelimit", "confdir", "corrtimeratio", "deny", "driftfile", "dscp", "dumpdir",
	"fallbackdrift", "hwclockfile", "hwtimestamp", "hwtstimeout", "include",
	"initstepslew", "keyfile", "leapsecmode", "leapseclist", "leapsectz", "local",
	"lock_all", "log", "logbanner", "logchange", "logdir", "mailonchange", "makestep",
	"manual", "maxchange", "maxclockerror", "maxdistance", "maxdrift", "maxjitter",
	"maxntsconnections", "maxsamples", "maxslewrate", "maxupdateskew", "minsamples",
	"minsources", "nocerttimecheck", "noclientlog", "nosystemcert", "ntpsigndsocket",
	"ntsaeads", "ntsdumpdir", "ntsntpserver", "ntsport", "ntsprocesses", "ntsratelimit",
	"ntsrefresh", "ntsrotate", "ntsservercert", "ntsserverkey", "ntstrustedcerts",
	"opencommands", "peer", "pidfile", "pool", "port", "ptpdomain", "ptpport",
	"ratelimit", "refclock", "refresh", "reselectdist", "rtcautotrim", "rtcdevice",
	"rtcfile", "rtconutc", "rtcsync", "sched_priority", "server", "smoothtime",
	"sourcedir", "stratumweight", "user",
}

func TestDirectiveTableListsEveryDirectiveOnce(t *testing.T) {
	var names []string
	for _, r := range DirectiveTable() {
		names = append(names, r.Name)
		if r.Support != ParsedOnly {
			assert.NotEmpty(t, r.By, "%s: who acts on it", r.Name)
		}
		if r.Support == Partial {
			assert.NotEmpty(t, r.Note, "%s: what is missing", r.Name)
		}
	}
	want := append([]string(nil), chrony48Directives...)
	sort.Strings(want)
	assert.Equal(t, want, names)
}

func TestDirectiveTableMatchesConfDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/directives.md")
	if os.IsNotExist(err) {
		t.Skip("docs/directives.md not written yet")
	}
	require.NoError(t, err)
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_0-9]+)` \\|").FindAllSubmatch(data, -1) {
		documented = append(documented, string(m[1]))
	}
	sort.Strings(documented)
	var ours []string
	for _, r := range DirectiveTable() {
		ours = append(ours, r.Name)
	}
	assert.Subset(t, documented, ours, "every directive of the table is in docs/directives.md")
}

func TestUnsupportedDirectives(t *testing.T) {
	tests := []struct {
		name    string
		present []string
		want    []string
	}{
		{"none", nil, nil},
		{"acted on only", []string{"pidfile", "user", "allow"}, nil},
		{"parsed only, once each, in order", []string{"refclock", "pidfile", "broadcast", "refclock"}, []string{"refclock", "broadcast"}},
		{"partial ones are not named", []string{"peer", "log"}, nil},
		{"unknown names are named", []string{"frobnicate"}, []string{"frobnicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, UnsupportedDirectives(tt.present))
		})
	}
}

func TestPartialDirectives(t *testing.T) {
	rows := PartialDirectives([]string{"server", "peer", "log", "peer"})
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
		assert.NotEmpty(t, r.Note)
	}
	assert.Equal(t, []string{"peer", "log"}, names)
}

func TestReadmeDirectiveTableIsCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var table bytes.Buffer
	require.NoError(t, WriteDirectiveTable(&table))
	want, err := ReplaceDirectiveTable(readme, table.Bytes())
	require.NoError(t, err)
	assert.Equal(t, string(want), string(readme), "README.md's directive table is stale: run make readme")
}

func TestReplaceDirectiveTable(t *testing.T) {
	doc := []byte("a\n" + TableBegin + "\nold\n" + TableEnd + "\nz\n")
	out, err := ReplaceDirectiveTable(doc, []byte("new\n"))
	require.NoError(t, err)
	assert.Equal(t, "a\n"+TableBegin+"\nnew\n"+TableEnd+"\nz\n", string(out))
	_, err = ReplaceDirectiveTable([]byte("no markers"), nil)
	assert.Error(t, err)
}
