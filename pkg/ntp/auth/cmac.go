package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// cmacBlockSize is the block size of AES and so of its CMAC.
const cmacBlockSize = 16

// CMAC computes AES-CMAC message authentication codes (RFC 4493) with one
// key. It holds the expanded cipher and the two derived subkeys, so creating
// it once per key and reusing it avoids per-packet setup.
type CMAC struct {
	block  cipher.Block
	k1, k2 [cmacBlockSize]byte
}

// NewCMAC prepares AES-CMAC for a 16-byte (AES-128) or 32-byte (AES-256) key.
func NewCMAC(key []byte) (*CMAC, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("cmac: key of %d bytes, want 16 or 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac: %w", err)
	}
	c := &CMAC{block: block}
	var l [cmacBlockSize]byte
	block.Encrypt(l[:], l[:])
	c.k1 = doubleBlock(l)
	c.k2 = doubleBlock(c.k1)
	return c, nil
}

// doubleBlock multiplies a block by x in GF(2^128), the subkey step of RFC
// 4493 section 2.3.
func doubleBlock(in [cmacBlockSize]byte) [cmacBlockSize]byte {
	var out [cmacBlockSize]byte
	carry := in[0] >> 7
	for i := 0; i < cmacBlockSize-1; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[cmacBlockSize-1] = in[cmacBlockSize-1] << 1
	if carry != 0 {
		out[cmacBlockSize-1] ^= 0x87
	}
	return out
}

// Sum returns the 16-byte CMAC of msg.
func (c *CMAC) Sum(msg []byte) []byte {
	var x, last [cmacBlockSize]byte
	n := (len(msg) + cmacBlockSize - 1) / cmacBlockSize
	complete := n > 0 && len(msg)%cmacBlockSize == 0
	if n == 0 {
		n = 1
	}
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[i*cmacBlockSize:(i+1)*cmacBlockSize])
		c.block.Encrypt(x[:], x[:])
	}
	tail := msg[(n-1)*cmacBlockSize:]
	if complete {
		subtle.XORBytes(last[:], tail, c.k1[:])
	} else {
		copy(last[:], tail)
		last[len(tail)] = 0x80
		subtle.XORBytes(last[:], last[:], c.k2[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	c.block.Encrypt(x[:], x[:])
	return x[:]
}
