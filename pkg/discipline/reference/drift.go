package reference

import (
	"errors"
	"fmt"
	"github.com/chronygo/chronygo/internal/atomicfile"
	"math"
	"os"
	"strconv"
	"strings"
)

// DriftStore loads and saves the frequency estimate (chronyd's driftfile).
type DriftStore interface {
	// Load returns the frequency and skew in ppm.
	Load() (freqPPM, skewPPM float64, err error)
	// Save stores the frequency and skew in ppm.
	Save(freqPPM, skewPPM float64) error
}

// ErrBadDriftFile is returned for a drift file without two numbers.
var ErrBadDriftFile = errors.New("could not read valid frequency and skew")

// DriftFile is a DriftStore in chronyd's format: one line with the
// frequency and the skew in ppm. Saving writes PATH.tmp and renames it, so a
// failed save leaves the old file in place.
type DriftFile struct {
	Path string
}

// String returns the file's path, for log messages.
func (d DriftFile) String() string { return d.Path }

// ParseDrift parses the content of a drift file.
func ParseDrift(text string) (freqPPM, skewPPM float64, err error) {
	fields := strings.Fields(text)
	if len(fields) < 2 {
		return 0, 0, ErrBadDriftFile
	}
	f, err1 := strconv.ParseFloat(fields[0], 64)
	s, err2 := strconv.ParseFloat(fields[1], 64)
	if err1 != nil || err2 != nil || !isFinite(f) || !isFinite(s) {
		return 0, 0, ErrBadDriftFile
	}
	return f, s, nil
}

// isFinite rejects the NaN and infinities that strconv.ParseFloat accepts
// ("nan", "inf"): such a frequency would poison the clock discipline.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FormatDrift renders the drift file's line as chronyd writes it.
func FormatDrift(freqPPM, skewPPM float64) string {
	return fmt.Sprintf("%20.6f %20.6f\n", freqPPM, skewPPM)
}

// Load implements DriftStore.
func (d DriftFile) Load() (float64, float64, error) {
	b, err := os.ReadFile(d.Path)
	if err != nil {
		return 0, 0, fmt.Errorf("driftfile %s: %w", d.Path, err)
	}
	f, s, err := ParseDrift(string(b))
	if err != nil {
		return 0, 0, fmt.Errorf("driftfile %s: %w", d.Path, err)
	}
	return f, s, nil
}

// Save implements DriftStore. The file is replaced atomically, so a failed
// write keeps the previous one.
func (d DriftFile) Save(freqPPM, skewPPM float64) error {
	if err := atomicfile.Write(d.Path, []byte(FormatDrift(freqPPM, skewPPM)), 0o644); err != nil {
		return fmt.Errorf("driftfile: %w", err)
	}
	return nil
}
