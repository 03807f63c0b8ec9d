package wiring

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/server"
)

var _ cmdmon.KeyInfo = (*referenceHandler)(nil)

// maintenance carries out chronyc rekey and cyclelogs for the daemon: it
// reloads the key file into the NTP server's authenticator and reopens the
// log files the engine writes. It is safe for concurrent use.
type maintenance struct {
	keyFile string
	log     logrus.FieldLogger

	mu   sync.Mutex
	auth *server.KeyAuthenticator
	keys *auth.KeySet
	logs []*logFiles
	// keyUsers are told the keys read again by rekey (the engine's
	// sources).
	keyUsers []func(*auth.KeySet)
}

// currentKeys returns the keys last read (nil without a keyfile).
func (m *maintenance) currentKeys() *auth.KeySet {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys
}

// onRekey registers fn to receive the keys each rekey reads.
func (m *maintenance) onRekey(fn func(*auth.KeySet)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keyUsers = append(m.keyUsers, fn)
}

// setKeys gives the keys read at start and the authenticator rekey
// reloads.
func (m *maintenance) setKeys(keys *auth.KeySet, a *server.KeyAuthenticator) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys, m.auth = keys, a
}

// keyInfo returns chronyd's type code and the length in bits of a key.
func (m *maintenance) keyInfo(id uint32) (keyType, bits uint16, ok bool) {
	m.mu.Lock()
	keys := m.keys
	m.mu.Unlock()
	if keys == nil {
		return 0, 0, false
	}
	k, found := keys.Lookup(id)
	if !found {
		return 0, 0, false
	}
	return candm.KeyTypeCode(k.Type), uint16(k.Bits()), true
}

// KeyInfo implements cmdmon.KeyInfo from the key file (authdata's key
// type and length).
func (h *referenceHandler) KeyInfo(id uint32) (keyType, bits uint16, ok bool) {
	if h.maint == nil {
		return 0, 0, false
	}
	return h.maint.keyInfo(id)
}

// addLogs registers log files for cyclelogs (a nil maintenance ignores
// them).
func (m *maintenance) addLogs(l *logFiles) {
	if m == nil || l == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, l)
}

// rekey reads the key file again (chronyc rekey). As chronyd, problems
// with the file are logged and leave the keys that could be read; without
// a keyfile directive there is nothing to do.
func (m *maintenance) rekey() {
	if m.keyFile == "" {
		return
	}
	keys := loadKeys(m.keyFile, m.log)
	m.mu.Lock()
	a := m.auth
	m.keys = keys
	users := append(([]func(*auth.KeySet))(nil), m.keyUsers...)
	m.mu.Unlock()
	if a != nil {
		a.SetKeys(keys)
	}
	for _, fn := range users {
		fn(keys)
	}
}

// cycleLogs closes and reopens every log file (chronyc cyclelogs), so that
// a rotated file is left alone and writing goes on in a new one.
func (m *maintenance) cycleLogs() error {
	m.mu.Lock()
	logs := append([]*logFiles(nil), m.logs...)
	m.mu.Unlock()
	var errs []error
	for _, l := range logs {
		errs = append(errs, l.reopen())
	}
	return errors.Join(errs...)
}

// run answers the actions maintenance owns; handled is false for others.
func (m *maintenance) run(a cmdmon.Action) (st candm.Status, handled bool) {
	switch a {
	case cmdmon.ActionRekey:
		m.rekey()
		return candm.StatusSuccess, true
	case cmdmon.ActionCycleLogs:
		if err := m.cycleLogs(); err != nil {
			if m.log != nil {
				m.log.WithError(err).Warn("Could not reopen log files")
			}
			return candm.StatusFailed, true
		}
		return candm.StatusSuccess, true
	}
	return 0, false
}

// Run answers rekey and cyclelogs, and the other actions as a daemon
// without sources does.
func (h *referenceHandler) Run(a cmdmon.Action) candm.Status {
	if h.maint != nil {
		if st, ok := h.maint.run(a); ok {
			return st
		}
	}
	return h.UnsyncedHandler.Run(a)
}

// reopen closes and reopens the log files; the banner is written again
// at the top of each new file.
func (l *logFiles) reopen() error {
	return errors.Join(l.trackingFile.reopen(), l.measurementsFile.reopen(),
		l.statisticsFile.reopen(), l.selectionFile.reopen(), l.rtcFile.reopen())
}

// reopen closes the file and opens its path again for appending.
func (l *logFile) reopen() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	path := l.f.Name()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("could not reopen log file %s: %w", path, err)
	}
	_ = l.f.Close()
	l.f = f
	l.writes = 0
	return nil
}
