package engine_test

import "net/netip"

type netipAddr = netip.Addr
