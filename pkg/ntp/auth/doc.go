// Package auth implements chronyd's symmetric-key NTP authentication: the
// keyfile format (ID, optional type, ASCII or HEX key, comments), MAC
// generation as a hash over the key followed by the packet (MD5, SHA1,
// SHA2 and SHA3 families) or AES-CMAC (RFC 4493) over the packet, chronyd's
// MAC truncation rules for NTPv4 packets, and locating the MAC in a received
// packet the way chronyd parses it. It does no I/O except LoadKeyFile.
package auth
