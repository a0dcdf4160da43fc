/*
 * HOST:PORT as the server's listen addresses and the clients' server
 * addresses are written: a host name or IPv4 address, or an IPv6 address in
 * brackets ("[::1]:7443"), a colon, and a decimal port 0 to 65535.
 */
#ifndef CAREBANK_HOSTPORT_H
#define CAREBANK_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * cb_hostport_split copies the host of s (without brackets) into host
 * (hostlen bytes with the NUL) and sets *port. Returns 0, or -1 if s is
 * not HOST:PORT or the host does not fit.
 */
int cb_hostport_split(const char *s, char *host, size_t hostlen,
    uint16_t *port);

/*
 * cb_host_is_loopback says whether a numeric host (as cb_hostport_split
 * gives it) is this machine's loopback: 127.0.0.0/8 or ::1 (not an IPv4
 * address mapped into IPv6). A name is never loopback here; what it
 * resolves to may be (the server reads "localhost" as 127.0.0.1, a client
 * resolves a name and checks every address). Cleartext is spoken only
 * there, by the server and by the clients.
 */
int cb_host_is_loopback(const char *host);

#endif
