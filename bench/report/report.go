// Package report holds the benchmark's figures, prints them as a table
// with the ratios chronygo/chronyd and chronygo/echo, and writes them as
// JSON (bench/results.json).
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Better tells which way a figure improves.
type Better string

const (
	// Higher is better (replies/s, round trips/s).
	Higher Better = "higher"
	// Lower is better (CPU, memory, error, time).
	Lower Better = "lower"
)

// Target is a bound on the ratio chronygo/chronyd.
type Target struct {
	// Op is "<=" or ">=".
	Op string `json:"op"`
	// Ratio is the bound.
	Ratio float64 `json:"ratio"`
}

// Met reports whether chronygo's value satisfies the target against
// chronyd's, compared as chronygo OP Ratio × chronyd so that a zero for
// chronyd still gives a verdict.
func (t Target) Met(chronygo, chronyd float64) bool {
	switch t.Op {
	case "<=":
		return chronygo <= t.Ratio*chronyd
	case ">=":
		return chronygo >= t.Ratio*chronyd
	}
	return false
}

// String is e.g. "<= 0.95".
func (t Target) String() string { return fmt.Sprintf("%s %g", t.Op, t.Ratio) }

// Figure is one measured quantity for each daemon. A nil value is "n/a"
// and NA says why.
type Figure struct {
	// Section groups figures (e.g. "throughput").
	Section string `json:"section"`
	// Name says what was measured.
	Name string `json:"name"`
	// Unit is the unit of the values.
	Unit string `json:"unit"`
	// Better tells which way the figure improves.
	Better Better `json:"better"`
	// Chronygo, Chronyd and Echo are the values (Echo only for
	// throughput).
	Chronygo *float64 `json:"chronygo"`
	Chronyd  *float64 `json:"chronyd"`
	Echo     *float64 `json:"echo,omitempty"`
	// Target bounds chronygo/chronyd (nil: none).
	Target *Target `json:"target,omitempty"`
	// NA says why a value is missing.
	NA string `json:"na,omitempty"`
	// Note adds detail (rounds, loss, spread).
	Note string `json:"note,omitempty"`
}

// Ratio is chronygo/chronyd, or nil when either is missing or chronyd's
// is zero.
func (f Figure) Ratio() *float64 { return ratio(f.Chronygo, f.Chronyd) }

// EchoRatio is chronygo/echo.
func (f Figure) EchoRatio() *float64 { return ratio(f.Chronygo, f.Echo) }

// Met reports whether the target is met: nil when there is no target or
// a value is missing.
func (f Figure) Met() *bool {
	if f.Target == nil || f.Chronygo == nil || f.Chronyd == nil {
		return nil
	}
	m := f.Target.Met(*f.Chronygo, *f.Chronyd)
	return &m
}

func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 || math.IsNaN(*a) || math.IsNaN(*b) {
		return nil
	}
	r := *a / *b
	return &r
}

// Value returns a pointer to v for a Figure field.
func Value(v float64) *float64 { return &v }

// Results is everything one benchmark run measured.
type Results struct {
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Versions names the programs measured.
	Versions map[string]string `json:"versions"`
	// Settings records the parameters (durations, rounds, windows).
	Settings map[string]string `json:"settings"`
	// Figures are the measurements in table order.
	Figures []Figure `json:"figures"`
	// Notes are remarks on the run (missing knobs, shortened phases).
	Notes []string `json:"notes,omitempty"`
}

// Add appends a figure.
func (r *Results) Add(f Figure) { r.Figures = append(r.Figures, f) }

// Note appends a remark.
func (r *Results) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// jsonFigure is a Figure with its derived fields.
type jsonFigure struct {
	Figure
	Ratio     *float64 `json:"ratio_chronygo_chronyd"`
	EchoRatio *float64 `json:"ratio_chronygo_echo,omitempty"`
	Met       *bool    `json:"target_met,omitempty"`
}

// MarshalJSON adds the ratios and the verdict on each target.
func (r Results) MarshalJSON() ([]byte, error) {
	type plain Results
	out := struct {
		plain
		Figures []jsonFigure `json:"figures"`
	}{plain: plain(r)}
	for _, f := range r.Figures {
		out.Figures = append(out.Figures, jsonFigure{Figure: f, Ratio: f.Ratio(), EchoRatio: f.EchoRatio(), Met: f.Met()})
	}
	return encode(out, "")
}

// encode marshals v without escaping "<", ">" and "&" (the targets
// read "<= 0.95").
func encode(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON writes the results, indented, to path.
func (r Results) WriteJSON(path string) error {
	b, err := encode(r, "  ")
	if err != nil {
		return fmt.Errorf("report: encoding results: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	return nil
}

// FormatValue prints a value with a precision that suits its size.
func FormatValue(v *float64) string {
	if v == nil {
		return "n/a"
	}
	a := math.Abs(*v)
	switch {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", *v)
	case a >= 100:
		return fmt.Sprintf("%.1f", *v)
	case a >= 1:
		return fmt.Sprintf("%.2f", *v)
	default:
		return fmt.Sprintf("%.3g", *v)
	}
}

func formatRatio(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", *v)
}

// WriteTable prints the figures as an aligned table, a section at a time,
// followed by the reasons for n/a and the notes.
func (r Results) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tunit\tchronygo\tchronyd 4.3\tgo/chronyd\techo\tgo/echo\ttarget\tmet\t")
	section := ""
	var reasons []string
	for _, f := range r.Figures {
		if f.Section != section {
			section = f.Section
			fmt.Fprintf(tw, "[%s]\t\t\t\t\t\t\t\t\t\n", section)
		}
		target, met := "", ""
		if f.Target != nil {
			target = "go/chronyd " + f.Target.String()
			met = "n/a"
			if m := f.Met(); m != nil {
				met = map[bool]string{true: "yes", false: "NO"}[*m]
			}
		}
		echo, echoRatio := "", ""
		if f.Echo != nil || f.Section == "throughput" {
			echo, echoRatio = FormatValue(f.Echo), formatRatio(f.EchoRatio())
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f.Name, f.Unit,
			FormatValue(f.Chronygo), FormatValue(f.Chronyd), formatRatio(f.Ratio()), echo, echoRatio, target, met)
		if f.NA != "" {
			reasons = append(reasons, fmt.Sprintf("%s / %s: n/a: %s", f.Section, f.Name, f.NA))
		}
		if f.Note != "" {
			reasons = append(reasons, fmt.Sprintf("%s / %s: %s", f.Section, f.Name, f.Note))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: printing the table: %w", err)
	}
	if len(reasons) > 0 {
		fmt.Fprintf(w, "\nDetails:\n  %s\n", strings.Join(reasons, "\n  "))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n  %s\n", strings.Join(r.Notes, "\n  "))
	}
	return nil
}
