package server

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyAuthenticator(t *testing.T) {
	md5Key, err := auth.NewKey(1, "MD5", []byte("secret"))
	require.NoError(t, err)
	sha256Key, err := auth.NewKey(2, "SHA256", []byte("another secret"))
	require.NoError(t, err)
	unknown, err := auth.NewKey(3, "MD5", []byte("nobody knows"))
	require.NoError(t, err)
	keys := auth.NewKeySet(md5Key, sha256Key)

	signed := func(version uint8, key *auth.Key) []byte {
		b, err := auth.Sign(request(reqOpts{version: version, tx: 42}), key)
		require.NoError(t, err)
		return b
	}
	corrupt := signed(4, md5Key)
	corrupt[len(corrupt)-1] ^= 1
	tests := []struct {
		name    string
		req     []byte
		drop    Drop
		respLen int
	}{
		{name: "md5 v4", req: signed(4, md5Key), respLen: 48 + 20},
		{name: "sha256 v3", req: signed(3, sha256Key), respLen: 48 + 36},
		{name: "sha256 v4 truncated", req: signed(4, sha256Key), respLen: 48 + 24},
		{name: "unknown key", req: signed(4, unknown), drop: DropAuth},
		{name: "bad digest", req: corrupt, drop: DropAuth},
		{name: "plain", req: request(reqOpts{tx: 1}), respLen: 48},
		{name: "ms-sntp", req: request(reqOpts{version: 3, tx: 1, extra: append(binary.BigEndian.AppendUint32(nil, 9), make([]byte, 16)...)}), drop: DropAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{auth: NewKeyAuthenticator(keys)})
			out := make([]byte, wire.MaxPacketLen)
			req := &Request{Data: tc.req, From: netip.MustParseAddrPort("198.51.100.2:123"), RxRaw: t0}
			n, _, d := f.resp.Handle(req, syncedSnapshot(), f.clock, out)
			require.Equal(t, tc.drop, d)
			require.Equal(t, tc.respLen, n)
			if n > wire.HeaderLen {
				pa, err := auth.LocateMAC(out[:n])
				require.NoError(t, err)
				assert.True(t, keys.Verify(out[:n], pa, nil), "response MAC verifies")
				assert.Equal(t, uint64(1), f.shared.Stats.Snapshot().NTPAuthHits)
			}
		})
	}
	a := NewKeyAuthenticator(nil)
	ok, _ := a.CheckRequest(signed(4, md5Key), &wire.Info{Auth: wire.AuthSymmetric, Version: 4, MACOffset: 48, MACLen: 20, KeyID: 1})
	assert.False(t, ok, "no keys")
	a.SetKeys(keys)
	ok, _ = a.CheckRequest(signed(4, md5Key), &wire.Info{Auth: wire.AuthSymmetric, Version: 4, MACOffset: 48, MACLen: 20, KeyID: 1})
	assert.True(t, ok, "after rekey")
}
