package rtc

import (
	"math"
	"testing"
)

// FuzzParseCoefs feeds arbitrary rtcfile contents to ParseCoefs: it must
// never panic, accept only finite values and read back what FormatCoefs
// writes.
func FuzzParseCoefs(f *testing.F) {
	for _, seed := range []string{
		"1 1795632779 -0.123456 12.345\n", "0 0 0 0", "", "1 2 3", "1 nan 0 0",
		"1 1 inf 0", "1 1e300 0 0", "x 1 2 3", "1 1795632779 0.5 -inf\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCoefs(text)
		if err != nil {
			if c != (Coefs{}) {
				t.Fatalf("error %v with coefficients %+v", err, c)
			}
			return
		}
		if math.IsNaN(c.Offset) || math.IsInf(c.Offset, 0) || math.IsNaN(c.GainRatePPM) || math.IsInf(c.GainRatePPM, 0) {
			t.Fatalf("accepted non-finite coefficients %+v from %q", c, text)
		}
		back, err := ParseCoefs(FormatCoefs(c))
		if err != nil {
			t.Fatalf("cannot read back %q: %v", FormatCoefs(c), err)
		}
		if back.Valid != c.Valid || !back.RefTime.Equal(c.RefTime) ||
			math.Abs(back.Offset-c.Offset) > 1e-6+1e-12*math.Abs(c.Offset) ||
			math.Abs(back.GainRatePPM-c.GainRatePPM) > 1e-3+1e-12*math.Abs(c.GainRatePPM) {
			t.Fatalf("round trip %+v -> %+v", c, back)
		}
	})
}

// FuzzParseHwclock feeds arbitrary adjtime files to ParseHwclock: it must
// never panic, and report a setting only when the third line names one.
func FuzzParseHwclock(f *testing.F) {
	for _, seed := range []string{
		"0.0 0 0.0\n0\nUTC\n", "0.0 0 0.0\n0\nLOCAL\n", "", "\n\n", "\n\nUTCX", "a\nb\n  LOCAL  \n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		onUTC, ok := ParseHwclock(text)
		if !ok && onUTC {
			t.Fatalf("UTC reported without a setting for %q", text)
		}
	})
}
