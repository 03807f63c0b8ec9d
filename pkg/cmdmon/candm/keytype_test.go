package candm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyTypeCode(t *testing.T) {
	tests := []struct {
		name string
		want uint16
	}{
		{"", 1}, {"MD5", 1}, {"SHA1", 2}, {"SHA512", 5}, {"SHA3-512", 9},
		{"AES128", 13}, {"AES256", 14}, {"md5", 0}, {"RC4", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, KeyTypeCode(tt.name))
		})
	}
}
