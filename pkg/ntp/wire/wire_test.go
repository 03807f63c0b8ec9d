package wire

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimestampEra(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		ref  time.Time
	}{
		{name: "now", t: time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC), ref: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)},
		{name: "era 1", t: time.Date(2040, 1, 1, 0, 0, 0, 500000000, time.UTC), ref: time.Date(2035, 6, 1, 0, 0, 0, 0, time.UTC)},
		{name: "just after era boundary", t: time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), ref: time.Date(2036, 2, 7, 6, 28, 14, 0, time.UTC)},
		{name: "before boundary, ref after", t: time.Date(2036, 2, 7, 6, 28, 14, 0, time.UTC), ref: time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
		{name: "1990", t: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), ref: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := FromTime(tc.t)
			got := ts.Time(tc.ref)
			assert.InDelta(t, 0, got.Sub(tc.t).Seconds(), 1e-9)
		})
	}
	assert.Equal(t, Timestamp(0), FromTime(time.Time{}))
	assert.True(t, Timestamp(0).Time(time.Now()).IsZero())
	// The era boundary: 2036-02-07 06:28:16 UTC is NTP second 0 of era 1.
	assert.Equal(t, uint32(0), FromTime(time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)).Sec())
	assert.Equal(t, uint32(0x80000000), FromTime(time.Unix(0, 500000000)).Frac())
}

func TestTimestampSub(t *testing.T) {
	a := FromTime(time.Unix(1000, 0))
	b := FromTime(time.Unix(1001, 250000000))
	assert.InDelta(t, 1.25, b.Sub(a), 1e-9)
	assert.InDelta(t, -1.25, a.Sub(b), 1e-9)
}

func TestShort(t *testing.T) {
	tests := []struct {
		in   float64
		want uint32
	}{
		{0, 0}, {-1, 0}, {1, 0x10000}, {0.5, 0x8000}, {1.0 / 65536 / 2, 1}, {1e9, 0xffffffff}, {65536, 0xffffffff},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, ShortFromSeconds(tc.in), "%g", tc.in)
	}
	assert.InDelta(t, 1.5, ShortToSeconds(0x18000), 1e-12)
}

func TestPrecisionAndFuzz(t *testing.T) {
	assert.Equal(t, int8(-20), PrecisionLog2(time.Microsecond))
	assert.Equal(t, int8(-29), PrecisionLog2(2*time.Nanosecond))
	assert.Equal(t, int8(-30), PrecisionLog2(0))
	assert.Equal(t, int8(0), PrecisionLog2(time.Hour))
	assert.Equal(t, Timestamp(0), Fuzz(-32, ^uint64(0)))
	assert.Equal(t, Timestamp(0x3ff), Fuzz(-22, ^uint64(0)))
	assert.Equal(t, Timestamp(^uint64(0)), Fuzz(32, ^uint64(0)))
}

func TestRefIDOf(t *testing.T) {
	assert.Equal(t, uint32(0xC6336401), RefIDOf(netip.MustParseAddr("198.51.100.1")))
	assert.Equal(t, uint32(0xC6336401), RefIDOf(netip.MustParseAddr("::ffff:198.51.100.1")))
	// The first four octets of MD5 of the 16 octets of the address,
	// computed independently (Python's hashlib).
	assert.Equal(t, uint32(0x39AB9B37), RefIDOf(netip.MustParseAddr("2001:db8::1")))
	assert.Equal(t, uint32(0), RefIDOf(netip.Addr{}))
}

func TestLVM(t *testing.T) {
	b := LVM(3, 4, ModeServer)
	assert.Equal(t, uint8(0xE4), b)
	assert.Equal(t, uint8(3), LeapOf(b))
	assert.Equal(t, uint8(4), VersionOf(b))
	assert.Equal(t, ModeServer, ModeOf(b))
}

func packet(lvm uint8, extra ...[]byte) []byte {
	b := make([]byte, HeaderLen)
	b[0] = lvm
	for _, e := range extra {
		b = append(b, e...)
	}
	return b
}

func ef(typ uint16, length int) []byte {
	b := make([]byte, length)
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint16(b[2:], uint16(length))
	return b
}

func mac(keyID uint32, digest int) []byte {
	b := make([]byte, 4+digest)
	binary.BigEndian.PutUint32(b, keyID)
	for i := 4; i < len(b); i++ {
		b[i] = 0xAA
	}
	return b
}

