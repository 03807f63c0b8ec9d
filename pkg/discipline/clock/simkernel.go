package clock

import (
	"errors"
	"fmt"

	"time"

	"golang.org/x/sys/unix"
)

// Limits of the Linux adjtimex interface modelled by SimKernel.
const (
	kernelMaxFreq = 500 * freqScale // timex freq units (500 ppm)
	secondsPerDay = 86400
	// kernelMaxErrorRate is how fast the kernel grows maxerror (µs/s).
	kernelMaxErrorRate = 500
	// kernelPhaseLimit is the maxerror (µs) at which the kernel sets
	// STA_UNSYNC on its own.
	kernelPhaseLimit = 16000000
)

// errInvalid mirrors EINVAL from adjtimex.
var errInvalid = errors.New("invalid argument")

// SimKernel is a simulated Linux kernel clock implementing Syscalls. Its
// raw clock runs from an external true time: raw = true + error, where the
// error grows at the hardware frequency error combined with the tick and
// frequency set through adjtimex. maxerror grows by 500 µs/s and the kernel
// sets STA_UNSYNC itself at 16 s, as Linux does. Everything is deterministic; it handles
// the adjtimex modes chronyd uses, including ADJ_SETOFFSET steps and the
// kernel's own leap second insertion or deletion at UTC midnight.
type SimKernel struct {
	trueNow     func() time.Time
	base        time.Time // true time of the last rebase
	offset      float64   // raw - true at base, seconds
	hwFreq      float64   // hardware frequency error, s/s (positive = fast)
	nominalTick int64
	tick        int64
	freq        int64
	status      int32
	maxerror    float64 // µs, grows by kernelMaxErrorRate
	esterror    int64
	constant    int64
	tai         int32
	pllOffset   int64
	leapDone    bool
	leapAt      time.Time // raw time of the armed leap
	steps       int
}

var _ Syscalls = (*SimKernel)(nil)

// NewSimKernel returns a kernel whose clock is timeError seconds ahead of
// trueNow() and runs freqError (s/s) fast.
func NewSimKernel(trueNow func() time.Time, timeError, freqError float64) *SimKernel {
	tick := int64((1000000 + userHz/2) / userHz)
	return &SimKernel{
		trueNow:     trueNow,
		base:        trueNow(),
		offset:      timeError,
		hwFreq:      freqError,
		nominalTick: tick,
		tick:        tick,
		status:      unix.STA_UNSYNC,
		maxerror:    kernelPhaseLimit,
		esterror:    16000000,
	}
}

// rate returns the raw clock's frequency error in s/s.
func (k *SimKernel) rate() float64 {
	adj := float64(k.tick-k.nominalTick)/float64(k.nominalTick) + float64(k.freq)/freqScale*1e-6
	return (1+k.hwFreq)*(1+adj) - 1
}

// rebase moves the base to the current true time, applying a due leap.
func (k *SimKernel) rebase() time.Time {
	t := k.trueNow()
	elapsed := diffSeconds(t, k.base)
	k.offset += k.rate() * elapsed
	if elapsed > 0 {
		k.maxerror += kernelMaxErrorRate * elapsed
		if k.maxerror > kernelPhaseLimit {
			k.maxerror = kernelPhaseLimit
			k.status |= unix.STA_UNSYNC
		}
	}
	k.base = t
	k.applyLeap(t)
	return t
}

func (k *SimKernel) applyLeap(t time.Time) {
	if k.leapDone || k.status&(unix.STA_INS|unix.STA_DEL) == 0 || k.leapAt.IsZero() {
		return
	}
	if addSeconds(t, k.offset).Before(k.leapAt) {
		return
	}
	if k.status&unix.STA_INS != 0 {
		k.offset--
		k.tai++
	} else {
		k.offset++
		k.tai--
	}
	k.leapDone = true
}

// armLeap computes when the armed leap happens (raw time).
func (k *SimKernel) armLeap(t time.Time) {
	k.leapDone = false
	k.leapAt = time.Time{}
	if k.status&(unix.STA_INS|unix.STA_DEL) == 0 {
		return
	}
	raw := addSeconds(t, k.offset).Unix()
	midnight := (raw/secondsPerDay + 1) * secondsPerDay
	if k.status&unix.STA_DEL != 0 {
		midnight--
	}
	k.leapAt = time.Unix(midnight, 0)
}

