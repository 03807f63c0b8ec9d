package access

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
		host    bool
	}{
		{in: "1.2.3.4", want: "1.2.3.4/32"},
		{in: "3.4.5.0/24", want: "3.4.5.0/24"},
		{in: "3.4.5", want: "3.4.5.0/24"},
		{in: "1.2", want: "1.2.0.0/16"},
		{in: "1", want: "1.0.0.0/8"},
		{in: "1.2.3.4/16", want: "1.2.0.0/16"},
		{in: "1.2/8", want: "1.0.0.0/8"},
		{in: "2001:db8::/32", want: "2001:db8::/32"},
		{in: "2001:db8::1", want: "2001:db8::1/128"},
		{in: "0/0", want: "0.0.0.0/0"},
		{in: "::/0", want: "::/0"},
		{in: "::ffff:1.2.3.4", want: "::ffff:1.2.3.4/128"},
		{in: "1.2.3.4/33", wantErr: true},
		{in: "2001:db8::/129", wantErr: true},
		{in: "1.2.3.4/", wantErr: true},
		{in: "1.2.3.4/-1", wantErr: true},
		{in: "1.2.3.4/x", wantErr: true},
		{in: "256.1", wantErr: true, host: true},
		{in: "ntp.example.com", wantErr: true, host: true},
		{in: "host/24", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParseSubnet(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				assert.Equal(t, tc.host, errors.Is(err, ErrHostname))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p.String())
		})
	}
}

func TestParseRule(t *testing.T) {
	resolve := func(name string) (netip.Addr, error) {
		if name == "ntp.example.com" {
			return netip.MustParseAddr("198.51.100.7"), nil
		}
		return netip.Addr{}, errors.New("no such host")
	}
	tests := []struct {
		allow   bool
		args    string
		want    Rule
		wantErr bool
	}{
		{allow: true, args: "", want: Rule{Allow: true, Any: true}},
		{allow: false, args: "all", want: Rule{All: true, Any: true}},
		{allow: true, args: "all 1.2.0.0/16", want: Rule{Allow: true, All: true, Prefix: netip.MustParsePrefix("1.2.0.0/16")}},
		{allow: true, args: "3.4.5", want: Rule{Allow: true, Prefix: netip.MustParsePrefix("3.4.5.0/24")}},
		{allow: false, args: "ntp.example.com", want: Rule{Prefix: netip.MustParsePrefix("198.51.100.7/32")}},
		{allow: true, args: "bad.example.com", wantErr: true},
		{allow: true, args: "1.2.3.4 5.6.7.8", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.args, func(t *testing.T) {
			r, err := ParseRule(tc.allow, strings.Fields(tc.args), resolve)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, r)
		})
	}
}

func mustRules(t *testing.T, lines ...string) *Table {
	t.Helper()
	tab := NewTable()
	for _, l := range lines {
		f := strings.Fields(l)
		r, err := ParseRule(f[0] == "allow", f[1:], nil)
		require.NoError(t, err, l)
		require.NoError(t, tab.Apply(r), l)
	}
	return tab
}