func TestDecode(t *testing.T) {
	v4 := LVM(0, 4, ModeClient)
	v3 := LVM(0, 3, ModeClient)
	tests := []struct {
		name      string
		b         []byte
		reason    DropReason
		auth      AuthMode
		extFields int
		keyID     uint32
		macLen    int
	}{
		{name: "plain v4", b: packet(v4)},
		{name: "plain v1 mode 0", b: packet(LVM(0, 1, 0))},
		{name: "short", b: make([]byte, 47), reason: DropTooShort},
		{name: "empty", b: nil, reason: DropTooShort},
		{name: "odd length", b: packet(v4, []byte{1, 2}), reason: DropBadLength},
		{name: "too long", b: make([]byte, MaxPacketLen+4), reason: DropTooLong},
		{name: "version 0", b: packet(LVM(0, 0, ModeClient)), reason: DropBadVersion},
		{name: "version 5", b: packet(LVM(0, 5, ModeClient)), reason: DropBadVersion},
		{name: "v3 md5 mac", b: packet(v3, mac(7, 16)), auth: AuthSymmetric, keyID: 7, macLen: 20},
		{name: "v3 sha512 mac", b: packet(v3, mac(7, 64)), auth: AuthSymmetric, keyID: 7, macLen: 68},
		{name: "v3 ms-sntp", b: packet(v3, mac(9, 0), make([]byte, 16)), auth: AuthMSSNTP, keyID: 9, macLen: 20},
		{name: "v3 ms-sntp ext", b: packet(v3, mac(9, 4), make([]byte, 64)), auth: AuthMSSNTPExt, keyID: 9, macLen: 72},
		{name: "v4 crypto nak", b: packet(v4, mac(0, 0)), auth: AuthSymmetric, macLen: 4},
		{name: "v4 md5 mac", b: packet(v4, mac(1, 16)), auth: AuthSymmetric, keyID: 1, macLen: 20},
		{name: "v4 sha1 mac", b: packet(v4, mac(1, 20)), auth: AuthSymmetric, keyID: 1, macLen: 24},
		{name: "v4 sha256 mac without ef is bad", b: packet(v4, mac(1, 32)), reason: DropBadExtension},
		{name: "v4 one ef", b: packet(v4, ef(0x2000, 28)), extFields: 1},
		{name: "v4 lone 16-octet ef is too short without mac", b: packet(v4, ef(0x2000, 16)), reason: DropBadExtension},
		{name: "v4 two ef and mac", b: packet(v4, ef(0x2000, 16), ef(0x2001, 28), mac(3, 16)), extFields: 2, auth: AuthSymmetric, keyID: 3, macLen: 20},
		{name: "v4 nts", b: packet(v4, ef(EFNTSUniqueIdentifier, 36), ef(EFNTSCookie, 104)), extFields: 2, auth: AuthNTS},
		{name: "v4 ef too short", b: packet(v4, ef(0x2000, 12), make([]byte, 16)), reason: DropBadExtension},
		{name: "v4 ef overruns", b: packet(v4, ef(0x2000, 64)[:32]), reason: DropBadExtension},
		{name: "v4 ef length not aligned", b: packet(v4, ef(0x2000, 30)[:28], make([]byte, 4)), reason: DropBadExtension},
		{name: "v4 short trailer", b: packet(v4, make([]byte, 8)), reason: DropBadExtension},
		{name: "v4 ef then short trailer", b: packet(v4, ef(0x2000, 28), make([]byte, 8)), reason: DropBadExtension},
		{name: "v4 24-octet trailer is a MAC", b: packet(v4, ef(0x2000, 16), make([]byte, 8)), auth: AuthSymmetric, keyID: 0x20000010, macLen: 24},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, info, err := Decode(tc.b)
			if tc.reason != DropNone {
				var de *DecodeError
				require.True(t, errors.As(err, &de), "err %v", err)
				assert.Equal(t, tc.reason, de.Reason)
				assert.NotEmpty(t, de.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.auth, info.Auth)
			assert.Equal(t, tc.extFields, info.ExtFields)
			assert.Len(t, p.ExtensionFields, tc.extFields)
			assert.Equal(t, tc.keyID, info.KeyID)
			assert.Equal(t, tc.macLen, info.MACLen)
			assert.Len(t, p.MAC, tc.macLen)
			assert.Equal(t, len(tc.b), info.Length)
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	b := make([]byte, HeaderLen)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	b[0] = LVM(1, 4, ModeServer)
	p, info, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, ModeServer, info.Mode)
	out := make([]byte, HeaderLen)
	PutHeader(out, &p)
	assert.Equal(t, b, out)
	ts := TxTime(&p)
	SetTxTime(&p, ts+1)
	assert.Equal(t, ts+1, TxTime(&p))
	SetOrigTime(&p, 5)
	SetRxTime(&p, 6)
	SetRefTime(&p, 7)
	assert.Equal(t, []Timestamp{5, 6, 7}, []Timestamp{OrigTime(&p), RxTime(&p), RefTime(&p)})
}

func FuzzDecode(f *testing.F) {
	f.Add(packet(LVM(0, 4, ModeClient)))
	f.Add(packet(LVM(0, 4, ModeClient), ef(0x2000, 16), mac(1, 20)))
	f.Add(packet(LVM(0, 3, ModeClient), mac(9, 0), make([]byte, 16)))
	f.Add(packet(LVM(0, 4, ModeClient), ef(EFNTSUniqueIdentifier, 36)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, info, err := Decode(b)
		if err != nil {
			return
		}
		if info.Length != len(b) || info.Version < MinVersion || info.Version > Version {
			t.Fatalf("bad info %+v", info)
		}
		n := HeaderLen + len(p.MAC)
		for _, e := range p.ExtensionFields {
			n += 4 + len(e.Body)
		}
		if n != len(b) {
			t.Fatalf("parts %d != length %d", n, len(b))
		}
	})
}
