package server

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/chronygo/chronygo/pkg/ntp/auth"
	"github.com/chronygo/chronygo/pkg/ntp/wire"
)

// KeyAuthenticator authenticates requests and responses with the symmetric
// keys of the key file, as chronyd does: a request with a MAC is answered
// only when its key is known and the MAC is valid, and the response carries
// a MAC with the same key (truncated to 20 octets in NTPv4). MS-SNTP and NTS
// requests are not answered. It is safe for concurrent use.
type KeyAuthenticator struct {
	keys atomic.Pointer[auth.KeySet]
}

// NewKeyAuthenticator returns an authenticator using keys (may be nil).
func NewKeyAuthenticator(keys *auth.KeySet) *KeyAuthenticator {
	a := &KeyAuthenticator{}
	a.SetKeys(keys)
	return a
}

// SetKeys replaces the keys (chronyc rekey).
func (a *KeyAuthenticator) SetKeys(keys *auth.KeySet) {
	if keys == nil {
		keys = auth.NewKeySet()
	}
	a.keys.Store(keys)
}

// CheckRequest implements Authenticator.
func (a *KeyAuthenticator) CheckRequest(req []byte, info *wire.Info) (bool, uint32) {
	switch info.Auth {
	case wire.AuthNone:
		return true, 0
	case wire.AuthSymmetric:
		pa := auth.PacketAuth{
			Mode:      auth.ModeSymmetric,
			Version:   int(info.Version),
			MACStart:  info.MACOffset,
			MACLength: info.MACLen,
			KeyID:     info.KeyID,
			ExtFields: info.ExtFields,
		}
		return a.keys.Load().Verify(req, pa, nil), 0
	default:
		return false, 0
	}
}

// AuthenticateResponse implements Authenticator.
func (a *KeyAuthenticator) AuthenticateResponse(_ []byte, info *wire.Info, resp []byte, _ uint32) (int, bool) {
	if info.Auth != wire.AuthSymmetric {
		return len(resp), info.Auth == wire.AuthNone
	}
	key, ok := a.keys.Load().Lookup(info.KeyID)
	if !ok {
		return 0, false
	}
	maxDigest := wire.MaxMACLen - 4
	if wire.VersionOf(resp[0]) == 4 {
		maxDigest = wire.MaxV4MACLen - 4
	}
	mac := key.MAC(resp)
	if len(mac) > maxDigest {
		mac = mac[:maxDigest]
	}
	if len(mac) < wire.MinMACLen-4 || len(resp)+4+len(mac) > cap(resp) {
		return 0, false
	}
	resp = binary.BigEndian.AppendUint32(resp, info.KeyID)
	resp = append(resp, mac...)
	return len(resp), true
}
