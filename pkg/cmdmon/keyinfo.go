package cmdmon

// KeyInfo is implemented by a handler that holds the key file: it gives
// the type code (candm.KeyTypeCode) and length in bits chronyc authdata
// shows for a symmetric key. ok is false for a key not in the file.
type KeyInfo interface {
	KeyInfo(id uint32) (keyType, bits uint16, ok bool)
}