// TestChronyConfExamples reproduces every example of chrony.conf(5)'s allow
// and deny sections.
func TestChronyConfExamples(t *testing.T) {
	type check struct {
		addr string
		want bool
	}
	tests := []struct {
		name   string
		rules  []string
		checks []check
	}{
		{name: "no directive denies everyone", checks: []check{{"1.2.3.4", false}, {"::1", false}, {"127.0.0.1", false}}},
		{name: "host", rules: []string{"allow 1.2.3.4"}, checks: []check{{"1.2.3.4", true}, {"1.2.3.5", false}, {"::ffff:1.2.3.4", true}}},
		{name: "cidr", rules: []string{"allow 3.4.5.0/24"}, checks: []check{{"3.4.5.0", true}, {"3.4.5.255", true}, {"3.4.6.1", false}}},
		{name: "dotted short", rules: []string{"allow 3.4.5"}, checks: []check{{"3.4.5.9", true}, {"3.4.4.9", false}}},
		{name: "ipv6 subnet", rules: []string{"allow 2001:db8::/32"}, checks: []check{{"2001:db8:1::1", true}, {"2001:db9::1", false}, {"3.4.5.6", false}}},
		{name: "all ipv4", rules: []string{"allow 0/0"}, checks: []check{{"203.0.113.1", true}, {"2001:db8::1", false}}},
		{name: "all ipv6", rules: []string{"allow ::/0"}, checks: []check{{"2001:db8::1", true}, {"203.0.113.1", false}}},
		{name: "bare allow", rules: []string{"allow"}, checks: []check{{"2001:db8::1", true}, {"203.0.113.1", true}}},
		{
			name:   "first example in any order",
			rules:  []string{"allow 1.2.3.4", "deny 1.2.3.0/24", "allow 1.2.0.0/16"},
			checks: []check{{"1.2.3.4", true}, {"1.2.3.5", false}, {"1.2.4.1", true}, {"1.3.0.1", false}},
		},
		{
			name:   "first example reordered",
			rules:  []string{"allow 1.2.0.0/16", "allow 1.2.3.4", "deny 1.2.3.0/24"},
			checks: []check{{"1.2.3.4", true}, {"1.2.3.5", false}, {"1.2.4.1", true}},
		},
		{
			name:   "first example reordered again",
			rules:  []string{"deny 1.2.3.0/24", "allow 1.2.0.0/16", "allow 1.2.3.4"},
			checks: []check{{"1.2.3.4", true}, {"1.2.3.5", false}, {"1.2.4.1", true}},
		},
		{
			name:   "allow all overrides rules beneath",
			rules:  []string{"allow 1.2.3.4", "deny 1.2.3.0/24", "allow all 1.2.0.0/16"},
			checks: []check{{"1.2.3.4", true}, {"1.2.3.5", true}, {"1.2.4.1", true}, {"1.3.0.1", false}},
		},
		{
			name:   "deny all",
			rules:  []string{"allow", "allow 1.2.3.4", "deny all 1.2.0.0/16"},
			checks: []check{{"1.2.3.4", false}, {"1.3.0.1", true}, {"::1", true}},
		},
		{
			name:   "same level: later wins",
			rules:  []string{"deny 1.2.3.0/28", "allow 1.2.3.0/25"},
			checks: []check{{"1.2.3.1", true}, {"1.2.3.100", true}, {"1.2.3.200", false}},
		},
		{
			name:   "same level: later wins reversed",
			rules:  []string{"allow 1.2.3.0/25", "deny 1.2.3.0/28"},
			checks: []check{{"1.2.3.1", false}, {"1.2.3.100", true}},
		},
		{
			name:   "different levels: most specific wins",
			rules:  []string{"deny 1.2.3.0/29", "allow 1.2.3.0/28"},
			checks: []check{{"1.2.3.1", false}, {"1.2.3.9", true}, {"1.2.3.17", false}},
		},
		{
			name:   "same subnet later wins",
			rules:  []string{"allow 198.51.100.0/24", "deny 198.51.100.0/24"},
			checks: []check{{"198.51.100.1", false}},
		},
		{
			name:   "bare deny after allow",
			rules:  []string{"allow", "deny"},
			checks: []check{{"198.51.100.1", false}, {"2001:db8::1", false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := mustRules(t, tc.rules...)
			for _, c := range tc.checks {
				assert.Equal(t, c.want, tab.Allowed(netip.MustParseAddr(c.addr)), c.addr)
			}
		})
	}
}

func TestAnyAllowed(t *testing.T) {
	tab := NewTable()
	assert.False(t, tab.AnyAllowed(true))
	assert.False(t, tab.AnyAllowed(false))
	require.NoError(t, tab.Apply(Rule{Allow: true, Prefix: netip.MustParsePrefix("2001:db8::/64")}))
	assert.False(t, tab.AnyAllowed(true))
	assert.True(t, tab.AnyAllowed(false))
	require.NoError(t, tab.Apply(Rule{Allow: false, All: true, Any: true}))
	assert.False(t, tab.AnyAllowed(false))
	assert.False(t, tab.Allowed(netip.Addr{}))
	require.Error(t, tab.Apply(Rule{Allow: true}))
}

func TestConcurrentReadWrite(t *testing.T) {
	tab := NewTable()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			_ = tab.Apply(Rule{Allow: i%2 == 0, Prefix: netip.MustParsePrefix("198.51.100.0/24")})
		}
	}()
	a := netip.MustParseAddr("198.51.100.5")
	for i := 0; i < 2000; i++ {
		tab.Allowed(a)
	}
	<-done
	assert.False(t, tab.Allowed(a))
}
