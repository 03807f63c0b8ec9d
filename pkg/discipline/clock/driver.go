package clock

import "time"

// driver is the system-specific layer under Local (chrony's sys_* drivers).
type driver interface {
	readRaw() time.Time
	readFrequency() float64
	setFrequency(ppm float64) float64
	accrueOffset(offset, corrRate float64)
	applyStep(offset float64) error
	offsetCorrection(raw time.Time) (corr, errBound float64)
	correction() Correction
	canLeap() bool
	setLeap(leap, taiOffset int)
	setSyncStatus(synchronised bool, estError, maxError float64)
	nextTimeout() (time.Time, bool)
	handleTimeout()
	stepped(offset float64)
	close()
}
