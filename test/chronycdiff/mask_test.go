package chronycdiff

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The masking of chronyc's output: values that legitimately differ between
// two daemons (numbers with their units, times, directions, each daemon's
// own address) become placeholders, while every label, separator, legend,
// status code, state character and the addresses and reference IDs both
// daemons share stay as they are.
var (
	statusLine = regexp.MustCompile(`^[2-5][0-9][0-9] `)
	dateTime   = regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}`)
	isoDate    = regexp.MustCompile(`\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b`)
	clockTime  = regexp.MustCompile(`\b[0-9]{1,2}:[0-9]{2}:[0-9]{2}\b`)
	hexRefID   = regexp.MustCompile(`\b[0-9A-F]{8}\b`)
	number     = regexp.MustCompile(`[+-]?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?(ns|us|ms|ppm|s|m|h|d|y)?\b`)
	direction  = regexp.MustCompile(`\b(fast|slow)\b`)
	aroundMask = regexp.MustCompile(` *# *`)
)

// masker masks the output of one daemon; keep are the literals shared by
// both daemons that must survive the masking verbatim, self are this
// daemon's own addresses and reference IDs. Both are matched as whole
// words and longest first.
type masker struct {
	keep []string
	self []string
}

// unsyncRefID is the reference ID of an unsynchronised daemon.
const unsyncRefID = "00000000"

// newMasker masks the values of a daemon whose own addresses are given;
// the upstream's addresses and the reference IDs of the upstream, the
// local reference and of no reference are kept.
func newMasker(own ...string) masker {
	var self []string
	for _, a := range own {
		self = append(self, a, refIDOf(a))
	}
	keep := []string{upstream6, upstream4, upstreamRefID, localRefID, unsyncRefID}
	return masker{keep: longestFirst(keep), self: longestFirst(self)}
}

// longestFirst sorts literals so that none is cut by a shorter one.
func longestFirst(literals []string) []string {
	sort.Slice(literals, func(i, j int) bool { return len(literals[i]) > len(literals[j]) })
	return literals
}

// wordChar tells whether c continues an address or a hexadecimal word.
func wordChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ':'
}

// replaceWord replaces every occurrence of lit in s that is a whole word:
// 198.51.100.2 is not replaced inside 198.51.100.20 or 1198.51.100.2.
func replaceWord(s, lit, repl string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, lit)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(lit)
		before := i == 0 || !wordChar(s[i-1]) && s[i-1] != '.'
		after := end == len(s) || !wordChar(s[end]) && !(s[end] == '.' && end+1 < len(s) && s[end+1] >= '0' && s[end+1] <= '9')
		b.WriteString(s[:i])
		if before && after {
			b.WriteString(repl)
		} else {
			b.WriteString(lit)
		}
		s = s[end:]
	}
}

// line masks one line of output. Each masked number takes the blanks
// around it, since the width of a value shifts its neighbours; all other
// blanks, labels and separators stay as they are.
func (m masker) line(s string) string {
	prefix := ""
	if statusLine.MatchString(s) {
		prefix, s = s[:4], s[4:]
	}
	for _, a := range m.self {
		s = replaceWord(s, a, "<self>")
	}
	for i, k := range m.keep {
		s = replaceWord(s, k, fmt.Sprintf("\x00%c\x00", 'A'+i))
	}
	s = dateTime.ReplaceAllString(s, "<date>")
	s = isoDate.ReplaceAllString(s, "<date>")
	s = clockTime.ReplaceAllString(s, "<time>")
	s = hexRefID.ReplaceAllString(s, "<refid>")
	s = number.ReplaceAllString(s, "#")
	s = direction.ReplaceAllString(s, "<sign>")
	for i, k := range m.keep {
		s = strings.ReplaceAll(s, fmt.Sprintf("\x00%c\x00", 'A'+i), k)
	}
	return prefix + aroundMask.ReplaceAllString(s, "#")
}

// output masks every line of a chronyc output.
func (m masker) output(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		lines[i] = m.line(l)
	}
	return lines
}

