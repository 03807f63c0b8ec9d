package chronyc

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Report accumulates one report (one or more lines of text, or one CSV
// record). In text mode literal text and formatted values are written as
// they come; in CSV mode literal text is dropped and every value becomes a
// plain comma-separated field (no widths, no units, no signs added, offsets
// in seconds with nine decimals, frequencies with three, times as seconds
// since the epoch), and End terminates the record with a newline.
type Report struct {
	csv    bool
	b      strings.Builder
	fields int
}

// NewReport starts a report in text mode or CSV mode.
func NewReport(csv bool) *Report { return &Report{csv: csv} }

// String returns what the report holds so far.
func (r *Report) String() string { return r.b.String() }

// Text appends literal text (dropped in CSV mode).
func (r *Report) Text(s string) *Report {
	if !r.csv {
		r.b.WriteString(s)
	}
	return r
}

// field appends a value: the human form in text mode, the CSV form
// (comma-separated) in CSV mode.
func (r *Report) field(human, csv string) *Report {
	if r.csv {
		if r.fields > 0 {
			r.b.WriteByte(',')
		}
		r.b.WriteString(csv)
	} else {
		r.b.WriteString(human)
	}
	r.fields++
	return r
}

// End finishes a CSV record with a newline (no-op in text mode).
func (r *Report) End() *Report {
	if r.csv {
		r.b.WriteByte('\n')
		r.fields = 0
	}
	return r
}

// Char appends one character.
func (r *Report) Char(c byte) *Report { return r.field(string(c), string(c)) }

// Str appends a string right-aligned in width columns, or left-aligned
// when width is negative.
func (r *Report) Str(s string, width int) *Report {
	return r.field(fmt.Sprintf("%*s", width, s), s)
}

// Int appends a signed integer in width columns.
func (r *Report) Int(v int64, width int) *Report {
	return r.field(fmt.Sprintf("%*d", width, v), strconv.FormatInt(v, 10))
}

// Uint appends an unsigned integer in width columns.
func (r *Report) Uint(v uint64, width int) *Report {
	return r.field(fmt.Sprintf("%*d", width, v), strconv.FormatUint(v, 10))
}

// Octal appends an unsigned integer in octal in width columns.
func (r *Report) Octal(v uint64, width int) *Report {
	return r.field(fmt.Sprintf("%*o", width, v), strconv.FormatUint(v, 8))
}

// Float appends a number with prec decimals in width columns, with an
// explicit sign when signed (the sign is dropped in CSV mode).
func (r *Report) Float(v float64, width, prec int, signed bool) *Report {
	human := fmt.Sprintf("%*.*f", width, prec, v)
	if signed {
		human = fmt.Sprintf("%+*.*f", width, prec, v)
	}
	return r.field(human, fmt.Sprintf("%.*f", prec, v))
}

// Bool appends Yes or No.
func (r *Report) Bool(v bool) *Report {
	if v {
		return r.field("Yes", "Yes")
	}
	return r.field("No", "No")
}

// Interval appends an interval in whole seconds with a unit (4 columns),
// or the plain number of seconds in CSV mode.
func (r *Report) Interval(s uint32) *Report {
	return r.field(FormatInterval(s), strconv.FormatUint(uint64(s), 10))
}

// Duration appends a time in seconds scaled to ns/us/ms/s/...; signed
// shows the sign and takes one more column. CSV mode prints seconds.
func (r *Report) Duration(s float64, signed bool) *Report {
	human := FormatDuration(s)
	if signed {
		human = FormatSignedDuration(s)
	}
	return r.field(human, fmt.Sprintf("%.9f", s))
}

// Freq appends a frequency in ppm in ten columns (three decimals in CSV).
func (r *Report) Freq(ppm float64, signed bool) *Report {
	return r.field(FormatFreq(ppm, signed), fmt.Sprintf("%.3f", ppm))
}

// OffsetFastSlow appends the magnitude of an offset in seconds followed by
// "seconds fast" or "seconds slow" (a positive offset means slow).
func (r *Report) OffsetFastSlow(s float64, prec int) *Report {
	word := "fast"
	if s > 0 {
		word = "slow"
	}
	return r.field(fmt.Sprintf("%.*f seconds %s", prec, abs(s), word), fmt.Sprintf("%.9f", s))
}

// FreqFastSlow appends the magnitude of a frequency offset in ppm followed
// by "ppm fast" or "ppm slow" (a positive value means fast).
func (r *Report) FreqFastSlow(ppm float64, prec int) *Report {
	word := "slow"
	if ppm > 0 {
		word = "fast"
	}
	return r.field(fmt.Sprintf("%.*f ppm %s", prec, abs(ppm), word), fmt.Sprintf("%.3f", ppm))
}

// Leap appends a leap status in words, or as one character when short
// (the words are used in CSV mode).
func (r *Report) Leap(leap int, short bool) *Report {
	return r.field(LeapName(leap, short), LeapName(leap, false))
}

// RefID appends a reference ID in eight hexadecimal digits.
func (r *Report) RefID(id uint32) *Report {
	s := fmt.Sprintf("%08X", id)
	return r.field(s, s)
}

// Time appends a time as a UTC date ("Thu Jan 01 00:00:00 1970"), or as
// seconds.nanoseconds since the epoch in CSV mode.
func (r *Report) Time(t time.Time) *Report {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.UTC()
	return r.field(t.Format("Mon Jan 02 15:04:05 2006"), fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()))
}

// Bits appends the n low bits of v in binary, most significant first.
func (r *Report) Bits(v uint64, n int) *Report {
	b := make([]byte, n)
	for i := range n {
		b[i] = '0' + byte(v>>uint(n-1-i)&1)
	}
	return r.field(string(b), string(b))
}

// ClientInterval appends a clients log2 interval (" -" when unknown).
func (r *Report) ClientInterval(rate int8) *Report {
	return r.field(FormatClientInterval(rate), strconv.Itoa(int(rate)))
}

// Header appends a table header and its underline of '=' (text mode only).
func (r *Report) Header(h string) *Report {
	return r.Text(h + "\n" + strings.Repeat("=", len(h)) + "\n")
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
