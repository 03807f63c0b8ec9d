package auth

import (
	"bufio"
	"crypto/md5"  //#nosec G501 -- MD5 is the NTP default MAC, required for compatibility
	"crypto/sha1" //#nosec G505 -- SHA1 keys are part of the keyfile format
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// MinSecureKeyLength is the shortest key (in bytes) chronyd does not warn
// about as too short.
const MinSecureKeyLength = 10

// MaxHashLength is the longest digest any supported algorithm produces.
const MaxHashLength = 64

// Key is one symmetric key of a keyfile.
type Key struct {
	// ID is the key number used in server/peer `key` options.
	ID uint32
	// Type is the algorithm name as written in the keyfile (MD5 by default).
	Type string
	// Value is the decoded key material.
	Value []byte

	newHash func() hash.Hash
	cmac    *CMAC
}

// Bits is the key length in bits, as `chronyc authdata` shows it.
func (k *Key) Bits() int { return 8 * len(k.Value) }

// IsCMAC reports whether the key is an AES-CMAC key.
func (k *Key) IsCMAC() bool { return k.cmac != nil }

// MAC returns the full authenticator of data: the digest of the key
// followed by data for hash keys, or the CMAC of data for cipher keys.
func (k *Key) MAC(data []byte) []byte {
	if k.cmac != nil {
		return k.cmac.Sum(data)
	}
	h := k.newHash()
	h.Write(k.Value)
	h.Write(data)
	return h.Sum(nil)
}

// MACLength is the length of the full authenticator of this key.
func (k *Key) MACLength() int {
	if k.cmac != nil {
		return cmacBlockSize
	}
	return k.newHash().Size()
}

// KeySet is a parsed keyfile, looked up by key ID.
type KeySet struct {
	keys map[uint32]*Key
}

// NewKeySet builds a key set from keys; with duplicate IDs the first wins.
func NewKeySet(keys ...*Key) *KeySet {
	ks := &KeySet{keys: make(map[uint32]*Key, len(keys))}
	for _, k := range keys {
		if _, dup := ks.keys[k.ID]; !dup {
			ks.keys[k.ID] = k
		}
	}
	return ks
}

// Lookup returns the key with the given ID.
func (ks *KeySet) Lookup(id uint32) (*Key, bool) {
	if ks == nil {
		return nil, false
	}
	k, ok := ks.keys[id]
	return k, ok
}

// Len is the number of keys loaded.
func (ks *KeySet) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.keys)
}

// IDs returns the key IDs in ascending order.
func (ks *KeySet) IDs() []uint32 {
	if ks == nil {
		return nil
	}
	ids := make([]uint32, 0, len(ks.keys))
	for id := range ks.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// LineError is a problem with one line of a keyfile. chronyd skips such
// lines with a warning; the messages keep chronyd's wording.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s at line %d in file %s", e.Msg, e.Line, e.File)
}

// hashByName maps the keyfile's hash names to Go implementations. TIGER and
// WHIRLPOOL, which chronyd may support through a crypto library, are not.
func hashByName(name string) (func() hash.Hash, bool) {
	switch name {
	case "MD5":
		return md5.New, true
	case "SHA1":
		return sha1.New, true
	case "SHA256":
		return sha256.New, true
	case "SHA384":
		return sha512.New384, true
	case "SHA512":
		return sha512.New, true
	case "SHA3-224":
		return func() hash.Hash { return sha3.New224() }, true
	case "SHA3-256":
		return func() hash.Hash { return sha3.New256() }, true
	case "SHA3-384":
		return func() hash.Hash { return sha3.New384() }, true
	case "SHA3-512":
		return func() hash.Hash { return sha3.New512() }, true
	}
	return nil, false
}

// cmacKeyLength gives the key length of the keyfile's cipher names.
func cmacKeyLength(name string) (int, bool) {
	switch name {
	case "AES128":
		return 16, true
	case "AES256":
		return 32, true
	}
	return 0, false
}

// decodeKeyValue turns "ASCII:text", "HEX:hexdigits" or plain text into key
// bytes; nil means the value could not be decoded.
func decodeKeyValue(v string) []byte {
	switch {
	case strings.HasPrefix(v, "ASCII:"):
		return []byte(v[len("ASCII:"):])
	case strings.HasPrefix(v, "HEX:"):
		b, err := hex.DecodeString(v[len("HEX:"):])
		if err != nil {
			return nil
		}
		return b
	default:
		return []byte(v)
	}
}

