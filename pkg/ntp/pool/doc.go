// Package pool manages sources given by name, as chronyd's ntp_sources.c:
// resolving server and pool names (one name at a time, retrying failed
// ones with an exponential backoff), keeping up to maxsources sources from
// a pool (trying twice as many and dropping the surplus once enough have
// answered), replacing a source that stays unreachable or keeps being
// rejected by selection with another address of its name, and refreshing
// names periodically (`refresh`) or on request (`chronyc refresh`).
//
// Manager is sans-IO: it returns actions (resolve this name, add, replace
// or remove a source, set the retry timer) and takes results back.
// AsyncResolver is the I/O side, running lookups in goroutines.
package pool