// refIDOf returns the reference ID NTP gives an address, as chronyc prints
// it: an IPv4 address itself, or the first four bytes of the MD5 digest of
// an IPv6 address.
func refIDOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "invalid:" + addr
	}
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%08X", binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	sum := md5.Sum(b[:])
	return fmt.Sprintf("%08X", binary.BigEndian.Uint32(sum[:4]))
}

func TestRefIDOf(t *testing.T) {
	assert.Equal(t, upstreamRefID, refIDOf(upstream4))
	assert.Equal(t, "C6336402", refIDOf("198.51.100.2"))
	assert.Len(t, refIDOf(upstream6), 8)
	assert.NotEqual(t, refIDOf("2001:db8::2"), refIDOf("2001:db8::3"))
}

func TestMaskLine(t *testing.T) {
	m := newMasker("198.51.100.2", "2001:db8::2")
	for _, tc := range []struct{ in, want string }{
		{"MS Name/IP address         Stratum Poll Reach LastRx Last sample               ",
			"MS Name/IP address         Stratum Poll Reach LastRx Last sample               "},
		{"^* 198.51.100.1                  1   0   377     1  -2478ns[-2722ns] +/- 9835ns",
			"^* 198.51.100.1#####[#] +/-#"},
		{"^? 198.51.100.1                  0   2     0     -     +0ns[   +0ns] +/-    0ns",
			"^? 198.51.100.1###-#[#] +/-#"},
		{"Reference ID    : C6336401 (198.51.100.1)", "Reference ID    : C6336401 (198.51.100.1)"},
		{"Reference ID    : 7F7F0101 ()", "Reference ID    : 7F7F0101 ()"},
		{"Reference ID    : 0A0B0C0D (198.51.100.200)", "Reference ID    : <refid> (#.#)"},
		{"Local address   : 198.51.100.2 (C6336402)", "Local address   : <self> (<self>)"},
		{"Ref time (UTC)  : Wed Nov 25 19:00:44 2026", "Ref time (UTC)  : <date>"},
		{"System time     : 0.000003607 seconds fast of NTP time", "System time     :#seconds <sign> of NTP time"},
		{"Frequency       : 12.345 ppm slow", "Frequency       :#ppm <sign>"},
		{"Stratum         : 2", "Stratum         :#"},
		{"200 OK", "200 OK"},
		{"501 Not authorised", "501 Not authorised"},
		{"210 n_samples = 3", "210 n_samples =#"},
		{"0 2026-11-25 10:00:00     0.50     -0.25    0.000", "#<date> <time>###"},
		{"198.51.100.1                   -     0    0    0    -    0    0    0    0",
			"198.51.100.1                   -###-####"},
		{"try: 1, refid: C6336401, correction: 0.000004037, skew: 0.249",
			"try:#, refid: C6336401, correction:#, skew:#"},
		{"2001:db8::1                     1   0   377", "2001:db8::1###"},
		{"Remote address  : 2001:db8::2 (ABCDEF01)", "Remote address  : <self> (<refid>)"},
	} {
		assert.Equal(t, tc.want, m.line(tc.in), "masking %q", tc.in)
	}
}

func TestMaskKeepsDifferencesThatMatter(t *testing.T) {
	m := newMasker()
	for _, tc := range []struct{ a, b string }{
		{"^* 198.51.100.1  1 0 377 1 +1ns[+1ns] +/- 1ns", "^? 198.51.100.1  1 0 377 1 +1ns[+1ns] +/- 1ns"},
		{"Leap status     : Normal", "Leap status     : Not synchronised"},
		{"198.51.100.1   -     0    0    0    -    0", "198.51.100.1   -     0    0    0    0    0"},
		{"Stratum         : 2", "Stratum         :"},
		{"Stratum         : 2", "Stratum          : 2"},
		{"Reference ID    : C6336401 (198.51.100.1)", "Reference ID    : 7F7F0101 ()"},
		{"200 OK", "500 Failure"},
	} {
		assert.NotEqual(t, m.line(tc.a), m.line(tc.b), "%q vs %q", tc.a, tc.b)
	}
}
