package auth

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// TestCMACVectors checks the RFC 4493 (AES-128) and NIST SP 800-38B
// (AES-256) examples.
func TestCMACVectors(t *testing.T) {
	msg64 := "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710"
	k128 := "2b7e151628aed2a6abf7158809cf4f3c"
	k256 := "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
	tests := []struct {
		name, key string
		msgLen    int
		want      string
	}{
		{"aes128 empty", k128, 0, "bb1d6929e95937287fa37d129b756746"},
		{"aes128 16", k128, 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"aes128 40", k128, 40, "dfa66747de9ae63030ca32611497c827"},
		{"aes128 64", k128, 64, "51f0bebf7e3b9d92fc49741779363cfe"},
		{"aes256 empty", k256, 0, "028962f61b7bf89efc6b551f4667d983"},
		{"aes256 16", k256, 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
		{"aes256 40", k256, 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
		{"aes256 64", k256, 64, "e1992190549f6ed5696a2c056c315410"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCMAC(unhex(t, tc.key))
			require.NoError(t, err)
			msg := unhex(t, msg64)[:tc.msgLen]
			assert.Equal(t, tc.want, hex.EncodeToString(c.Sum(msg)))
		})
	}
	_, err := NewCMAC(make([]byte, 24))
	assert.Error(t, err)
}

// TestHashMACKnownValues checks digest(key || data) against values computed
// independently with Python's hashlib.
func TestHashMACKnownValues(t *testing.T) {
	data := make([]byte, 48)
	for i := range data {
		data[i] = byte(i)
	}
	md5Key, err := NewKey(1, "", []byte("secretkey"))
	require.NoError(t, err)
	assert.Equal(t, "eb430020d958a47f1cfe5206568f6d1e", hex.EncodeToString(md5Key.MAC(data)))
	shaKey, err := NewKey(2, "SHA256", []byte("secretkey"))
	require.NoError(t, err)
	assert.Equal(t, "0e0d85038ffa43c44f1a40785a02f0a8d5ca5684", hex.EncodeToString(shaKey.MAC(data))[:40])
	assert.Equal(t, 32, shaKey.MACLength())
}

func TestParseKeyFile(t *testing.T) {
	text := `# comment line
 ! another comment
1 foobar
2 MD5 ASCII:foo bar
2 MD5 ASCII:foobar
3   SHA1    HEX:1234567890ABCDEF1234
4 AES128 HEX:2b7e151628aed2a6abf7158809cf4f3c
5 AES256 HEX:2b7e
6 RMD999 abc
7 SHA512 HEX:zz
x SHA1 abc
8 SHA3-256 ASCII:k
9 SHA1 abc
9 MD5 abc

`
	ks, warnings, err := ParseKeyFile(strings.NewReader(text), "/etc/chrony.keys")
	require.NoError(t, err)
	assert.Equal(t, []uint32{1, 2, 3, 4, 8, 9}, ks.IDs())
	var msgs []string
	for _, w := range warnings {
		msgs = append(msgs, w.Error())
	}
	assert.Equal(t, []string{
		"Could not parse key at line 4 in file /etc/chrony.keys",
		"Invalid length of AES256 key 5 (expected 256 bits) at line 8 in file /etc/chrony.keys",
		"Invalid type in key 6 at line 9 in file /etc/chrony.keys",
		"Could not decode key 7 at line 10 in file /etc/chrony.keys",
		"Could not parse key at line 11 in file /etc/chrony.keys",
		"Detected duplicate key 9 at line 14 in file /etc/chrony.keys",
	}, msgs)
	k1, _ := ks.Lookup(1)
	assert.Equal(t, "MD5", k1.Type)
	assert.Equal(t, []byte("foobar"), k1.Value)
	k3, _ := ks.Lookup(3)
	assert.Equal(t, unhex(t, "1234567890ABCDEF1234"), k3.Value)
	assert.Equal(t, 80, k3.Bits())
	k4, _ := ks.Lookup(4)
	assert.True(t, k4.IsCMAC())
	k9, _ := ks.Lookup(9)
	assert.Equal(t, "SHA1", k9.Type, "first of duplicates wins")
	_, ok := ks.Lookup(77)
	assert.False(t, ok)
}

func header(version int) []byte {
	p := make([]byte, HeaderLength)
	p[0] = byte(version<<3 | 3)
	for i := 1; i < HeaderLength; i++ {
		p[i] = byte(i * 7)
	}
	return p
}

func TestSignVerify(t *testing.T) {
	keys := []*Key{}
	for i, typ := range []string{"MD5", "SHA1", "SHA256", "SHA512", "SHA3-224"} {
		k, err := NewKey(uint32(i+1), typ, []byte("0123456789abcdef"))
		require.NoError(t, err)
		keys = append(keys, k)
	}
	cm, err := NewKey(10, "AES128", unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	require.NoError(t, err)
	keys = append(keys, cm)
	ks := NewKeySet(keys...)
	for _, k := range keys {
		for _, version := range []int{3, 4} {
			pkt := header(version)
			signed, err := Sign(pkt, k)
			require.NoError(t, err)
			macLen := len(signed) - HeaderLength
			if version == 4 {
				assert.LessOrEqual(t, macLen, MaxV4MACLength, "%s v4 truncated", k.Type)
			} else {
				assert.Equal(t, 4+k.MACLength(), macLen, "%s v3 full", k.Type)
			}
			pa, err := LocateMAC(signed)
			require.NoError(t, err, k.Type)
			assert.Equal(t, ModeSymmetric, pa.Mode)
			assert.Equal(t, k.ID, pa.KeyID)
			assert.True(t, ks.Verify(signed, pa, nil), "%s v%d", k.Type, version)
			id := k.ID
			assert.True(t, ks.Verify(signed, pa, &id))
			other := k.ID + 100
			assert.False(t, ks.Verify(signed, pa, &other), "wrong key id expected")

			tampered := append([]byte(nil), signed...)
			tampered[40] ^= 1
			assert.False(t, ks.Verify(tampered, pa, nil), "tampered data")
			tampered = append([]byte(nil), signed...)
			tampered[len(tampered)-1] ^= 0x80
			assert.False(t, ks.Verify(tampered, pa, nil), "tampered MAC")
		}
	}
	// Unknown key.
	unknown, _ := NewKey(99, "MD5", []byte("x"))
	signed, err := Sign(header(4), unknown)
	require.NoError(t, err)
	pa, err := LocateMAC(signed)
	require.NoError(t, err)
	assert.False(t, ks.Verify(signed, pa, nil))
	// SHA1 in v4 is 24 bytes; SHA256 would be truncated so chronyd prefers v3.
	assert.Equal(t, 4, SuggestedVersion(keys[1]))
	assert.Equal(t, 3, SuggestedVersion(keys[2]))
	assert.Equal(t, 4, SuggestedVersion(cm))
}

func TestLocateMAC(t *testing.T) {
	ef := func(typ uint16, n int) []byte {
		b := make([]byte, n)
		binary.BigEndian.PutUint16(b, typ)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return b
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	mac20 := cat([]byte{0, 0, 0, 5}, make([]byte, 16))
	mac20[10] = 1
	tests := []struct {
		name    string
		pkt     []byte
		wantErr bool
		mode    Mode
		start   int
		efs     int
	}{
		{"plain", header(4), false, ModeNone, 0, 0},
		{"short", header(4)[:44], true, 0, 0, 0},
		{"odd length", cat(header(4), []byte{1, 2}), true, 0, 0, 0},
		{"version 0", cat([]byte{3}, header(4)[1:]), true, 0, 0, 0},
		{"crypto nak", cat(header(4), []byte{0, 0, 0, 0}), false, ModeSymmetric, 48, 0},
		{"v4 mac", cat(header(4), mac20), false, ModeSymmetric, 48, 0},
		{"v4 8 bytes", cat(header(4), make([]byte, 8)), true, 0, 0, 0},
		{"v4 ef then mac", cat(header(4), ef(0x2000, 28), mac20), false, ModeSymmetric, 76, 1},
		{"v4 ef only", cat(header(4), ef(0x2000, 32)), false, ModeNone, 0, 1},
		{"v4 nts", cat(header(4), ef(0x0104, 36)), false, ModeNTS, 0, 1},
		{"v4 bad ef len", cat(header(4), ef(0x2000, 12), make([]byte, 20)), true, 0, 0, 0},
		{"v3 mssntp", cat(header(3), []byte{0, 0, 0, 9}, make([]byte, 16)), false, ModeMSSNTP, 48, 0},
		{"v3 long mac", cat(header(3), []byte{0, 0, 0, 9}, make([]byte, 64)), false, ModeSymmetric, 48, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pa, err := LocateMAC(tc.pkt)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.mode, pa.Mode)
			assert.Equal(t, tc.start, pa.MACStart)
			assert.Equal(t, tc.efs, pa.ExtFields)
		})
	}
}

func FuzzKeyFileAndMAC(f *testing.F) {
	f.Add("1 MD5 HEX:00112233445566778899\n2 AES128 HEX:2b7e151628aed2a6abf7158809cf4f3c", []byte{0x23})
	f.Add("# c\n3 SHA512 ASCII:abc\n", make([]byte, 72))
	f.Fuzz(func(t *testing.T, text string, pkt []byte) {
		ks, _, err := ParseKeyFile(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		if pa, err := LocateMAC(pkt); err == nil {
			_ = ks.Verify(pkt, pa, nil)
		}
		full := append(append([]byte(nil), pkt...), make([]byte, HeaderLength)...)[:HeaderLength]
		for _, id := range ks.IDs() {
			k, _ := ks.Lookup(id)
			signed, err := Sign(full, k)
			if err != nil {
				continue
			}
			pa, err := LocateMAC(signed)
			if err != nil {
				continue // e.g. version 0 in the header
			}
			if pa.Mode == ModeSymmetric && !ks.Verify(signed, pa, &id) {
				t.Fatalf("own signature of key %d does not verify", id)
			}
		}
	})
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chrony.keys")
	require.NoError(t, os.WriteFile(path, []byte("1 SHA1 HEX:0011223344556677889900112233445566778899\n"), 0o640))
	ks, warnings, perm, err := LoadKeyFile(path)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Empty(t, perm)
	assert.Equal(t, 1, ks.Len())
	require.NoError(t, os.Chmod(path, 0o644))
	_, _, perm, err = LoadKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, "World-readable permissions on "+path, perm)
	_, _, _, err = LoadKeyFile(filepath.Join(dir, "missing"))
	assert.Error(t, err)

	assert.Equal(t, "", PermissionWarning("f", 0o600))
	assert.Equal(t, "World-writable permissions on f", PermissionWarning("f", 0o662))
}
