package clock

import "time"

// Virtual is the system clock driver running on a simulated kernel: the
// simulator's clock. It behaves exactly like System (slewing, quantised
// kernel frequency, steps) and exposes the true errors for statistics.
type Virtual struct {
	*System
	// Kernel is the simulated kernel; the simulator drives its frequency
	// error (SetFrequencyError) and reads its true errors.
	Kernel *SimKernel
}

var _ Clock = (*Virtual)(nil)

// NewVirtual returns a virtual clock timeError seconds ahead of trueNow()
// and freqError (s/s) fast.
func NewVirtual(trueNow func() time.Time, timeError, freqError float64, opts Options) (*Virtual, error) {
	k := NewSimKernel(trueNow, timeError, freqError)
	s, err := NewSystem(k, opts)
	if err != nil {
		return nil, err
	}
	return &Virtual{System: s, Kernel: k}, nil
}

// TrueTimeError returns how far the system clock is ahead of true time (s).
func (v *Virtual) TrueTimeError() float64 { return v.Kernel.TimeError() }

// TrueCookedError returns how far the cooked time is ahead of true time
// (s): the daemon's own estimate of true time versus the truth.
func (v *Virtual) TrueCookedError() float64 {
	raw := v.ReadRaw()
	corr, _ := v.OffsetCorrection(raw)
	return v.Kernel.TimeError() + corr
}

// TrueFrequencyError returns the system clock's frequency error (s/s).
func (v *Virtual) TrueFrequencyError() float64 { return v.Kernel.FrequencyError() }
