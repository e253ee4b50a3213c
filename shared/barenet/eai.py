"""getaddrinfo's error codes and the one name never asked of a server: what the socket layer
needs of name resolution before a name is looked up, apart from the resolver (dns.py), so that a
program that only ever uses numeric addresses never imports it (a board's heap).
"""

# glibc's netdb.h values, which CPython's socket module exposes on Linux
EAI_NONAME = -2
EAI_AGAIN = -3
EAI_FAIL = -4
EAI_NODATA = -5
EAI_FAMILY = -6
EAI_SERVICE = -8
MESSAGES = {EAI_NONAME: "Name or service not known",
            EAI_AGAIN: "Temporary failure in name resolution",
            EAI_FAIL: "Non-recoverable failure in name resolution",
            EAI_NODATA: "No address associated with hostname",
            EAI_FAMILY: "ai_family not supported",
            EAI_SERVICE: "Servname not supported for ai_socktype"}
LOCALHOST = b"\x7f\x00\x00\x01"  # RFC 6761 6.3: never sent to a server
