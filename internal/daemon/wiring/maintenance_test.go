package wiring

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronygo/chronygo/pkg/cmdmon"
	"github.com/chronygo/chronygo/pkg/cmdmon/candm"
	"github.com/chronygo/chronygo/pkg/ntp/server"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// signs reports whether the authenticator can sign a response with keyID.
func signs(a *server.KeyAuthenticator, keyID uint32) bool {
	resp := make([]byte, 48, 48+wire.MaxMACLen)
	resp[0] = 4<<3 | 4
	_, ok := a.AuthenticateResponse(nil, &wire.Info{Auth: wire.AuthSymmetric, KeyID: keyID, Version: 4}, resp, 0)
	return ok
}

func TestMaintenanceRekey(t *testing.T) {
	tests := []struct {
		name    string
		initial string
		keyFile string // contents after start; "" removes the file
		keyID   uint32
		want    bool
	}{
		{name: "key added", initial: "1 MD5 HEX:00112233\n", keyFile: "1 MD5 HEX:00112233\n9 SHA1 HEX:0011223344556677\n",
			keyID: 9, want: true},
		{name: "key removed", initial: "1 MD5 HEX:00112233\n9 MD5 HEX:44556677\n", keyFile: "1 MD5 HEX:00112233\n",
			keyID: 9, want: false},
		{name: "file gone", initial: "1 MD5 HEX:00112233\n", keyFile: "", keyID: 1, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chrony.keys")
			require.NoError(t, os.WriteFile(path, []byte(tt.initial), 0o600))
			keys := loadKeys(path, nil)
			keyAuth := server.NewKeyAuthenticator(keys)
			require.Equal(t, !tt.want, signs(keyAuth, tt.keyID), "before rekey")
			m := &maintenance{keyFile: path}
			m.setKeys(keys, keyAuth)
			h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: m}
			if tt.keyFile == "" {
				require.NoError(t, os.Remove(path))
			} else {
				require.NoError(t, os.WriteFile(path, []byte(tt.keyFile), 0o600))
			}
			assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionRekey))
			assert.Equal(t, tt.want, signs(keyAuth, tt.keyID))
			_, _, known := h.KeyInfo(tt.keyID)
			assert.Equal(t, tt.want, known, "authdata's key info follows the rekey")
		})
	}
}

func TestMaintenanceRekeyWithoutKeyFile(t *testing.T) {
	h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: &maintenance{}}
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionRekey))
}

func TestMaintenanceCycleLogs(t *testing.T) {
	dir := t.TempDir()
	l, err := openLogFile(dir, "tracking.log", "HEAD", 10)
	require.NoError(t, err)
	logs := &logFiles{trackingFile: l}
	m := &maintenance{}
	m.addLogs(logs)
	m.addLogs(nil)
	h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: m}

	l.write("one")
	path := filepath.Join(dir, "tracking.log")
	rotated := filepath.Join(dir, "tracking.log.1")
	require.NoError(t, os.Rename(path, rotated))
	assert.Equal(t, candm.StatusSuccess, h.Run(cmdmon.ActionCycleLogs))
	l.write("two")
	require.NoError(t, logs.Close())

	old, err := os.ReadFile(rotated)
	require.NoError(t, err)
	assert.Equal(t, "====\nHEAD\n====\none\n", string(old), "the rotated file is left alone")
	fresh, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "====\nHEAD\n====\ntwo\n", string(fresh), "a new file with its banner")
}

func TestMaintenanceCycleLogsFails(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	require.NoError(t, os.Mkdir(sub, 0o700))
	l, err := openLogFile(sub, "tracking.log", "HEAD", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.close() })
	m := &maintenance{}
	m.addLogs(&logFiles{trackingFile: l})
	require.NoError(t, os.RemoveAll(sub))
	require.NoError(t, os.WriteFile(sub, nil, 0o600)) // the folder is now a file
	h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: m}
	assert.Equal(t, candm.StatusFailed, h.Run(cmdmon.ActionCycleLogs))
}

func TestReferenceHandlerRunPassesOn(t *testing.T) {
	tests := []struct {
		action cmdmon.Action
		want   candm.Status
	}{
		{cmdmon.ActionTrimRTC, candm.StatusNoRTC},
		{cmdmon.ActionDump, candm.StatusSuccess},
		{cmdmon.ActionRekey, candm.StatusSuccess},
		{cmdmon.ActionCycleLogs, candm.StatusSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.action.String(), func(t *testing.T) {
			h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: &maintenance{}}
			assert.Equal(t, tt.want, h.Run(tt.action))
		})
	}
}

func TestServerCommandLog(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.1")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	assert.True(t, serverCommandLog{}.LogCommand(addr, now), "no server yet: pass")
	assert.True(t, serverCommandLog{ntp: &ntpServer{}}.LogCommand(addr, now), "server not started: pass")
}

func TestReferenceHandlerKeyInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chrony.keys")
	require.NoError(t, os.WriteFile(path, []byte("1 HEX:00112233445566778899\n2 SHA256 HEX:0011223344556677\n3 AES128 HEX:00112233445566778899AABBCCDDEEFF\n"), 0o600))
	m := &maintenance{keyFile: path}
	m.setKeys(loadKeys(path, nil), nil)
	h := &referenceHandler{UnsyncedHandler: &cmdmon.UnsyncedHandler{}, maint: m}
	tests := []struct {
		id         uint32
		typ, bits  uint16
		wantExists bool
	}{
		{1, 1, 80, true},
		{2, 3, 64, true},
		{3, 13, 128, true},
		{4, 0, 0, false},
	}
	for _, tt := range tests {
		typ, bits, ok := h.KeyInfo(tt.id)
		assert.Equal(t, tt.wantExists, ok, "key %d", tt.id)
		assert.Equal(t, tt.typ, typ, "type of key %d", tt.id)
		assert.Equal(t, tt.bits, bits, "bits of key %d", tt.id)
	}
	_, _, ok := (&referenceHandler{}).KeyInfo(1)
	assert.False(t, ok, "no key file")
}
