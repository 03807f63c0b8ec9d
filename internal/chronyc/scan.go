package chronyc

import (
	"strconv"
	"strings"
)

// This file reads numbers the way chronyc reads them with sscanf: leading
// white space is skipped and the longest valid prefix is taken; what
// follows is ignored.

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func trimLeftSpace(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// scanInt reads a decimal integer prefix (%d), saturating at the int32
// limits as glibc does.
func scanInt(s string) (int64, bool) {
	s = trimLeftSpace(s)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, false
	}
	v, err := strconv.ParseInt(s[:i], 10, 32)
	if err != nil {
		if strings.HasPrefix(s, "-") {
			return -1 << 31, true
		}
		return 1<<31 - 1, true
	}
	return v, true
}

// scanUint reads an unsigned decimal prefix (%u); a leading minus wraps
// around as in C.
func scanUint(s string) (uint32, bool) {
	v, ok := scanInt(s)
	return uint32(v), ok
}

// scanFloat reads a floating-point prefix (%lf).
func scanFloat(s string) (float64, bool) {
	s = trimLeftSpace(s)
	end := 0
	for end < len(s) && !isSpace(s[end]) {
		end++
	}
	for n := end; n > 0; n-- {
		p := s[:n]
		if strings.ContainsAny(p[len(p)-1:], "xX_") {
			continue
		}
		if v, err := strconv.ParseFloat(p, 64); err == nil || isRangeErr(err) {
			return v, true
		}
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// splitWord returns the first space-separated word of s and the rest with
// leading space removed.
func splitWord(s string) (word, rest string) {
	s = trimLeftSpace(s)
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return s[:i], trimLeftSpace(s[i:])
}

// normalizeLine collapses white space into single spaces, trims both ends
// and drops comment lines (first character one of !;#%).
func normalizeLine(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 || strings.ContainsRune("!;#%", rune(f[0][0])) {
		return ""
	}
	return strings.Join(f, " ")
}