// NewKey creates a key of the named type ("" means MD5) from decoded key
// material. The error text is chronyd's warning for such a key.
func NewKey(id uint32, typ string, value []byte) (*Key, error) {
	k, msg := buildKey(id, typ, value)
	if k == nil {
		return nil, fmt.Errorf("%s", msg)
	}
	return k, nil
}

// buildKey does NewKey's work, returning chronyd's message on failure.
func buildKey(id uint32, typ string, value []byte) (*Key, string) {
	if typ == "" {
		typ = "MD5"
	}
	if len(value) == 0 {
		return nil, fmt.Sprintf("Could not decode key %d", id)
	}
	k := &Key{ID: id, Type: typ, Value: append([]byte(nil), value...)}
	if h, ok := hashByName(typ); ok {
		k.newHash = h
		return k, ""
	}
	if n, ok := cmacKeyLength(typ); ok {
		if len(value) != n {
			return nil, fmt.Sprintf("Invalid length of %s key %d (expected %d bits)", typ, id, 8*n)
		}
		c, err := NewCMAC(value)
		if err != nil {
			return nil, fmt.Sprintf("Invalid key %d: %v", id, err)
		}
		k.cmac = c
		return k, ""
	}
	return nil, fmt.Sprintf("Invalid type in key %d", id)
}

// normalizeLine collapses white space, strips leading and trailing space and
// drops comment lines (a first non-blank character among ! ; # %).
func normalizeLine(line string) string {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.ContainsRune("!;#%", rune(fields[0][0])) {
		return ""
	}
	return strings.Join(fields, " ")
}

// ParseKeyFile reads a keyfile. Like chronyd it skips invalid lines and
// reports each as a *LineError in warnings; file names the source in those
// messages. Only a read error is returned as err.
func ParseKeyFile(r io.Reader, file string) (ks *KeySet, warnings []*LineError, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	var keys []*Key
	var lines []int
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := normalizeLine(sc.Text())
		if line == "" {
			continue
		}
		words := strings.Split(line, " ")
		if len(words) < 2 || len(words) > 3 {
			warnings = append(warnings, &LineError{file, lineNo, "Could not parse key"})
			continue
		}
		id, perr := strconv.ParseUint(words[0], 10, 32)
		if perr != nil {
			warnings = append(warnings, &LineError{file, lineNo, "Could not parse key"})
			continue
		}
		typ, value := "MD5", words[1]
		if len(words) == 3 {
			typ, value = words[1], words[2]
		}
		k, msg := buildKey(uint32(id), typ, decodeKeyValue(value))
		if k == nil {
			warnings = append(warnings, &LineError{file, lineNo, msg})
			continue
		}
		keys = append(keys, k)
		lines = append(lines, lineNo)
	}
	if err := sc.Err(); err != nil {
		return nil, warnings, fmt.Errorf("reading keyfile %s: %w", file, err)
	}
	ks = &KeySet{keys: make(map[uint32]*Key, len(keys))}
	for i, k := range keys {
		if _, dup := ks.keys[k.ID]; dup {
			warnings = append(warnings, &LineError{file, lines[i], fmt.Sprintf("Detected duplicate key %d", k.ID)})
			continue
		}
		ks.keys[k.ID] = k
	}
	return ks, warnings, nil
}

// PermissionWarning returns chronyd's warning for a keyfile mode that
// gives others access ("World-readable permissions on FILE" and the
// like), or "" when the mode is acceptable (no bits outside 0771).
func PermissionWarning(path string, mode os.FileMode) string {
	extra := mode.Perm() &^ 0o771
	switch {
	case extra == 0:
		return ""
	case extra&0o004 != 0:
		return "World-readable permissions on " + path
	case extra&0o002 != 0:
		return "World-writable permissions on " + path
	}
	return "Wrong permissions on " + path
}

// LoadKeyFile opens and parses a keyfile (see ParseKeyFile). permWarning
// is chronyd's warning about the file's permissions, if any.
func LoadKeyFile(path string) (ks *KeySet, warnings []*LineError, permWarning string, err error) {
	f, err := os.Open(path) //#nosec G304 -- the administrator names the keyfile
	if err != nil {
		return nil, nil, "", fmt.Errorf("could not open keyfile %s: %w", path, err)
	}
	defer f.Close()
	if st, serr := f.Stat(); serr == nil && st.Mode().IsRegular() {
		permWarning = PermissionWarning(path, st.Mode())
	}
	ks, warnings, err = ParseKeyFile(f, path)
	return ks, warnings, permWarning, err
}
