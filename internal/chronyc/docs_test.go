package chronyc

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
)

// documentedFields reads docs/chronygoc.md and returns, for every report
// section ("### tracking (object)"), the backquoted names it mentions.
func documentedFields(t *testing.T) map[string]map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../../docs/chronygoc.md")
	require.NoError(t, err)
	word := regexp.MustCompile("`([a-z_0-9]+)`")
	out := map[string]map[string]bool{}
	for _, sec := range strings.Split(string(doc), "\n### ")[1:] {
		title, body, _ := strings.Cut(sec, "\n")
		name := strings.TrimSpace(strings.Split(title, "(")[0])
		out[name] = map[string]bool{}
		for _, m := range word.FindAllStringSubmatch(body, -1) {
			out[name][m[1]] = true
		}
	}
	return out
}

// richDaemon is anyDaemon with one client and one manual sample.
func richDaemon(q candm.Request) (candm.Reply, error) {
	switch q.Command {
	case candm.ReqClientAccessesByIndex3:
		return ok(candm.ClientAccesses{NIndices: 1, NextIndex: 1, Clients: []candm.ClientAccess{{IP: ip("198.51.100.7")}}})
	case candm.ReqManualList:
		return ok(candm.ManualList{Samples: []candm.ManualSample{{SlewedOffset: 1}}})
	}
	return anyDaemon(q)
}

func TestJSONFieldsAreDocumented(t *testing.T) {
	docs := documentedFields(t)
	for _, c := range []string{"tracking", "sources", "sourcestats", "selectdata", "ntpdata", "authdata",
		"activity", "serverstats", "clients", "smoothing", "rtcdata", "manual list", "sourcename"} {
		t.Run(c, func(t *testing.T) {
			fields, documented := docs[c]
			require.True(t, documented, "docs/chronygoc.md has no section for %s", c)
			line := c
			if c == "sourcename" {
				line = "sourcename 203.0.113.1"
			}
			s, _, out, errw := newTestSession(Options{JSON: true}, richDaemon)
			require.True(t, s.Line(line), errw.String())
			var v any
			require.NoError(t, json.Unmarshal(out.Bytes(), &v), out.String())
			obj, isObj := v.(map[string]any)
			if list, isList := v.([]any); isList {
				require.NotEmpty(t, list)
				obj, isObj = list[0].(map[string]any)
			}
			require.True(t, isObj, out.String())
			for k := range obj {
				assert.True(t, fields[k], "field %s of %s is not documented", k, c)
			}
		})
	}
}