// ClockGettime implements Syscalls.
func (k *SimKernel) ClockGettime() (time.Time, error) {
	t := k.rebase()
	return addSeconds(t, k.offset), nil
}

// Adjtimex implements Syscalls.
func (k *SimKernel) Adjtimex(tx *unix.Timex) (int, error) {
	t := k.rebase()
	m := tx.Modes
	if m&unix.ADJ_TICK != 0 && (tx.Tick < k.nominalTick*9/10 || tx.Tick > k.nominalTick*11/10) {
		return -1, fmt.Errorf("adjtimex tick %d: %w", tx.Tick, errInvalid)
	}
	if m == unix.ADJ_OFFSET_SINGLESHOT {
		if tx.Offset != 0 {
			return -1, fmt.Errorf("adjtime offset not modelled: %w", errInvalid)
		}
	} else {
		if m&unix.ADJ_SETOFFSET != 0 {
			scale := 1e-6
			if m&unix.ADJ_NANO != 0 {
				scale = 1e-9
			}
			if tx.Time.Usec < 0 || float64(tx.Time.Usec)*scale >= 1 {
				return -1, fmt.Errorf("adjtimex setoffset: %w", errInvalid)
			}
			k.offset += float64(tx.Time.Sec) + float64(tx.Time.Usec)*scale
			k.steps++
		}
		if m&unix.ADJ_STATUS != 0 {
			old := k.status & (unix.STA_INS | unix.STA_DEL)
			k.status = tx.Status
			if k.status&(unix.STA_INS|unix.STA_DEL) != old {
				k.armLeap(t)
			}
		}
		if m&unix.ADJ_OFFSET != 0 {
			k.pllOffset = tx.Offset
		}
		if m&unix.ADJ_FREQUENCY != 0 {
			k.freq = max(-kernelMaxFreq, min(tx.Freq, kernelMaxFreq))
		}
		if m&unix.ADJ_TICK != 0 {
			k.tick = tx.Tick
		}
		if m&unix.ADJ_MAXERROR != 0 {
			k.maxerror = float64(tx.Maxerror)
		}
		if m&unix.ADJ_ESTERROR != 0 {
			k.esterror = tx.Esterror
		}
		if m&unix.ADJ_TAI != 0 {
			k.tai = int32(tx.Constant)
		}
		if m&unix.ADJ_TIMECONST != 0 {
			k.constant = tx.Constant
		}
	}
	*tx = unix.Timex{
		Modes:    tx.Modes,
		Offset:   k.pllOffset,
		Freq:     k.freq,
		Maxerror: int64(k.maxerror),
		Esterror: k.esterror,
		Status:   k.status,
		Constant: k.constant,
		Tick:     k.tick,
		Tai:      k.tai,
	}
	return k.state(), nil
}

func (k *SimKernel) state() int {
	switch {
	case k.leapDone && k.status&(unix.STA_INS|unix.STA_DEL) != 0:
		return unix.TIME_WAIT
	case k.status&unix.STA_UNSYNC != 0:
		return unix.TIME_ERROR
	case k.status&unix.STA_INS != 0:
		return unix.TIME_INS
	case k.status&unix.STA_DEL != 0:
		return unix.TIME_DEL
	}
	return unix.TIME_OK
}

// TimeError returns raw - true time now, in seconds.
func (k *SimKernel) TimeError() float64 {
	k.rebase()
	return k.offset
}

// FrequencyError returns the raw clock's frequency error now, in s/s.
func (k *SimKernel) FrequencyError() float64 { return k.rate() }

// SetFrequencyError sets the hardware frequency error (s/s) from now on, as
// the simulator's random walk does.
func (k *SimKernel) SetFrequencyError(f float64) {
	k.rebase()
	k.hwFreq = f
}

// SetTimeError moves the raw clock so that it is e seconds ahead of true
// time (an external step).
func (k *SimKernel) SetTimeError(e float64) {
	k.rebase()
	k.offset = e
}

// Status returns the kernel's status word, maxerror and esterror (µs).
func (k *SimKernel) Status() (status int32, maxError, estError int64) {
	k.rebase()
	return k.status, int64(k.maxerror), k.esterror
}

// TAI returns the kernel's TAI-UTC offset.
func (k *SimKernel) TAI() int32 { return k.tai }

// Steps returns how many ADJ_SETOFFSET steps were applied.
func (k *SimKernel) Steps() int { return k.steps }
