package conf

import (
	"math"
	"strconv"
	"strings"
)

// This file reads numbers the way chronyd does with the C library (glibc):
// sscanf conversions read the longest valid prefix of the text and ignore
// what follows, skip leading white space, accept a sign for unsigned
// conversions, and store out-of-range integers truncated to the target
// width. Each function returns the value, the number of bytes consumed
// (sscanf's %n) and whether the conversion succeeded.

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexValue(c byte) uint64 {
	switch {
	case isDigit(c):
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	default:
		return uint64(c-'A') + 10
	}
}

func skipSpace(s string) int {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// scanDigits reads an optionally signed integer in base 10 or 16 starting at
// s[i:], as strtol/strtoul would inside sscanf. It returns the magnitude
// saturated at 2^64-1, the sign, the end index and whether digits were seen.
func scanDigits(s string, i int, base uint64) (mag uint64, neg bool, end int, ok bool) {
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		if i+2 >= len(s) || !isHexDigit(s[i+2]) {
			// glibc consumes "0x" even without a digit after it.
			return 0, neg, i + 2, true
		}
		i += 2
	}
	start := i
	overflow := false
	for i < len(s) {
		c := s[i]
		var d uint64
		switch {
		case isDigit(c):
			d = uint64(c - '0')
		case base == 16 && isHexDigit(c):
			d = hexValue(c)
		default:
			goto done
		}
		if mag > (math.MaxUint64-d)/base {
			overflow = true
		} else {
			mag = mag*base + d
		}
		i++
	}
done:
	if i == start {
		return 0, neg, start, false
	}
	if overflow {
		mag = math.MaxUint64
	}
	return mag, neg, i, true
}

// strtolValue is strtol's result for a magnitude and sign (saturating).
func strtolValue(mag uint64, neg bool) int64 {
	if neg {
		if mag > 1<<63 {
			return math.MinInt64
		}
		return -int64(mag)
	}
	if mag > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(mag)
}

// strtoulValue is strtoul's result for a magnitude and sign (negation wraps).
func strtoulValue(mag uint64, neg bool) uint64 {
	if neg && mag != math.MaxUint64 {
		return -mag
	}
	return mag
}

// scanInt is sscanf "%d%n": a long converted and truncated to int.
func scanInt(s string) (int32, int, bool) {
	i := skipSpace(s)
	mag, neg, end, ok := scanDigits(s, i, 10)
	if !ok {
		return 0, 0, false
	}
	return int32(strtolValue(mag, neg)), end, true
}

// scanUint32 is sscanf "%u%n" (SCNu32) into a 32-bit unsigned integer.
func scanUint32(s string) (uint32, int, bool) {
	v, n, ok := scanULong(s)
	return uint32(v), n, ok
}

// scanULong is sscanf "%lu%n" into a 64-bit unsigned long.
func scanULong(s string) (uint64, int, bool) {
	i := skipSpace(s)
	mag, neg, end, ok := scanDigits(s, i, 10)
	if !ok {
		return 0, 0, false
	}
	return strtoulValue(mag, neg), end, true
}

// scanHex32 is sscanf "%x%n" (SCNx32) into a 32-bit unsigned integer.
func scanHex32(s string) (uint32, int, bool) {
	i := skipSpace(s)
	mag, neg, end, ok := scanDigits(s, i, 16)
	if !ok {
		return 0, 0, false
	}
	return uint32(strtoulValue(mag, neg)), end, true
}

// scanDouble is sscanf "%lf%n". Like glibc it fails on an incomplete
// exponent ("1e", "1e+") instead of backing off.
func scanDouble(s string) (float64, int, bool) {
	i := skipSpace(s)
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	rest := strings.ToLower(s[i:])
	sign := 1.0
	if neg {
		sign = -1
	}
	switch {
	case strings.HasPrefix(rest, "infinity"):
		return sign * math.Inf(1), i + 8, true
	case strings.HasPrefix(rest, "infi"):
		// glibc cannot back off a partial "infinity".
		return 0, 0, false
	case strings.HasPrefix(rest, "inf"):
		return sign * math.Inf(1), i + 3, true
	case strings.HasPrefix(rest, "nan"):
		return math.NaN(), i + 3, true
	}
	if i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		return scanHexDouble(s, start, i, neg)
	}
	j := i
	digits := 0
	for j < len(s) && isDigit(s[j]) {
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	text := s[start:j]
	j = scanExponent(s, j, 'e')
	if j > len(text)+start {
		text = s[start:j]
		if !isDigit(text[len(text)-1]) {
			// glibc consumes a bare exponent marker and ignores it.
			text = strings.TrimRight(text, "eE+-")
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeErr(err) {
		return 0, 0, false
	}
	return v, j, true
}

// scanHexDouble reads a C99 hexadecimal floating constant at s[i:] ("0x...").
func scanHexDouble(s string, start, i int, neg bool) (float64, int, bool) {
	j := i + 2
	digits := 0
	for j < len(s) && isHexDigit(s[j]) {
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isHexDigit(s[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		// glibc fails on "0x" without hexadecimal digits.
		return 0, 0, false
	}
	text := s[start:j]
	end := scanExponent(s, j, 'p')
	if end > j && isDigit(s[end-1]) {
		text = s[start:end]
	} else {
		text += "p0"
	}
	j = end
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeErr(err) {
		return 0, 0, false
	}
	return v, j, true
}

// scanExponent returns the end of an exponent part starting at s[j] with the
// marker (e or p, either case); a marker with an optional sign and no digits
// is consumed too, as glibc does.
func scanExponent(s string, j int, marker byte) int {
	if j >= len(s) || (s[j]|0x20) != marker {
		return j
	}
	k := j + 1
	if k < len(s) && (s[k] == '+' || s[k] == '-') {
		k++
	}
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	return k
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// strtolWhole is chronyd 4.8's parse_int conversion: strtol over the whole
// word, failing on trailing text or on a value outside long.
func strtolWhole(s string) (int64, bool) {
	i := skipSpace(s)
	mag, neg, end, ok := scanDigits(s, i, 10)
	if !ok || end != len(s) {
		return 0, false
	}
	if (!neg && mag > math.MaxInt64) || (neg && mag > 1<<63) {
		return 0, false
	}
	return strtolValue(mag, neg), true
}
