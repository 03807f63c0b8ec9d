package clock

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// Constants of chronyd's timex driver.
const (
	freqScale    = 1 << 16 // timex freq units per ppm
	maxSyncError = 16.0    // s; maxerror at which the kernel sets UNSYNC
	// tickUpdateHz is the assumed rate of frequency updates in kernels
	// from 4.19 on: changes apply within 10 µs.
	tickUpdateHz = 100000
	// userHz is Linux's USER_HZ, the unit of the adjtimex tick field.
	userHz = 100
)

// timexDriver is chronyd's Linux timex driver: frequency via tick and freq,
// steps via ADJ_SETOFFSET, leap and sync status via the status word.
type timexDriver struct {
	sys              Syscalls
	log              Logger
	hz               float64
	nominalTick      int64
	currentDeltaTick int64
	status           int32
	taiOffset        int
	rtcSync          bool
	last             *unix.Timex
	fatal            error
}

func newTimexDriver(sys Syscalls, hz int, rtcSync bool, log Logger) (*timexDriver, error) {
	if hz <= 0 {
		hz = 100
	}
	d := &timexDriver{
		sys:         sys,
		log:         log,
		hz:          float64(hz),
		nominalTick: (1000000 + int64(hz)/2) / int64(hz),
		rtcSync:     rtcSync,
		status:      unix.STA_UNSYNC,
	}
	// Reset the adjtime() offset, then the PLL offset, then turn the PLL off.
	steps := []unix.Timex{
		{Modes: unix.ADJ_OFFSET_SINGLESHOT},
		{Modes: unix.ADJ_OFFSET | unix.ADJ_STATUS, Status: unix.STA_PLL | d.status},
		{Modes: unix.ADJ_STATUS, Status: d.status},
	}
	for i := range steps {
		if _, err := d.adjust(&steps[i], false); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *timexDriver) maxSetFreqPPM() float64 {
	maxBias := d.nominalTick / 10
	return 1e6 * float64(maxBias) / float64(d.nominalTick)
}

// adjust calls adjtimex and checks for interference by another program.
func (d *timexDriver) adjust(tx *unix.Timex, ignoreError bool) (int, error) {
	state, err := d.sys.Adjtimex(tx)
	if err != nil {
		if !ignoreError {
			d.fatal = err
		}
		return state, fmt.Errorf("timex driver: %w", err)
	}
	if l := d.last; l != nil &&
		(((l.Status^tx.Status)&unix.STA_PLL != 0 && tx.Modes&unix.ADJ_STATUS == 0) ||
			(l.Constant != tx.Constant && tx.Modes&unix.ADJ_TIMECONST == 0) ||
			(l.Freq != tx.Freq && tx.Modes&unix.ADJ_FREQUENCY == 0)) {
		d.log.Warnf("System clock interference detected (another NTP client?)")
	}
	c := *tx
	d.last = &c
	return state, nil
}

func (d *timexDriver) readRaw() time.Time {
	t, err := d.sys.ClockGettime()
	if err != nil {
		d.fatal = err
	}
	return t
}

func (d *timexDriver) readFrequency() float64 {
	tx := unix.Timex{}
	_, _ = d.adjust(&tx, false)
	d.currentDeltaTick = d.nominalTick - tx.Tick
	return d.hz*float64(d.currentDeltaTick) - float64(tx.Freq)/freqScale
}

func (d *timexDriver) setFrequency(ppm float64) float64 {
	delta := int64(math.Round(ppm / d.hz))
	// Stick to the current tick when the required one is next to it.
	if d.hz <= 250 && (delta+1 == d.currentDeltaTick || delta-1 == d.currentDeltaTick) {
		delta = d.currentDeltaTick
	}
	required := -(ppm - d.hz*float64(delta))
	tx := unix.Timex{
		Modes: unix.ADJ_TICK | unix.ADJ_FREQUENCY,
		Freq:  int64(required * freqScale),
		Tick:  d.nominalTick - delta,
	}
	_, _ = d.adjust(&tx, false)
	d.currentDeltaTick = delta
	return d.hz*float64(d.currentDeltaTick) - float64(tx.Freq)/freqScale
}

func (d *timexDriver) applyStep(offset float64) error {
	sec := math.Trunc(-offset)
	nsec := math.Round(1e9 * (-offset - sec))
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO}
	tx.Time.Sec = int64(sec)
	tx.Time.Usec = int64(nsec)
	if tx.Time.Usec < 0 {
		tx.Time.Sec--
		tx.Time.Usec += 1e9
	}
	if tx.Time.Usec >= 1e9 {
		tx.Time.Sec++
		tx.Time.Usec -= 1e9
	}
	_, err := d.adjust(&tx, true)
	return err
}

func (d *timexDriver) canLeap() bool { return true }

func (d *timexDriver) setLeap(leap, taiOffset int) {
	tx := unix.Timex{}
	state, _ := d.adjust(&tx, false)
	applied := state == unix.TIME_WAIT
	prev := d.status
	d.status &^= unix.STA_INS | unix.STA_DEL
	if leap > 0 {
		d.status |= unix.STA_INS
	} else if leap < 0 {
		d.status |= unix.STA_DEL
	}
	tx = unix.Timex{Modes: unix.ADJ_STATUS, Status: d.status}
	if taiOffset != 0 {
		tx.Modes |= unix.ADJ_TAI
		tx.Constant = int64(taiOffset)
		if applied && d.status&(unix.STA_INS|unix.STA_DEL) == 0 {
			if prev&unix.STA_INS != 0 {
				d.taiOffset++
			} else {
				d.taiOffset--
			}
		}
		if d.taiOffset != taiOffset {
			d.taiOffset = taiOffset
			d.log.Infof("System clock TAI offset set to %d seconds", taiOffset)
		}
	}
	_, _ = d.adjust(&tx, false)
	if prev != d.status {
		var what string
		switch {
		case leap > 0:
			what = "set to insert"
		case leap < 0:
			what = "set to delete"
		case applied:
			what = "reset after"
		default:
			what = "set to not insert/delete"
		}
		d.log.Infof("System clock status %s leap second", what)
	}
}

func (d *timexDriver) setSyncStatus(synchronised bool, estError, maxError float64) {
	if synchronised {
		estError = math.Min(estError, maxSyncError)
		if maxError >= maxSyncError {
			maxError = maxSyncError
			synchronised = false
		}
	} else {
		estError, maxError = maxSyncError, maxSyncError
	}
	// On Linux the UNSYNC flag is cleared only with rtcsync (the kernel's
	// 11-minute mode copies the system time to the RTC while it is clear).
	if !d.rtcSync {
		synchronised = false
	}
	if synchronised {
		d.status &^= unix.STA_UNSYNC
	} else {
		d.status |= unix.STA_UNSYNC
	}
	tx := unix.Timex{
		Modes:    unix.ADJ_STATUS | unix.ADJ_ESTERROR | unix.ADJ_MAXERROR,
		Status:   d.status,
		Esterror: int64(estError * 1e6),
		Maxerror: int64(maxError * 1e6),
	}
	_, _ = d.adjust(&tx, true)
}
