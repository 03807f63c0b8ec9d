package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunRejects(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"non-loopback load target", []string{"load", "-target", "198.51.100.1:123"}, "only loopback"},
		{"bad load target", []string{"load", "-target", "nowhere"}, "-target"},
		{"echo without address", []string{"echo"}, "no address"},
		{"bad bench flag", []string{"bench", "-rounds", "x"}, "invalid value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, 1, run(context.Background(), tc.args, &out, &errOut))
			assert.Contains(t, errOut.String(), tc.wantErr)
		})
	}
}

func TestAddrList(t *testing.T) {
	var a addrList
	assert.NoError(t, a.Set("127.0.0.1:123"))
	assert.NoError(t, a.Set("[::1]:123"))
	assert.Error(t, a.Set("localhost"))
	assert.Len(t, a, 2)
}
