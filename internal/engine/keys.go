package engine

import (
	"bytes"

	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/source"
)

// SetKeys replaces the key set the sources authenticate with (chronyc
// rekey). chronyd looks a source's key up by its ID whenever it is used;
// here a source whose key appeared, disappeared or changed gets a new
// protocol state machine with the new key, keeping its statistics and
// selection state. Sources whose key is unchanged are left alone.
func (e *Engine) SetKeys(ks *auth.KeySet) {
	old := e.keys
	e.keys = ks
	if !e.started || e.stopped {
		return
	}
	now := e.now()
	for _, s := range append([]*sourceEntry(nil), e.sources...) {
		id := s.opts.Key
		if id == 0 || s.opts.NTS || sameKey(old, ks, id) {
			continue
		}
		sm, err := source.New(s.remote().Addr(), s.opts, e.sourceEnv(s))
		if err != nil {
			e.log.WithError(err).Warnf("Could not update key of source %s", s.remote().Addr())
			continue
		}
		s.stopTimer()
		s.sm = sm
		s.apply(s.sm.Start(now))
	}
	e.after()
}

// sameKey reports whether key id is the same in both sets (both missing,
// or the same type and value).
func sameKey(a, b *auth.KeySet, id uint32) bool {
	ka, okA := a.Lookup(id)
	kb, okB := b.Lookup(id)
	if !okA || !okB {
		return okA == okB
	}
	return ka.Type == kb.Type && bytes.Equal(ka.Value, kb.Value)
}

// Keys returns the key set given to new sources.
func (e *Engine) Keys() *auth.KeySet { return e.keys }
