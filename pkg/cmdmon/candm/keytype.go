package candm

// keyTypeCodes are chronyd's numbers for the keyfile's key types, which
// authdata reports: the hash identifiers, and 13 and 14 for AES-CMAC.
var keyTypeCodes = map[string]uint16{
	"MD5": 1, "SHA1": 2, "SHA256": 3, "SHA384": 4, "SHA512": 5,
	"SHA3-224": 6, "SHA3-256": 7, "SHA3-384": 8, "SHA3-512": 9,
	"TIGER": 10, "WHIRLPOOL": 11,
	"AES128": 13, "AES256": 14,
}

// KeyTypeCode returns chronyd's number for a keyfile key type name ("" is
// MD5), or 0 for an unknown name.
func KeyTypeCode(name string) uint16 {
	if name == "" {
		name = "MD5"
	}
	return keyTypeCodes[name]
}
