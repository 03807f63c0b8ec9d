package wiring

import (
	"time"

	"github.com/chronygo/chronygo/pkg/conf"
	"github.com/chronygo/chronygo/pkg/discipline"
)

// localRefTimeLag is how far before now the local reference's time is set,
// as chronyd does, so that a transmit timestamp never precedes it.
const localRefTimeLag = time.Second

// InitialSnapshot is the reference the daemon serves before any engine runs:
// the local reference (stratum N, reference ID 127.127.1.1, leap normal)
// when "local" is configured and would be active from the start, otherwise
// unsynchronised (leap 3, stratum 0). A local reference that waits for an
// earlier synchronisation (activate, or orphan's waitunsynced) cannot be
// active yet, so it starts unsynchronised too.
func InitialSnapshot(local conf.Local, precision int8, now time.Time) *discipline.ReferenceSnapshot {
	if local.Enabled && local.Activate == 0 && local.WaitUnsynced == 0 {
		return &discipline.ReferenceSnapshot{
			Synchronised: true,
			Leap:         discipline.LeapNormal,
			Stratum:      uint8(local.Stratum),
			RefID:        discipline.LocalRefID,
			RefTime:      now.Add(-localRefTimeLag),
			Precision:    precision,
		}
	}
	return &discipline.ReferenceSnapshot{
		Leap:           discipline.LeapUnsynchronised,
		Stratum:        0,
		RootDelay:      1,
		RootDispersion: 1,
		Precision:      precision,
	}
}
