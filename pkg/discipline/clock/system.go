package clock

// System is the Linux system clock driven through adjtimex, with offsets
// slewed by temporary frequency changes (chronyd's sys_linux, sys_timex and
// sys_generic drivers).
type System struct {
	*Local
	timex *timexDriver
	slew  *slewer
}

var _ Clock = (*System)(nil)

// NewSystem initialises the kernel's clock state (resets the PLL and adjtime
// offsets, sets STA_UNSYNC) and reads the current frequency.
func NewSystem(sys Syscalls, opts Options) (*System, error) {
	opts = opts.withDefaults()
	td, err := newTimexDriver(sys, userHz, opts.RTCSync, opts.Logger)
	if err != nil {
		return nil, err
	}
	s := &System{Local: newLocal(opts), timex: td}
	s.slew = newSlewer(td, s.Local, td.maxSetFreqPPM(), 1.0/tickUpdateHz, opts.MaxSlewRate)
	s.attach(s.slew)
	return s, td.fatal
}

// Err returns the first failed system call that chronyd would treat as
// fatal, or nil.
func (s *System) Err() error { return s.timex.fatal }

// OffsetRegister returns the offset (s) still being slewed.
func (s *System) OffsetRegister() float64 {
	corr, _ := s.slew.offsetCorrection(s.ReadRaw())
	return -corr
}
